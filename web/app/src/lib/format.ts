import { formatAmount, toHex } from '@veil-network/sdk';

/** The chain's token as GetStatus reports it (fallbacks until it answers). */
export interface Token {
  symbol: string;
  decimals: number;
  ss58: number;
}

export const DEFAULT_TOKEN: Token = { symbol: 'VEIL', decimals: 12, ss58: 42 };

/** "1,234.5 VEIL" from planck; at most 4 fraction digits for readability. */
export function amount(planck: bigint | string | number | undefined | null, token: Token, digits = 4): string {
  if (planck === undefined || planck === null || planck === '') return '—';
  try {
    return formatAmount(typeof planck === 'number' ? BigInt(planck) : planck, token.decimals, token.symbol, digits);
  } catch {
    return `${planck} planck`;
  }
}

/** Hex without 0x, shortened to its first and last n digits. */
export function shortHex(h: string | Uint8Array | undefined, n = 6): string {
  if (h === undefined) return '';
  const s = typeof h === 'string' ? h.replace(/^0x/i, '') : toHex(h);
  return s.length <= 2 * n + 1 ? s : `${s.slice(0, n)}…${s.slice(-n)}`;
}

export function shortAddr(a: string | undefined, n = 6): string {
  if (!a) return '';
  return a.length <= 2 * n + 1 ? a : `${a.slice(0, n)}…${a.slice(-n)}`;
}

/** Hex of 32 bytes without 0x, lower case: how identities are compared. */
export function normHex(h: string): string {
  return h.replace(/^0x/i, '').toLowerCase();
}

/** A protobuf Timestamp (seconds as bigint) to a Date. */
export function tsDate(t: { seconds: bigint; nanos: number } | undefined): Date | undefined {
  if (!t) return undefined;
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6));
}

export function timeAgo(d: Date | undefined, now = Date.now()): string {
  if (!d) return '';
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return d.toLocaleString();
}

export function clockTime(d: Date | undefined): string {
  return d ? d.toLocaleTimeString([], { hour12: false }) : '';
}

/** Bytes as a human size: "1,342 bytes". */
export function bytesSize(n: number): string {
  return `${n.toLocaleString('en-US')} bytes`;
}

/** Pretty JSON for results; bigints as strings. */
export function pretty(v: unknown): string {
  if (v === undefined) return '';
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2);
}

/** Perbill (parts per billion) as a percentage. */
export function perbill(p: number): string {
  return `${(p / 1e7).toFixed(2).replace(/\.?0+$/, '')}%`;
}
