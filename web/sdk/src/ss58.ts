// SS58 addresses, byte for byte as crypto/ss58 (Go):
//
//   address  = base58(prefix || public key || checksum)
//   prefix   = one byte for 0..63; two bytes 01aaaaaa bbcccccc for 64..16383
//              (the 14-bit value is the little-endian aaaaaabb 00cccccc)
//   checksum = blake2b-512("SS58PRE" || prefix || public key)[0:2]
//
// Only 32-byte account ids (both account schemes), and — stricter than
// Substrate, as in Go — a prefix below 64 written in the two-byte form is
// rejected, so every (key, prefix) pair has exactly one address string.

import { base58 } from '@scure/base';
import { blake2b } from '@noble/hashes/blake2.js';
import { AddressError } from './errors.js';
import { bytesEqual, concatBytes, fromHex, utf8 } from './bytes.js';

/** The generic Substrate prefix; Veil dev chains use it (addresses start with 5). */
export const SUBSTRATE_PREFIX = 42;
/** The largest prefix SS58 can represent. */
export const MAX_SS58_PREFIX = 16383;

// The longest valid address is 49 characters; anything much longer is
// refused before the quadratic base58 decoder runs.
const MAX_ADDRESS_LEN = 64;
const SS58PRE = /* @__PURE__ */ utf8('SS58PRE');

function checksum(data: Uint8Array): Uint8Array {
  return blake2b(concatBytes(SS58PRE, data), { dkLen: 64 }).subarray(0, 2);
}

/** Throws AddressError unless prefix can be used for addresses (≤ 16383, not the reserved 46/47). */
export function validatePrefix(prefix: number): void {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > MAX_SS58_PREFIX) {
    throw new AddressError(`invalid SS58 network prefix ${prefix}: must be an integer 0..${MAX_SS58_PREFIX}`);
  }
  if (prefix === 46 || prefix === 47) throw new AddressError(`SS58 network prefix ${prefix} is reserved`);
}

function encodePrefix(prefix: number): Uint8Array {
  if (prefix < 64) return new Uint8Array([prefix]);
  const first = ((prefix & 0xfc) >> 2) | 0x40;
  const second = (prefix >> 8) | ((prefix & 0x03) << 6);
  return new Uint8Array([first, second]);
}

/** The SS58 address of a 32-byte public key on network `prefix` (default 42). */
export function encodeAddress(publicKey: Uint8Array, prefix: number = SUBSTRATE_PREFIX): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new AddressError(`an account public key is 32 bytes, got ${publicKey?.length ?? typeof publicKey}`);
  }
  validatePrefix(prefix);
  const body = concatBytes(encodePrefix(prefix), publicKey);
  return base58.encode(concatBytes(body, checksum(body)));
}

/**
 * Decodes an SS58 address into its public key and network prefix. Throws
 * AddressError saying what is wrong (bad character, length, prefix,
 * checksum); it never echoes more than needed.
 */
export function decodeAddress(address: string): { publicKey: Uint8Array; prefix: number } {
  if (typeof address !== 'string' || address.length === 0) throw new AddressError('empty address');
  const a = address.trim();
  if (a.length > MAX_ADDRESS_LEN) throw new AddressError(`not an SS58 address: ${a.length} characters (at most 49)`);
  let data: Uint8Array;
  try {
    data = base58.decode(a);
  } catch {
    const bad = [...a].findIndex((c) => !'123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'.includes(c));
    throw new AddressError(
      bad >= 0
        ? `not an SS58 address: character ${bad + 1} (${JSON.stringify(a[bad])}) is not base58 (0, O, I and l never appear)`
        : 'not an SS58 address: invalid base58',
    );
  }
  if (data.length < 2) throw new AddressError(`not an SS58 address: ${data.length} bytes`);
  let prefixLen: number;
  let prefix: number;
  const b0 = data[0];
  if (b0 < 64) {
    prefixLen = 1;
    prefix = b0;
  } else if (b0 < 128) {
    const lower = ((data[0] << 2) | (data[1] >> 6)) & 0xff;
    const upper = data[1] & 0x3f;
    prefixLen = 2;
    prefix = lower | (upper << 8);
    if (prefix < 64) throw new AddressError(`invalid SS58 address: prefix ${prefix} written in the two-byte form`);
  } else {
    throw new AddressError(`invalid SS58 address: first byte 0x${b0.toString(16)} is not a network prefix`);
  }
  const want = prefixLen + 32 + 2;
  if (data.length !== want) {
    throw new AddressError(`invalid SS58 address: ${data.length} bytes, an account address has ${want} (32-byte key)`);
  }
  if (prefix === 46 || prefix === 47) throw new AddressError(`invalid SS58 address: network prefix ${prefix} is reserved`);
  const body = data.subarray(0, prefixLen + 32);
  if (!bytesEqual(checksum(body), data.subarray(prefixLen + 32))) {
    throw new AddressError('invalid SS58 address: checksum mismatch (a character is wrong or missing)');
  }
  return { publicKey: data.slice(prefixLen, prefixLen + 32), prefix };
}

/** Reports whether decodeAddress accepts address (any network). */
export function isValidAddress(address: string): boolean {
  try {
    decodeAddress(address);
    return true;
  } catch {
    return false;
  }
}

/**
 * The 32-byte account id of an SS58 address or of 0x-prefixed hex (the two
 * forms the node accepts). With `prefix`, an SS58 address of another
 * network is refused, naming both prefixes (the usual mistake is pasting a
 * Polkadot 1… address).
 */
export function accountId(address: string, prefix?: number): Uint8Array {
  const a = address.trim();
  if (a.startsWith('0x') || a.startsWith('0X')) {
    let b: Uint8Array;
    try {
      b = fromHex(a);
    } catch (e) {
      throw new AddressError(`invalid account id: ${(e as Error).message}`);
    }
    if (b.length !== 32) throw new AddressError(`invalid account id: ${b.length} bytes of hex, want 32`);
    return b;
  }
  const d = decodeAddress(a);
  if (prefix !== undefined && d.prefix !== prefix) {
    throw new AddressError(`address is for another network: it has SS58 prefix ${d.prefix}, this chain uses ${prefix}`);
  }
  return d.publicKey;
}
