// Account keys, byte for byte as crypto/keys (Go) and docs/keys.md:
// Substrate secret URIs (BIP39 phrase through substrate-bip39, 0x hex
// seeds, //hard and /soft junctions, ///password, the dev phrase for a URI
// without a phrase), sr25519 (schnorrkel, "substrate" signing context) and
// ed25519 (RFC 8032 signing, ZIP-215 verification). Following Substrate
// exactly is what makes a phrase or //Alice give the same account here as
// in Polkadot-JS, Talisman, subkey and the Go CLI.
//
// Errors are KeyErrors that name positions ("word 3 is not in the English
// BIP39 wordlist"), never the URI or a word: error text ends up in logs.

import * as sr25519 from '@scure/sr25519';
import { ed25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { KeyError } from './errors.js';
import { concatBytes, fromHex, toHex, utf8, wipe } from './bytes.js';
import { encodeAddress, SUBSTRATE_PREFIX } from './ss58.js';

/** Signature scheme of an account key. */
export type Scheme = 'sr25519' | 'ed25519';

/**
 * Signs messages with an account key. The message is signed as given;
 * each use adds its own domain tag ("veil/tx/v1\0" ‖ body, …).
 */
export interface Signer {
  readonly scheme: Scheme;
  /** The 32-byte public key, which is also the account id. */
  readonly publicKey: Uint8Array;
  /** The 64-byte signature of message (sr25519: randomized; ed25519: deterministic). */
  sign(message: Uint8Array): Uint8Array;
}

/** Substrate's public development phrase; a URI without a phrase (//Alice) uses it. */
export const DEV_PHRASE = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

/** Substrate's well-known development accounts (secrets are public: dev and tests only). */
export const DEV_ACCOUNTS: readonly { name: string; uri: string }[] = Object.freeze(
  ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'].map((name) => Object.freeze({ name, uri: `//${name}` })),
);

// Substrate sets no bound; real URIs are a few hundred bytes, and a bound
// keeps hostile input from costing arbitrary hashing work.
const MAX_URI_LEN = 4096;

interface Junction {
  hard: boolean;
  chainCode: Uint8Array; // 32 bytes
}

interface SecretURI {
  phrase: string; // BIP39 phrase or 0x hex seed; DEV_PHRASE if absent
  junctions: Junction[];
  password: string;
}

function isPhraseChar(c: number): boolean {
  return c === 32 || (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/**
 * Parses phrase(/soft|//hard)*(///password)? like Substrate's AddressUri:
 * the phrase is a run of ASCII letters, digits and spaces; each junction is
 * one or two slashes and at least one non-slash character; "///" starts the
 * password, which runs to the end and may contain slashes but no newline.
 * Positions are byte offsets of the UTF-8 string, as in Go.
 */
function parseURI(s: string): SecretURI {
  if (s === '') {
    // Substrate reads "" as the bare dev phrase; an empty secret is far
    // more likely an unset variable, so it is refused (as in Go).
    throw new KeyError('invalid secret URI: empty');
  }
  // bytes is a copy of the whole secret (phrase included): wiped on the way out.
  const bytes = utf8(s);
  try {
    return parseURIBytes(s, bytes);
  } finally {
    wipe(bytes);
  }
}

function parseURIBytes(s: string, bytes: Uint8Array): SecretURI {
  if (bytes.length > MAX_URI_LEN) throw new KeyError(`invalid secret URI: longer than ${MAX_URI_LEN} bytes`);
  let i = 0;
  while (i < bytes.length && isPhraseChar(bytes[i])) i++;
  // The phrase is ASCII, so character and byte offsets agree up to here.
  const u: SecretURI = { phrase: s.slice(0, i) || DEV_PHRASE, junctions: [], password: '' };
  let pos = i; // byte offset of rest
  const dec = new TextDecoder();
  while (pos < bytes.length) {
    const rest = bytes.subarray(pos);
    if (rest[0] === 47 && rest[1] === 47 && rest[2] === 47) {
      const pw = rest.subarray(3);
      if (pw.includes(10)) throw new KeyError('invalid secret URI: newline in password');
      u.password = dec.decode(pw);
      pos = bytes.length;
    } else if (rest[0] === 47) {
      const hard = rest[1] === 47;
      const start = hard ? 2 : 1;
      let end = start;
      while (end < rest.length && rest[end] !== 47) end++;
      if (end === start) {
        throw new KeyError(`invalid secret URI: empty ${hard ? 'hard' : 'soft'} junction at byte ${pos}`);
      }
      u.junctions.push(newJunction(rest.subarray(start, end), hard));
      pos += end;
    } else {
      // Position only: the phrase is secret and must not be echoed.
      throw new KeyError(
        `invalid secret URI: unexpected character at byte ${pos} (a phrase may contain only letters, digits and spaces)`,
      );
    }
  }
  return u;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Rust's u64::from_str: ASCII digits with one optional leading '+',
 * leading zeros allowed, no overflow.
 */
function parseRustU64(code: Uint8Array): bigint | undefined {
  let s = code;
  if (s[0] === 43) s = s.subarray(1); // '+'
  if (s.length === 0) return undefined;
  let n = 0n;
  for (const c of s) {
    if (c < 48 || c > 57) return undefined;
    n = n * 10n + BigInt(c - 48);
    if (n > U64_MAX) return undefined;
  }
  return n;
}

/** SCALE compact encoding of n. */
export function scaleCompact(n: bigint | number): Uint8Array {
  const v = BigInt(n);
  if (v < 0n) throw new RangeError('compact: negative');
  if (v < 1n << 6n) return new Uint8Array([Number(v << 2n)]);
  if (v < 1n << 14n) {
    const x = Number((v << 2n) | 1n);
    return new Uint8Array([x & 0xff, x >> 8]);
  }
  if (v < 1n << 30n) {
    const x = Number((v << 2n) | 2n);
    return new Uint8Array([x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24]);
  }
  const le: number[] = [];
  for (let x = v; x > 0n; x >>= 8n) le.push(Number(x & 0xffn));
  while (le.length < 4) le.push(0);
  return new Uint8Array([((le.length - 4) << 2) | 3, ...le]);
}

/**
 * A junction's chain code as Substrate's DeriveJunction::from: a u64
 * (Rust rules) is SCALE-encoded as 8 little-endian bytes, anything else as
 * a SCALE string (compact length, then the bytes); an encoding of up to 32
 * bytes is zero-padded to 32, a longer one replaced by its blake2b-256.
 */
function newJunction(code: Uint8Array, hard: boolean): Junction {
  let enc: Uint8Array;
  const n = parseRustU64(code);
  if (n !== undefined) {
    enc = new Uint8Array(8);
    new DataView(enc.buffer).setBigUint64(0, n, true);
  } else {
    enc = concatBytes(scaleCompact(code.length), code);
  }
  let chainCode: Uint8Array;
  if (enc.length > 32) {
    chainCode = blake2b(enc, { dkLen: 32 });
  } else {
    chainCode = new Uint8Array(32);
    chainCode.set(enc);
  }
  wipe(enc);
  return { hard, chainCode };
}

/** The chain code of a junction's text (exported for tests and other implementers). */
export function junctionChainCode(code: string): Uint8Array {
  return newJunction(utf8(code), true).chainCode;
}

// ---------------------------------------------------------------------------
// BIP39 (English), as crypto/keys/bip39.go: only the wordlist is taken from
// a library, because Substrate derives the seed from the entropy, not from
// the phrase string, and because errors must name positions, not words.

const MAX_WORD_LEN = 8;

/**
 * Finds w in the wordlist scanning the whole list (no early exit), so the
 * time taken does not depend on which (secret) word it is.
 */
function wordIndex(w: string): number {
  if (w.length === 0 || w.length > MAX_WORD_LEN) return -1;
  let idx = -1;
  for (let i = 0; i < english.length; i++) {
    if (english[i] === w) idx = i;
  }
  return idx;
}

/**
 * Decodes an English BIP39 phrase of 12, 15, 18, 21 or 24 words (any
 * whitespace between them) into its entropy, verifying the checksum.
 */
function entropyFromPhrase(phrase: string): Uint8Array {
  const words = phrase.split(/\s+/).filter((w) => w !== '');
  const n = words.length;
  if (n < 12 || n > 24 || n % 3 !== 0) {
    throw new KeyError(`invalid BIP39 phrase: ${n} words, want 12, 15, 18, 21 or 24`);
  }
  const bits = new Uint8Array(Math.ceil((n * 11) / 8));
  try {
    words.forEach((w, i) => {
      const idx = wordIndex(w);
      if (idx < 0) throw new KeyError(`invalid BIP39 phrase: word ${i + 1} is not in the English BIP39 wordlist`);
      for (let b = 0; b < 11; b++) {
        if (idx & (1 << (10 - b))) {
          const pos = i * 11 + b;
          bits[pos >> 3] |= 0x80 >> (pos & 7);
        }
      }
    });
    const entLen = (n * 4) / 3;
    const csBits = n / 3;
    const entropy = bits.slice(0, entLen);
    const want = sha256(entropy)[0] >> (8 - csBits);
    const got = bits[entLen] >> (8 - csBits);
    if (want !== got) {
      wipe(entropy);
      throw new KeyError('invalid BIP39 phrase: checksum mismatch (a word is wrong or the order is)');
    }
    return entropy;
  } finally {
    wipe(bits);
  }
}

/** Encodes 16..32 bytes of entropy (a multiple of 4) as an English BIP39 phrase. */
export function phraseFromEntropy(entropy: Uint8Array): string {
  if (entropy.length < 16 || entropy.length > 32 || entropy.length % 4 !== 0) {
    throw new KeyError(`entropy is ${entropy.length} bytes, want 16, 20, 24, 28 or 32`);
  }
  const bits = concatBytes(entropy, sha256(entropy).subarray(0, 1));
  const n = (entropy.length * 3) / 4;
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    let idx = 0;
    for (let b = 0; b < 11; b++) {
      const pos = i * 11 + b;
      idx = (idx << 1) | (bits[pos >> 3] & (0x80 >> (pos & 7)) ? 1 : 0);
    }
    words.push(english[idx]);
  }
  wipe(bits);
  return words.join(' ');
}

/** A new random English BIP39 phrase of `words` words (12, 15, 18, 21 or 24), from the platform CSPRNG. */
export function generatePhrase(words = 12): string {
  if (!Number.isInteger(words) || words < 12 || words > 24 || words % 3 !== 0) {
    throw new KeyError(`cannot generate a ${words}-word phrase: want 12, 15, 18, 21 or 24`);
  }
  const entropy = new Uint8Array((words * 4) / 3);
  crypto.getRandomValues(entropy);
  try {
    return phraseFromEntropy(entropy);
  } finally {
    wipe(entropy);
  }
}

/** Throws KeyError unless phrase is a well-formed English BIP39 phrase (word count, words, checksum). */
export function validatePhrase(phrase: string): void {
  wipe(entropyFromPhrase(phrase));
}

/**
 * substrate-bip39's seed_from_entropy truncated to 32 bytes:
 * PBKDF2-HMAC-SHA512(password = entropy, salt = "mnemonic" ‖ password,
 * 2048 rounds). Standard BIP39 feeds the phrase string instead; Substrate
 * chose the entropy so the key does not depend on the wordlist language
 * or Unicode normalisation, and following it gives the same accounts as
 * every Substrate wallet.
 */
function miniSecretFromEntropy(entropy: Uint8Array, password: string): Uint8Array {
  const salt = utf8('mnemonic' + password);
  const seed = pbkdf2(sha512, entropy, salt, { c: 2048, dkLen: 64 });
  const out = seed.slice(0, 32);
  wipe(seed);
  wipe(salt);
  return out;
}

/**
 * The 32-byte root seed of a URI's phrase part: a 0x hex seed is the seed
 * itself (the password does not apply, as in Substrate); a phrase goes
 * through substrate-bip39 with the URI's password.
 */
function rootSeed(u: SecretURI): Uint8Array {
  if (u.phrase.startsWith('0x')) {
    const h = u.phrase.slice(2);
    if (h.length !== 64) throw new KeyError(`invalid hex seed: want 0x followed by 64 hex digits, got ${h.length} digits`);
    if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new KeyError('invalid hex seed: not hex');
    return fromHex(h);
  }
  const entropy = entropyFromPhrase(u.phrase);
  try {
    return miniSecretFromEntropy(entropy, u.password);
  } finally {
    wipe(entropy);
  }
}

/** The 32-byte root seed ("secret seed" in subkey's output) of a URI's phrase part (for tests and key export). */
export function seedFromUri(uri: string): Uint8Array {
  return rootSeed(parseURI(uri));
}

// SCALE("Ed25519HDKD"): compact length 11 (0x2c), then the bytes.
const ED25519_HDKD = /* @__PURE__ */ concatBytes(new Uint8Array([0x2c]), utf8('Ed25519HDKD'));

/** Substrate's ed25519 derivation: each hard junction replaces the seed with blake2b-256(SCALE("Ed25519HDKD") ‖ seed ‖ chain code). */
function deriveEd25519(seed: Uint8Array, path: Junction[]): Uint8Array {
  let s = seed.slice();
  path.forEach((j, i) => {
    if (!j.hard) {
      // Soft derivation does not exist for ed25519; never silently hardened.
      throw new KeyError(`ed25519 keys support only hard (//) derivation: junction ${i + 1} is soft (/); use //`);
    }
    const input = concatBytes(ED25519_HDKD, s, j.chainCode); // holds the seed
    const next = blake2b(input, { dkLen: 32 });
    wipe(input);
    wipe(s);
    s = next;
  });
  return s;
}

/** schnorrkel HDKD as Substrate: hard = hard_derive_mini_secret_key + Ed25519 expansion; soft = derived_key_simple. */
function deriveSr25519(secret: Uint8Array, path: Junction[]): Uint8Array {
  let sk = secret;
  for (const j of path) {
    const next = j.hard ? sr25519.HDKD.secretHard(sk, j.chainCode) : sr25519.HDKD.secretSoft(sk, j.chainCode);
    wipe(sk);
    sk = next;
  }
  return sk;
}

/** A Signer that can also forget its secret. */
export interface WipeableSigner extends Signer {
  /** Zeroes the secret (best effort); later sign calls throw KeyError. */
  wipe(): void;
}

function makeSigner(scheme: Scheme, publicKey: Uint8Array, signFn: (m: Uint8Array, secret: Uint8Array) => Uint8Array, secret: Uint8Array): WipeableSigner {
  let sec: Uint8Array | undefined = secret;
  const pub = publicKey.slice();
  const describe = `${scheme} signer ${encodeAddress(pub, SUBSTRATE_PREFIX)}`;
  // The secret lives only in this closure: JSON.stringify, console.log and
  // structuredClone of the signer show the public key, never the secret.
  return Object.freeze({
    scheme,
    get publicKey() {
      return pub.slice();
    },
    sign(message: Uint8Array): Uint8Array {
      if (!sec) throw new KeyError('signer has been wiped');
      return signFn(message, sec);
    },
    wipe(): void {
      wipe(sec);
      sec = undefined;
    },
    toString: () => describe,
    toJSON: () => ({ scheme, publicKey: toHex(pub) }),
  });
}

/** The sr25519 signer of a 32-byte mini secret ("secret seed"), expanded Ed25519-style as Substrate does. */
export function sr25519FromSeed(seed: Uint8Array): WipeableSigner {
  if (seed.length !== 32) throw new KeyError(`an sr25519 seed is 32 bytes, got ${seed.length}`);
  return sr25519Signer(sr25519.secretFromSeed(seed));
}

function sr25519Signer(secret: Uint8Array): WipeableSigner {
  return makeSigner('sr25519', sr25519.getPublicKey(secret), (m, s) => sr25519.sign(s, m), secret);
}

/** The ed25519 signer of a 32-byte RFC 8032 seed. */
export function ed25519FromSeed(seed: Uint8Array): WipeableSigner {
  if (seed.length !== 32) throw new KeyError(`an ed25519 seed is 32 bytes, got ${seed.length}`);
  const s = seed.slice();
  return makeSigner('ed25519', ed25519.getPublicKey(s), (m, sec) => ed25519.sign(m, sec), s);
}

/**
 * The signer of a Substrate secret URI:
 *
 *   URI    = [phrase] {"/" soft | "//" hard} ["///" password]
 *   phrase = English BIP39 phrase (12..24 words) | "0x" 64 hex digits
 *
 * A missing phrase means DEV_PHRASE, so "//Alice" is Substrate's Alice.
 * Numeric junctions ("//0") are u64 indices, others strings. ed25519
 * supports hard junctions only. Throws KeyError with a message that never
 * contains the URI.
 */
export function signerFromUri(uri: string, scheme: Scheme = 'sr25519'): WipeableSigner {
  if (scheme !== 'sr25519' && scheme !== 'ed25519') {
    throw new KeyError(`unknown signature scheme ${schemeForMessage(scheme)} (want sr25519 or ed25519)`);
  }
  if (typeof uri !== 'string') throw new KeyError('invalid secret URI: not a string');
  const u = parseURI(uri);
  const seed = rootSeed(u);
  try {
    if (scheme === 'sr25519') {
      return sr25519Signer(deriveSr25519(sr25519.secretFromSeed(seed), u.junctions));
    }
    const child = deriveEd25519(seed, u.junctions);
    try {
      return ed25519FromSeed(child);
    } finally {
      wipe(child);
    }
  } finally {
    wipe(seed);
    for (const j of u.junctions) wipe(j.chainCode);
  }
}

/**
 * A scheme value for an error message: echoed only when it looks like a
 * scheme name. From plain JS, signerFromUri(scheme, uri) with swapped
 * arguments would otherwise put the secret URI in the message.
 */
function schemeForMessage(s: unknown): string {
  const v = String(s);
  return /^[A-Za-z0-9 _-]{0,16}$/.test(v) ? JSON.stringify(v) : '(not a scheme name)';
}

/** Parses a scheme name as users write it ("sr25519", "ED25519 "). */
export function parseScheme(s: string): Scheme {
  const v = s.trim().toLowerCase();
  if (v === 'sr25519' || v === 'ed25519') return v;
  throw new KeyError(`unknown signature scheme ${schemeForMessage(s)} (want sr25519 or ed25519)`);
}

/**
 * Reports whether signature is a valid signature of message by publicKey:
 * sr25519 in the "substrate" context with the schnorrkel marker bit
 * required (as current Substrate and Go); ed25519 with ZIP-215 rules
 * (cofactored, every 32-byte key accepted), as Go and Substrate's
 * ed25519-zebra. Never throws for malformed input: it is just invalid.
 */
export function verifySignature(scheme: Scheme, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    if (scheme === 'sr25519') {
      // The identity point verifies every signature in a batch equation;
      // Go rejects it up front, and so does this.
      if (publicKey.every((b) => b === 0)) return false;
      return sr25519.verify(message, signature, publicKey);
    }
    if (scheme === 'ed25519') return ed25519.verify(signature, message, publicKey, { zip215: true });
  } catch {
    return false;
  }
  return false;
}

/** The SS58 address of a signer's account. */
export function signerAddress(signer: Signer, prefix: number = SUBSTRATE_PREFIX): string {
  return encodeAddress(signer.publicKey, prefix);
}
