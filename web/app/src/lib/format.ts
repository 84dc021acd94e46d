import { formatAmount, stringifyJSON, toHex } from '@veil-network/sdk';

/** The chain's token as GetStatus reports it (fallbacks until it answers). */
export interface Token {
  symbol: string;
  decimals: number;
  ss58: number;
}

export const DEFAULT_TOKEN: Token = { symbol: 'VEIL', decimals: 12, ss58: 42 };

/**
 * "1234.5 VEIL" from planck; at most 4 fraction digits for readability
 * (cut, never rounded up). Planck come as the chain writes them (decimal
 * strings) or as the SDK parses contract answers: numbers while exact,
 * bigints beyond 2^53 — a number here is only trusted if it is a safe
 * integer, anything else is shown raw rather than formatted wrong.
 */
export function amount(planck: bigint | string | number | undefined | null, token: Token, digits = 4): string {
  if (planck === undefined || planck === null || planck === '') return '—';
  try {
    if (typeof planck === 'number' && !Number.isSafeInteger(planck)) throw new Error('not an exact integer');
    return formatAmount(typeof planck === 'number' ? BigInt(planck) : planck, token.decimals, token.symbol, digits);
  } catch {
    return `${planck} planck`;
  }
}

/** Every digit of an amount: the exact value behind a shortened amount(), e.g. for a title. */
export function exactAmount(planck: bigint | string | number | undefined | null, token: Token): string {
  return amount(planck, token, token.decimals);
}

/** An integer with thousands separators ("1,234,567"), exact for bigints too. */
export function integer(n: number | bigint): string {
  return typeof n === 'bigint' ? n.toLocaleString('en-US') : n.toLocaleString('en-US');
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

/**
 * Pretty JSON for results. Bigints (integers beyond 2^53 in contract
 * answers) are written as numbers with every digit, so what is shown is
 * exactly what the contract returned. indent 0: on one line.
 */
export function pretty(v: unknown, indent = 2): string {
  if (v === undefined) return '';
  return stringifyJSON(v, indent) ?? '';
}

/** Perbill (parts per billion) as a percentage. */
export function perbill(p: number): string {
  return `${(p / 1e7).toFixed(2).replace(/\.?0+$/, '')}%`;
}
