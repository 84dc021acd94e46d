// Small byte helpers shared by the SDK. Hex is lower case without 0x on
// output (as the chain's JSON and events print ids without it, and Go's
// hex.EncodeToString does); input accepts an optional 0x.

import { VeilError } from './errors.js';

const HEX = '0123456789abcdef';

/** Lower-case hex of b, without 0x. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

/**
 * Decodes hex (an optional 0x/0X prefix, either case). Throws a VeilError
 * for an odd length or a non-hex digit.
 */
export function fromHex(s: string): Uint8Array {
  let h = s.trim();
  if (h.startsWith('0x') || h.startsWith('0X')) h = h.slice(2);
  if (h.length % 2 !== 0) throw new VeilError(`hex string has an odd number of digits (${h.length})`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigit(h.charCodeAt(2 * i));
    const lo = hexDigit(h.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new VeilError(`not a hex string: bad digit at position ${2 * i + (hi < 0 ? 0 : 1)}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Concatenation of the arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time-ish equality (length leaks; contents do not short-circuit). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of s. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes UTF-8, throwing on malformed input. */
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Big-endian u16. */
export function u16be(n: number): Uint8Array {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);
}

/** Big-endian u32. */
export function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
}

/** Big-endian u64 of a bigint in [0, 2^64). */
export function u64be(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, false);
  return b;
}

/** Overwrites b with zeros (best effort: JS may have copied it). */
export function wipe(b: Uint8Array | undefined): void {
  if (b) b.fill(0);
}

/**
 * A Uint8Array backed by a plain ArrayBuffer of exactly its length: what
 * WebCrypto (and TypeScript's lib types for it) want.
 */
export function plainBytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(b.length));
  out.set(b);
  return out;
}
