// End-to-end encryption envelopes, byte for byte as crypto/envelope (Go)
// and docs/envelopes.md: HPKE (RFC 9180) base mode with X-Wing (0x647A),
// HKDF-SHA256 and AES-256-GCM.
//
//   envelope = version(1)=1 ‖ kind(1) ‖ kem(2) ‖ kdf(2) ‖ aead(2)
//              ‖ key_id(8) = SHA-256(recipient public key)[0:8] ‖ enc_len(2)=1120
//              ‖ enc(1120) ‖ HPKE ciphertext (aad = the 18 header bytes)
//
// A command is a signed call sealed to the contract's HPKE key (info
// "veil/command/v1" ‖ contract id); a query a signed, expiring request
// sealed to a worker's registered HPKE key (info "veil/query/v1"), answered
// under a key exported from the query's HPKE context (Oblivious HTTP's
// response schedule). The caller signs inside the encryption, so the chain
// learns neither caller nor call while the contract learns both with proof.
//
// The client side (sealCommand, sealQuery, openResponse) is what apps use;
// the recipient side (openCommand, openQuery, sealResponse) exists for the
// interop vectors, tests and other implementers. All integers big-endian.

import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { ristretto255 } from '@noble/curves/ed25519.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { shake256 } from '@noble/hashes/sha3.js';
import { bytesEqual, concatBytes, plainBytes, toHex, u16be, u32be, u64be, utf8, wipe } from './bytes.js';
import { EnvelopeError, type EnvelopeErrorKind } from './errors.js';
import { verifySignature, type Scheme, type Signer } from './keys.js';

// --- constants (docs/envelopes.md) -----------------------------------------

export const ENVELOPE_VERSION = 1;
export const KIND_COMMAND = 1;
export const KIND_QUERY = 2;
export const KIND_RESPONSE = 3;
export const KIND_MASTER_KEY_HANDOVER = 4;
export const KIND_CONTRACT_KEY = 5;

export const KEM_XWING = 0x647a;
export const KDF_HKDF_SHA256 = 0x0001;
export const AEAD_AES_256_GCM = 0x0002;

/** X-Wing sizes: encapsulated key, public key, private key (a seed). */
export const XWING_ENC_SIZE = 1120;
export const XWING_PUBLIC_KEY_SIZE = 1216;
export const XWING_PRIVATE_KEY_SIZE = 32;

export const CALL_DOMAIN = 'veil/contract-call/v1\u0000';
export const COMMAND_INFO = 'veil/command/v1';
export const QUERY_DOMAIN = 'veil/query-request/v1\u0000';
export const QUERY_INFO = 'veil/query/v1';
export const RESPONSE_EXPORT_LABEL = 'veil/query-response/v1';

export const MAX_METHOD_SIZE = 128;
export const MAX_COMMAND_ARGS_SIZE = 64 << 10;
export const MAX_QUERY_ARGS_SIZE = 64 << 10;
export const MAX_RESPONSE_SIZE = 4 << 20;
/** The furthest ahead a query's expiry may be (seconds). */
export const MAX_QUERY_LIFETIME_SECONDS = 600;
export const CONTRACT_ID_SIZE = 32;
export const QUERY_NONCE_SIZE = 16;
export const RESPONSE_NONCE_SIZE = 32;

const HEADER_SIZE = 18;
const TAG_SIZE = 16;
const SIGNATURE_SIZE = 64;
const CALL_FIXED_SIZE = 1 + 32 + 32 + 8 + 2 + 4;
const QUERY_FIXED_SIZE = 1 + 32 + 32 + 16 + 8 + 2 + 4;
const MAX_COMMAND_PLAINTEXT = CALL_FIXED_SIZE + MAX_METHOD_SIZE + MAX_COMMAND_ARGS_SIZE + SIGNATURE_SIZE;
const MAX_QUERY_PLAINTEXT = QUERY_FIXED_SIZE + MAX_METHOD_SIZE + MAX_QUERY_ARGS_SIZE + SIGNATURE_SIZE;
const RESPONSE_HEADER_SIZE = 2 + RESPONSE_NONCE_SIZE;

const fail = (kind: EnvelopeErrorKind, msg: string): never => {
  throw new EnvelopeError(kind, msg);
};

