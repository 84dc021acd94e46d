import { useState } from 'preact/hooks';

/** A small copy-to-clipboard button (silently absent without the API). */
export function Copy({ text }: { text: string }) {
  const [done, setDone] = useState(false);
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
            setTimeout(() => setDone(false), 1200);
          },
          () => undefined,
        )
      }
    >
      {done ? 'copied' : 'copy'}
    </button>
  );
}
