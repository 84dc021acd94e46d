import { useEffect, useRef, useState } from 'preact/hooks';

/** A small copy-to-clipboard button (silently absent without the API). */
export function Copy({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  if (typeof navigator === 'undefined' || !navigator.clipboard) return null;
  return (
    <button
      type="button"
      class="link small"
      title="Copy"
      onClick={() =>
        navigator.clipboard.writeText(text).then(
          () => {
            setDone(true);
            clearTimeout(timer.current);
            timer.current = setTimeout(() => setDone(false), 1200);
          },
          () => undefined,
        )
      }
    >
      {done ? 'copied' : 'copy'}
    </button>
  );
}