const KIND_NAMES: Record<number, string> = {
  1: 'command',
  2: 'query',
  3: 'response',
  4: 'master-key-handover',
  5: 'contract-key',
  6: 'session-query',
  7: 'session-response',
};
const kindName = (k: number): string => KIND_NAMES[k] ?? `kind(${k})`;

// --- HPKE suite -------------------------------------------------------------

let suiteInstance: CipherSuite | undefined;

/** The HPKE suite (created on first use: ML-KEM tables are not built at import time). */
function suite(): CipherSuite {
  suiteInstance ??= new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  return suiteInstance;
}

function xwing(): XWing {
  return suite().kem as XWing;
}

/** SHA-256 of a serialized HPKE public key: what query signatures bind and whose first 8 bytes are the key id. */
export function keyFingerprint(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey);
}

/** The X-Wing public key of a 32-byte private key (seed). */
export async function xwingPublicKey(privateKey: Uint8Array): Promise<Uint8Array> {
  if (privateKey.length !== XWING_PRIVATE_KEY_SIZE) {
    fail('ErrInvalidKey', `invalid key: an X-Wing private key is ${XWING_PRIVATE_KEY_SIZE} bytes, got ${privateKey.length}`);
  }
  const seed = plainBytes(privateKey);
  try {
    const kp = await xwing().generateKeyPairDerand(seed);
    return new Uint8Array(await xwing().serializePublicKey(kp.publicKey));
  } finally {
    wipe(seed);
  }
}

/**
 * RFC 9180 DeriveKeyPair for X-Wing in the one-stage form of
 * draft-ietf-hpke-pq: private key = SHAKE256(ikm ‖ "HPKE-v1" ‖ "KEM" ‖
 * 0x647A ‖ I2OSP(13, 2) ‖ "DeriveKeyPair" ‖ I2OSP(32, 2)), 32 bytes — the
 * derivation every contract key uses (docs/envelopes.md, key hierarchy).
 * (@hpke/hybridkem-x-wing's deriveKeyPair predates this form, hence our own.)
 */
export async function deriveXWingKeyPair(ikm: Uint8Array): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  const input = concatBytes(ikm, utf8('HPKE-v1'), utf8('KEM'), u16be(KEM_XWING), u16be(13), utf8('DeriveKeyPair'), u16be(32));
  const privateKey = shake256(input, { dkLen: 32 });
  return { privateKey, publicKey: await xwingPublicKey(privateKey) };
}

/** A recipient's private key with its public key's fingerprint computed once (Go's CachedKey). */
export interface RecipientKey {
  readonly publicKey: Uint8Array;
  readonly fingerprint: Uint8Array;
  /** @internal the imported key */
  readonly key: CryptoKey;
}

/** Prepares an X-Wing private key (32-byte seed) for opening envelopes. */
export async function recipientKey(privateKey: Uint8Array): Promise<RecipientKey> {
  const publicKey = await xwingPublicKey(privateKey);
  // Not wiped: the imported key keeps this buffer as its private key.
  const key = await xwing().importKey('raw', plainBytes(privateKey).buffer, false);
  return { publicKey, fingerprint: keyFingerprint(publicKey), key };
}

async function asRecipient(k: Uint8Array | RecipientKey): Promise<RecipientKey> {
  return k instanceof Uint8Array ? recipientKey(k) : k;
}

function checkRecipientPublicKey(pub: Uint8Array): Uint8Array {
  if (!(pub instanceof Uint8Array) || pub.length !== XWING_PUBLIC_KEY_SIZE) {
    fail('ErrInvalidKey', `invalid key: an X-Wing public key is ${XWING_PUBLIC_KEY_SIZE} bytes, got ${pub?.length}`);
  }
  return keyFingerprint(pub);
}

// --- header -----------------------------------------------------------------

/** The clear header of an envelope. */
export interface EnvelopeHeader {
  version: number;
  kind: number;
  kem: number;
  kdf: number;
  aead: number;
  keyId: Uint8Array;
  encSize: number;
}

function isHpkeKind(k: number): boolean {
  return k === KIND_COMMAND || k === KIND_QUERY || k === KIND_MASTER_KEY_HANDOVER || k === KIND_CONTRACT_KEY;
}

/**
 * Decodes and checks an envelope's header without a key: version, an HPKE
 * envelope kind, the supported suite, and an enc length matching it.
 */
