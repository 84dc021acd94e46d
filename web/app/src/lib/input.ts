import { decodeAddress, encodeAddress, fromHex, parseAmount, parseJSON, toHex } from '@veil-network/sdk';
import type { Account } from '../state';
import type { Token } from './format';

/** A recipient as the chain (SS58) and contracts (64 hex digits) name it. */
export interface Recipient {
  address: string;
  publicKey: Uint8Array;
  hex: string;
  /** The known account's name, if it is one. */
  name?: string;
}

/**
 * parseRecipient accepts an SS58 address, 0x + 64 hex digits, or the name
 * of a known account ("Bob", "//Bob"), and explains what is wrong
 * otherwise, including an address of another network (SS58 prefix).
 */
export function parseRecipient(text: string, accounts: Account[], token: Token): Recipient {
  const t = text.trim();
  if (!t) throw new Error('Enter a recipient: an SS58 address or a dev account name.');
  const byName = accounts.find((a) => a.name.toLowerCase() === t.replace(/^\/\//, '').toLowerCase());
  if (byName) return { address: byName.address, publicKey: byName.signer.publicKey, hex: byName.hex, name: byName.name };
  let publicKey: Uint8Array;
  if (/^0x[0-9a-fA-F]{64}$/.test(t)) {
    publicKey = fromHex(t);
  } else {
    let prefix: number;
    try {
      ({ publicKey, prefix } = decodeAddress(t));
    } catch (e) {
      // The SDK's message names the bad character or length; the text itself
      // is not repeated (it is in the field, and could be a pasted secret).
      throw new Error(`Invalid address: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (prefix !== token.ss58)
      throw new Error(`Invalid address: "${t}" is for SS58 network prefix ${prefix}, but this chain uses prefix ${token.ss58} (wrong network).`);
  }
  const address = encodeAddress(publicKey, token.ss58);
  return { address, publicKey, hex: toHex(publicKey), name: accounts.find((a) => a.address === address)?.name };
}

/** parseAmount with a positive check and a message naming the field. */
export function parsePositive(text: string, token: Token, what = 'Amount'): bigint {
  const t = text.trim();
  if (!t) throw new Error(`${what}: enter an amount in ${token.symbol}.`);
  let v: bigint;
  try {
    v = parseAmount(t, token.decimals);
  } catch (e) {
    throw new Error(`${what} "${t}" is not a valid ${token.symbol} amount: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (v <= 0n) throw new Error(`${what} must be greater than zero.`);
  return v;
}

/** 2^64-1: contracts take planck amounts as uint64 JSON numbers. */
export const U64_MAX = (1n << 64n) - 1n;

/**
 * parseJsonArgs validates user-typed JSON and returns its exact bytes (so
 * big integers keep every digit), or undefined for an empty field. Checked
 * with the SDK's strict parser, the one contract answers go through:
 * the message names the problem, its line and column.
 */
export function parseJsonArgs(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (!t) return undefined;
  try {
    parseJSON(t);
  } catch (e) {
    throw new Error(`Malformed JSON arguments: ${e instanceof Error ? e.message : String(e)}`);
  }
  return new TextEncoder().encode(t);
}

/** A fresh random 16-byte salt as hex. */
export function randomSaltHex(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}
