/** An inline progress indicator; the label is for screen readers too. */
export function Spinner({ label = 'Loading' }: { label?: string }) {
  return <span class="spinner" role="status" aria-label={label} />;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted loading">
      <Spinner label={`Loading ${what}`} /> Loading {what}…
    </p>
  );
}