export function parseEnvelopeHeader(env: Uint8Array): EnvelopeHeader {
  if (env.length < HEADER_SIZE) fail('ErrTruncated', `envelope truncated: ${env.length} bytes, header needs ${HEADER_SIZE}`);
  const dv = new DataView(env.buffer, env.byteOffset, env.byteLength);
  const h: EnvelopeHeader = {
    version: env[0],
    kind: env[1],
    kem: dv.getUint16(2),
    kdf: dv.getUint16(4),
    aead: dv.getUint16(6),
    keyId: env.slice(8, 16),
    encSize: dv.getUint16(16),
  };
  if (h.version !== ENVELOPE_VERSION) fail('ErrUnsupportedVersion', `unsupported envelope format version ${h.version} (want ${ENVELOPE_VERSION})`);
  if (!isHpkeKind(h.kind)) fail('ErrWrongKind', `wrong envelope kind: ${kindName(h.kind)} is not an HPKE envelope kind`);
  if (h.kem !== KEM_XWING || h.kdf !== KDF_HKDF_SHA256 || h.aead !== AEAD_AES_256_GCM) {
    const hx = (n: number) => '0x' + n.toString(16).padStart(4, '0');
    fail(
      'ErrUnknownSuite',
      `unknown HPKE suite (kem ${hx(h.kem)}, kdf ${hx(h.kdf)}, aead ${hx(h.aead)}) (supported: (kem 0x647a, kdf 0x0001, aead 0x0002))`,
    );
  }
  if (h.encSize !== XWING_ENC_SIZE) fail('ErrMalformed', `malformed envelope: enc length ${h.encSize}, suite needs ${XWING_ENC_SIZE}`);
  return h;
}

function header(kind: number, fingerprint: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  const dv = new DataView(h.buffer);
  h[0] = ENVELOPE_VERSION;
  h[1] = kind;
  dv.setUint16(2, KEM_XWING);
  dv.setUint16(4, KDF_HKDF_SHA256);
  dv.setUint16(6, AEAD_AES_256_GCM);
  h.set(fingerprint.subarray(0, 8), 8);
  dv.setUint16(16, XWING_ENC_SIZE);
  return h;
}

interface Sealed {
  envelope: Uint8Array;
  enc: Uint8Array;
  exportSecret: (label: string) => Promise<Uint8Array>;
}

async function seal(recipientPub: Uint8Array, fingerprint: Uint8Array, kind: number, info: Uint8Array, pt: Uint8Array): Promise<Sealed> {
  const s = suite();
  let pub: CryptoKey;
  try {
    pub = await s.kem.deserializePublicKey(plainBytes(recipientPub));
  } catch (e) {
    return fail('ErrInvalidKey', `invalid key: recipient public key: ${(e as Error).message}`);
  }
  const sender = await s.createSenderContext({ recipientPublicKey: pub, info: plainBytes(info) });
  const enc = new Uint8Array(sender.enc);
  if (enc.length !== XWING_ENC_SIZE) fail('ErrMalformed', `HPKE enc is ${enc.length} bytes, want ${XWING_ENC_SIZE}`);
  const aad = header(kind, fingerprint);
  // WebCrypto wants its own buffer: a copy of the plaintext, wiped like the original.
  const ptCopy = plainBytes(pt);
  let ct: Uint8Array;
  try {
    ct = new Uint8Array(await sender.seal(ptCopy, plainBytes(aad)));
  } finally {
    wipe(ptCopy);
  }
  return {
    envelope: concatBytes(aad, enc, ct),
    enc,
    exportSecret: async (label) => new Uint8Array(await sender.export(plainBytes(utf8(label)), 32)),
  };
}

interface Opened {
  pt: Uint8Array;
  enc: Uint8Array;
  fingerprint: Uint8Array;
  exportSecret: (label: string) => Promise<Uint8Array>;
}

