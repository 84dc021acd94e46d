import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routing without a router dependency: "#/explorer/block/12" is the
 * route ["explorer", "block", "12"]. Hash routes survive `veil dev`'s plain
 * static file server (no history fallback needed) and reloads.
 */
export function parseHash(hash: string): string[] {
  const path = hash.replace(/^#\/?/, '').split('?')[0];
  return path.split('/').filter(Boolean).map(decodeURIComponent);
}

/** The current route's segments; re-renders on every hash change. */
export function useRoute(): string[] {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** href for a route: href('explorer', 'block', 12) → "#/explorer/block/12". */
export function href(...parts: (string | number | bigint)[]): string {
  return '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
}

export function navigate(...parts: (string | number | bigint)[]): void {
  location.hash = href(...parts).slice(1);
}