/** Checks in the order of docs/envelopes.md: header, kind, lengths, key id, then decryption. */
async function open(key: RecipientKey, kind: number, info: Uint8Array, env: Uint8Array, maxPT: number): Promise<Opened> {
  const h = parseEnvelopeHeader(env);
  if (h.kind !== kind) fail('ErrWrongKind', `wrong envelope kind: got ${kindName(h.kind)}, want ${kindName(kind)}`);
  const body = env.subarray(HEADER_SIZE);
  if (body.length < XWING_ENC_SIZE + TAG_SIZE) {
    fail('ErrTruncated', `envelope truncated: ${body.length} bytes after the header, need at least ${XWING_ENC_SIZE + TAG_SIZE}`);
  }
  const n = body.length - XWING_ENC_SIZE - TAG_SIZE;
  if (n > maxPT) fail('ErrTooLarge', `envelope too large: ${kindName(kind)} plaintext of ${n} bytes exceeds ${maxPT}`);
  if (!bytesEqual(key.fingerprint.subarray(0, 8), h.keyId)) {
    fail('ErrWrongRecipient', `envelope sealed to another recipient key: key id ${toHex(h.keyId)}, this key is ${toHex(key.fingerprint.subarray(0, 8))}`);
  }
  const enc = body.slice(0, XWING_ENC_SIZE);
  const ct = body.subarray(XWING_ENC_SIZE);
  let recipient;
  try {
    recipient = await suite().createRecipientContext({ recipientKey: key.key, enc: plainBytes(enc), info: plainBytes(info) });
  } catch {
    return fail('ErrDecrypt', 'envelope decryption failed: decapsulation');
  }
  let pt: Uint8Array;
  try {
    pt = new Uint8Array(await recipient.open(plainBytes(ct), plainBytes(env.subarray(0, HEADER_SIZE))));
  } catch {
    return fail('ErrDecrypt', 'envelope decryption failed: authentication failed');
  }
  return {
    pt,
    enc,
    fingerprint: key.fingerprint,
    exportSecret: async (label) => new Uint8Array(await recipient.export(plainBytes(utf8(label)), 32)),
  };
}

// --- encodings ----------------------------------------------------------------

function schemeByte(s: Scheme): number {
  if (s === 'sr25519') return 1;
  if (s === 'ed25519') return 2;
  return fail('ErrInvalidKey', `invalid key: unknown signature scheme ${String(s)}`);
}

/** Checks a method name: 1..128 bytes of printable ASCII without space (identifiers, unambiguous in logs). */
function checkMethod(m: string): Uint8Array {
  if (typeof m !== 'string') fail('ErrInvalidMethod', 'invalid method name: not a string');
  return checkMethodBytes(utf8(m));
}

function checkMethodBytes(b: Uint8Array): Uint8Array {
  if (b.length === 0) fail('ErrInvalidMethod', 'invalid method name: empty');
  if (b.length > MAX_METHOD_SIZE) fail('ErrInvalidMethod', `invalid method name: ${b.length} bytes, limit ${MAX_METHOD_SIZE}`);
  b.forEach((c, i) => {
    if (c < 0x21 || c > 0x7e) fail('ErrInvalidMethod', `invalid method name: byte ${i} is 0x${c.toString(16).padStart(2, '0')} (want printable ASCII)`);
  });
  return b;
}

function checkContractId(id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== CONTRACT_ID_SIZE) {
    fail('ErrMalformed', `contract id must be ${CONTRACT_ID_SIZE} bytes, got ${id?.length}`);
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** A contract call as the caller writes it (the caller is the signer). */
export interface Call {
  contractId: Uint8Array;
  nonce: bigint;
  method: string;
  args: Uint8Array;
}

/** scheme(1) caller(32) contract_id(32) nonce(u64) method_len(u16) method args_len(u32) args. */
export function encodeCall(scheme: Scheme, caller: Uint8Array, call: Call): Uint8Array {
  const m = checkMethod(call.method);
  if (call.args.length > MAX_COMMAND_ARGS_SIZE) fail('ErrTooLarge', `args of ${call.args.length} bytes, limit ${MAX_COMMAND_ARGS_SIZE}`);
  checkContractId(call.contractId);
  if (call.nonce < 0n || call.nonce > U64_MAX) fail('ErrMalformed', `nonce ${call.nonce} is not a u64`);
  return concatBytes(
    new Uint8Array([schemeByte(scheme)]),
    caller,
    call.contractId,
    u64be(call.nonce),
    u16be(m.length),
    m,
    u32be(call.args.length),
    call.args,
  );
}

/** The message a caller signs for a call: "veil/contract-call/v1\0" ‖ encoded call. */
export function callSigningMessage(encoded: Uint8Array): Uint8Array {
  return concatBytes(utf8(CALL_DOMAIN), encoded);
}

function signPlaintext(signer: Signer, encoded: Uint8Array, msg: Uint8Array): Uint8Array {
  const sig = signer.sign(msg);
  wipe(msg);
  if (sig.length !== SIGNATURE_SIZE) fail('ErrInvalidKey', `signer returned a ${sig.length}-byte signature, want ${SIGNATURE_SIZE}`);
  return concatBytes(encoded, sig);
}

function commandInfo(contractId: Uint8Array): Uint8Array {
  return concatBytes(utf8(COMMAND_INFO), contractId);
}

/**
 * Signs call with signer and seals the signed call to the contract's HPKE
 * public key (1216 bytes): the envelope a MsgPushCommand carries.
 */
export async function sealCommand(
  contractPublicKey: Uint8Array,
  call: { contractId: Uint8Array; nonce: bigint; method: string; args: Uint8Array },
  signer: Signer,
): Promise<Uint8Array> {
  const fp = checkRecipientPublicKey(contractPublicKey);
  const enc = encodeCall(signer.scheme, signer.publicKey, call);
  let pt: Uint8Array;
  try {
    pt = signPlaintext(signer, enc, callSigningMessage(enc));
  } finally {
    wipe(enc); // the call in clear; pt holds the only copy from here on
  }
  try {
    return (await seal(contractPublicKey, fp, KIND_COMMAND, commandInfo(call.contractId), pt)).envelope;
  } finally {
    wipe(pt);
  }
}

/** A query request as the client writes it. */
export interface QueryRequest {
  contractId: Uint8Array;
  method: string;
  args: Uint8Array;
  /** When the worker must stop accepting it (whole seconds; at most 10 min after the worker's clock). */
  expiry: Date;
}

/** scheme(1) caller(32) contract_id(32) nonce(16) expiry(u64 Unix s) method_len(u16) method args_len(u32) args. */
export function encodeQuery(scheme: Scheme, caller: Uint8Array, req: QueryRequest, nonce: Uint8Array): Uint8Array {
  const m = checkMethod(req.method);
  if (req.args.length > MAX_QUERY_ARGS_SIZE) fail('ErrTooLarge', `args of ${req.args.length} bytes, limit ${MAX_QUERY_ARGS_SIZE}`);
  checkContractId(req.contractId);
  if (nonce.length !== QUERY_NONCE_SIZE) fail('ErrMalformed', `query nonce must be ${QUERY_NONCE_SIZE} bytes`);
  const t = req.expiry instanceof Date ? req.expiry.getTime() : NaN;
  const exp = Math.floor(t / 1000);
  if (!Number.isFinite(t) || exp <= 0) fail('ErrExpired', 'query expired: expiry not set');
  return concatBytes(
    new Uint8Array([schemeByte(scheme)]),
    caller,
    req.contractId,
    nonce,
    u64be(BigInt(exp)),
    u16be(m.length),
    m,
    u32be(req.args.length),
    req.args,
  );
}

/**
 * The message a caller signs for a query: "veil/query-request/v1\0" ‖
 * SHA-256(worker HPKE public key) ‖ encoded request. Binding the worker's
 * key means a worker cannot re-seal the request to another worker and
 * have it answered on the caller's behalf.
 */
export function querySigningMessage(workerFingerprint: Uint8Array, encoded: Uint8Array): Uint8Array {
  return concatBytes(utf8(QUERY_DOMAIN), workerFingerprint, encoded);
}

/** A sealed query and what opens its response. Keep it until the answer arrives: it holds a secret. */
export interface SealedQuery {
  envelope: Uint8Array;
  /** The request's random nonce. */
  nonce: Uint8Array;
  /** The expiry as sent (whole seconds). */
  expiry: Date;
  /** Decrypts the worker's response to this query (throws EnvelopeError). */
  openResponse(response: Uint8Array): Promise<Uint8Array>;
}

/**
 * Signs req with signer (adding a fresh random 16-byte nonce) and seals it
 * to the worker's registered HPKE public key. The result opens the response.
 */
export async function sealQuery(workerPublicKey: Uint8Array, req: QueryRequest, signer: Signer): Promise<SealedQuery> {
  const fp = checkRecipientPublicKey(workerPublicKey);
  const nonce = crypto.getRandomValues(new Uint8Array(QUERY_NONCE_SIZE));
  const enc = encodeQuery(signer.scheme, signer.publicKey, req, nonce);
  let pt: Uint8Array;
  try {
    pt = signPlaintext(signer, enc, querySigningMessage(fp, enc));
  } finally {
    wipe(enc); // the request in clear; pt holds the only copy from here on
  }
  let s: Sealed;
  try {
    s = await seal(workerPublicKey, fp, KIND_QUERY, utf8(QUERY_INFO), pt);
  } finally {
    wipe(pt);
  }
  const secret = await s.exportSecret(RESPONSE_EXPORT_LABEL);
  const hpkeEnc = s.enc;
  return {
    envelope: s.envelope,
    nonce,
    expiry: new Date(Math.floor(req.expiry.getTime() / 1000) * 1000),
    openResponse: (response: Uint8Array) => openResponseWithSecret(secret, hpkeEnc, response),
  };
}

// --- responses ------------------------------------------------------------------

/**
 * The response key schedule (Oblivious HTTP, RFC 9458 §4.4, Veil labels):
 * prk = HKDF-Extract(salt = enc ‖ response_nonce, secret); key =
 * Expand(prk, "key", 32); nonce = Expand(prk, "nonce", 12).
 */
export function responseKeySchedule(secret: Uint8Array, enc: Uint8Array, responseNonce: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const prk = extract(sha256, secret, concatBytes(enc, responseNonce));
  const key = expand(sha256, prk, utf8('key'), 32);
  const nonce = expand(sha256, prk, utf8('nonce'), 12);
  wipe(prk);
  return { key, nonce };
}

async function aesGcm(op: 'encrypt' | 'decrypt', key: Uint8Array, iv: Uint8Array, data: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  // WebCrypto wants buffers of its own: the copies of the key (and, when
  // encrypting, of the plaintext) are wiped once it is done with them.
  const rawKey = plainBytes(key);
  const input = plainBytes(data);
  try {
    const k = await crypto.subtle.importKey('raw', rawKey, 'AES-GCM', false, [op]);
    const params = { name: 'AES-GCM', iv: plainBytes(iv), additionalData: plainBytes(aad), tagLength: 128 };
    const out = op === 'encrypt' ? await crypto.subtle.encrypt(params, k, input) : await crypto.subtle.decrypt(params, k, input);
    return new Uint8Array(out);
  } finally {
    wipe(rawKey);
    if (op === 'encrypt') wipe(input);
  }
}

/**
 * Opens a worker's response given the exported response secret and the
 * query's enc (QueryContext.OpenResponse in Go). sealQuery's result
 * calls it; exported for vectors and other implementers.
 */
export async function openResponseWithSecret(secret: Uint8Array, enc: Uint8Array, resp: Uint8Array): Promise<Uint8Array> {
  if (resp.length < RESPONSE_HEADER_SIZE + TAG_SIZE) {
    fail('ErrTruncated', `envelope truncated: response of ${resp.length} bytes, need at least ${RESPONSE_HEADER_SIZE + TAG_SIZE}`);
  }
  const n = resp.length - RESPONSE_HEADER_SIZE - TAG_SIZE;
  if (n > MAX_RESPONSE_SIZE) fail('ErrTooLarge', `response of ${n} bytes, limit ${MAX_RESPONSE_SIZE}`);
  if (resp[0] !== ENVELOPE_VERSION) fail('ErrUnsupportedVersion', `unsupported envelope format version ${resp[0]} (want ${ENVELOPE_VERSION})`);
  if (resp[1] !== KIND_RESPONSE) fail('ErrWrongKind', `wrong envelope kind: got ${kindName(resp[1])}, want response`);
  const { key, nonce } = responseKeySchedule(secret, enc, resp.subarray(2, RESPONSE_HEADER_SIZE));
  try {
    return await aesGcm('decrypt', key, nonce, resp.subarray(RESPONSE_HEADER_SIZE), resp.subarray(0, 2));
  } catch {
    return fail('ErrDecrypt', 'envelope decryption failed: response authentication failed');
  } finally {
    wipe(key);
  }
}

/** Seals a response under the exported secret with a fresh random response nonce (ResponseSealer.Seal in Go). */
export async function sealResponseWithSecret(secret: Uint8Array, enc: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  if (plaintext.length > MAX_RESPONSE_SIZE) fail('ErrTooLarge', `response of ${plaintext.length} bytes, limit ${MAX_RESPONSE_SIZE}`);
  const head = new Uint8Array(RESPONSE_HEADER_SIZE);
  head[0] = ENVELOPE_VERSION;
  head[1] = KIND_RESPONSE;
  crypto.getRandomValues(head.subarray(2));
  const { key, nonce } = responseKeySchedule(secret, enc, head.subarray(2));
  try {
    return concatBytes(head, await aesGcm('encrypt', key, nonce, plaintext, head.subarray(0, 2)));
  } finally {
    wipe(key);
  }
}

// --- recipient side (executor / worker): for vectors, tests, other implementers ---

class Decoder {
  private off = 0;
  constructor(private readonly b: Uint8Array) {}
  get remaining(): number {
    return this.b.length - this.off;
  }
  bytes(n: number, what: string): Uint8Array {
    if (this.remaining < n) fail('ErrMalformed', `malformed envelope: ${what} needs ${n} bytes, ${this.remaining} left`);
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u16(what: string): number {
    const b = this.bytes(2, what);
    return (b[0] << 8) | b[1];
  }
  u32(what: string): number {
    const b = this.bytes(4, what);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }
  u64(what: string): bigint {
    const b = this.bytes(8, what);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  }
  caller(): { scheme: Scheme; publicKey: Uint8Array } {
    const sb = this.bytes(1, 'scheme')[0];
    const key = this.bytes(32, 'caller').slice();
    const scheme: Scheme | undefined = sb === 1 ? 'sr25519' : sb === 2 ? 'ed25519' : undefined;
    if (!scheme) return fail('ErrMalformed', `malformed envelope: unknown signature scheme: scheme byte ${sb}`);
    if (scheme === 'sr25519') {
      // Go's keys.NewPublicKey: a canonical Ristretto point, not the identity.
      let ok = !key.every((b) => b === 0);
      try {
        ristretto255.Point.fromBytes(key);
      } catch {
        ok = false;
      }
      if (!ok) fail('ErrBadSignature', 'bad caller signature: caller key: not a valid sr25519 point');
    }
    return { scheme, publicKey: key };
  }
  method(): string {
    const n = this.u16('method length');
    if (n > MAX_METHOD_SIZE) fail('ErrInvalidMethod', `invalid method name: method of ${n} bytes, limit ${MAX_METHOD_SIZE}`);
    const b = checkMethodBytes(this.bytes(n, 'method'));
    return String.fromCharCode(...b);
  }
  args(limit: number): Uint8Array {
    const n = this.u32('args length');
    if (n > limit) fail('ErrTooLarge', `args of ${n} bytes, limit ${limit}`);
    return this.bytes(n, 'args').slice();
  }
}

/** A call whose envelope decrypted, whose signature verified and whose contract id is the opener's (nonce not checked). */
export interface VerifiedCall {
  scheme: Scheme;
  caller: Uint8Array;
  contractId: Uint8Array;
  nonce: bigint;
  method: string;
  args: Uint8Array;
  signature: Uint8Array;
  /** The canonical call encoding that was signed. */
  encoded: Uint8Array;
}

/** Decodes a command plaintext (call ‖ signature) exactly, without verifying the signature. */
export function decodeSignedCall(pt: Uint8Array): VerifiedCall {
  const d = new Decoder(pt);
  const c = d.caller();
  const contractId = d.bytes(CONTRACT_ID_SIZE, 'contract id').slice();
  const nonce = d.u64('nonce');
  const method = d.method();
  const args = d.args(MAX_COMMAND_ARGS_SIZE);
  const signature = d.bytes(SIGNATURE_SIZE, 'signature').slice();
  if (d.remaining !== 0) fail('ErrMalformed', `malformed envelope: ${d.remaining} trailing bytes after the signature`);
  return { scheme: c.scheme, caller: c.publicKey, contractId, nonce, method, args, signature, encoded: pt.slice(0, pt.length - SIGNATURE_SIZE) };
}

/**
 * Opens a command envelope addressed to contract contractId with the
 * contract's HPKE private key, checking (in Go's order) the header, the
 * key id, decryption (which binds the contract id through the info), the
 * encoding, the contract id in the call, and the caller's signature.
 */
export async function openCommand(contractPrivateKey: Uint8Array | RecipientKey, contractId: Uint8Array, env: Uint8Array): Promise<VerifiedCall> {
  checkContractId(contractId);
  const key = await asRecipient(contractPrivateKey);
  const o = await open(key, KIND_COMMAND, commandInfo(contractId), env, MAX_COMMAND_PLAINTEXT);
  const vc = decodeSignedCall(o.pt);
  if (!bytesEqual(vc.contractId, contractId)) {
    fail('ErrWrongContract', `call is for another contract: call names ${toHex(vc.contractId)}, opened by ${toHex(contractId)}`);
  }
  if (!verifySignature(vc.scheme, vc.caller, callSigningMessage(vc.encoded), vc.signature)) {
    fail('ErrBadSignature', `bad caller signature: call by ${vc.scheme}:0x${toHex(vc.caller)}`);
  }
  return vc;
}

/** A query whose envelope decrypted, whose signature verified and whose expiry is within the window (replays not checked). */
export interface VerifiedQuery {
  scheme: Scheme;
  caller: Uint8Array;
  contractId: Uint8Array;
  nonce: Uint8Array;
  expiry: Date;
  /** The expiry as sent, in Unix seconds (exact even where Date cannot represent it). */
  expirySeconds: bigint;
  method: string;
  args: Uint8Array;
  signature: Uint8Array;
  encoded: Uint8Array;
}

/** Decodes a query plaintext exactly, without verifying signature or expiry. */
export function decodeSignedQuery(pt: Uint8Array): VerifiedQuery {
  const d = new Decoder(pt);
  const c = d.caller();
  const contractId = d.bytes(CONTRACT_ID_SIZE, 'contract id').slice();
  const nonce = d.bytes(QUERY_NONCE_SIZE, 'nonce').slice();
  const exp = d.u64('expiry');
  const method = d.method();
  const args = d.args(MAX_QUERY_ARGS_SIZE);
  const signature = d.bytes(SIGNATURE_SIZE, 'signature').slice();
  if (d.remaining !== 0) fail('ErrMalformed', `malformed envelope: ${d.remaining} trailing bytes after the signature`);
  if (exp === 0n || exp > (1n << 63n) - 1n) fail('ErrMalformed', `malformed envelope: expiry ${exp} out of range`);
  return {
    scheme: c.scheme,
    caller: c.publicKey,
    contractId,
    nonce,
    expiry: new Date(Number(exp) * 1000),
    expirySeconds: exp,
    method,
    args,
    signature,
    encoded: pt.slice(0, pt.length - SIGNATURE_SIZE),
  };
}

/**
 * Opens a query envelope with the worker's HPKE private key at time now,
 * checking the header, key id, decryption, encoding, the expiry window
 * (now < expiry ≤ now + 600 s, whole seconds) and the caller's signature
 * over the request and this worker's key. Returns the request, the
 * sealer of its response, and the exported response secret and enc (what
 * a client needs to open the response: for vectors and tests).
 */
export async function openQuery(
  workerPrivateKey: Uint8Array | RecipientKey,
  env: Uint8Array,
  now: Date = new Date(),
): Promise<{ query: VerifiedQuery; responseSecret: Uint8Array; enc: Uint8Array; sealResponse(plaintext: Uint8Array): Promise<Uint8Array> }> {
  const key = await asRecipient(workerPrivateKey);
  const o = await open(key, KIND_QUERY, utf8(QUERY_INFO), env, MAX_QUERY_PLAINTEXT);
  const q = decodeSignedQuery(o.pt);
  const e = q.expirySeconds;
  const n = BigInt(Math.floor(now.getTime() / 1000));
  if (e <= n) fail('ErrExpired', `query expired: expiry ${e}, now ${n}`);
  if (e - n > BigInt(MAX_QUERY_LIFETIME_SECONDS)) {
    fail('ErrExpiryTooFar', `query expiry too far in the future: expiry ${e} is ${e - n}s ahead, limit ${MAX_QUERY_LIFETIME_SECONDS}s`);
  }
  if (!verifySignature(q.scheme, q.caller, querySigningMessage(o.fingerprint, q.encoded), q.signature)) {
    fail('ErrBadSignature', `bad caller signature: query by ${q.scheme}:0x${toHex(q.caller)}`);
  }
  const secret = await o.exportSecret(RESPONSE_EXPORT_LABEL);
  return { query: q, responseSecret: secret, enc: o.enc, sealResponse: (pt: Uint8Array) => sealResponseWithSecret(secret, o.enc, pt) };
}
