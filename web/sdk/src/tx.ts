// Transactions, byte for byte as the Go side (chain/auth Encode,
// client.BuildTx / SignWithMinimumFee, docs/transactions.md):
//
//   Tx     { bytes body = 1; SignatureScheme scheme = 2; bytes public_key = 3; bytes signature = 4; }
//   TxBody { string chain_id = 1; bytes sender = 2; uint64 nonce = 3; string fee = 4;
//            uint64 expiry_height = 5; repeated google.protobuf.Any messages = 6; string memo = 7; }
//
// The signature covers "veil/tx/v1\0" ‖ body bytes; the chain never
// re-encodes the body, so what matters is that these bytes are valid
// protobuf it decodes to the same body — and, for the interop vectors,
// that they equal Go's proto.Marshal output: protobuf-es writes fields in
// field-number order and omits proto3 defaults, as Go does. Messages are
// packed in Any with the type URL "/" + full name (chain/types.TypeURL,
// Cosmos style — not anypb's "type.googleapis.com/" prefix).

import { create, createRegistry, fromBinary, toBinary, type DescMessage, type Message, type Registry } from '@bufbuild/protobuf';
import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { sha256 } from '@noble/hashes/sha2.js';
import { file_veil_bank_v1_bank } from './gen/veil/bank/v1/bank_pb.js';
import { file_veil_compute_v1_compute } from './gen/veil/compute/v1/compute_pb.js';
import { file_veil_contracts_v1_contracts } from './gen/veil/contracts/v1/contracts_pb.js';
import { file_veil_mq_v1_mq } from './gen/veil/mq/v1/mq_pb.js';
import { file_veil_registry_v1_registry } from './gen/veil/registry/v1/registry_pb.js';
import { file_veil_staking_v1_staking } from './gen/veil/staking/v1/staking_pb.js';
import { file_veil_sudo_v1_sudo } from './gen/veil/sudo/v1/sudo_pb.js';
import { SignatureScheme, TxBodySchema, TxSchema, type Tx, type TxBody } from './gen/veil/tx/v1/tx_pb.js';
import { MAX_AMOUNT } from './amount.js';
import { concatBytes, utf8 } from './bytes.js';
import { VeilError } from './errors.js';
import type { Scheme, Signer } from './keys.js';

/** The domain tag in front of the body bytes in a transaction's signing message. */
export const TX_SIGN_DOMAIN = 'veil/tx/v1\u0000';

/** How long a transaction built by the SDK stays valid (as Go's client.DefaultExpiryBlocks). */
export const DEFAULT_EXPIRY_BLOCKS = 200;

/** A message already packed for a transaction body: what google.protobuf.Any holds. */
export interface PackedMessage {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

/** Anything buildTx accepts as a message: a protobuf-es message of a known module, or a packed one. */
export type TxMessage = Message | PackedMessage;

// Every module that defines transaction messages. The descriptors are a few
// kilobytes in all; with them any generated message can be packed without
// the caller handing over its schema.
let registry: Registry = /* @__PURE__ */ createRegistry(
  file_veil_bank_v1_bank,
  file_veil_compute_v1_compute,
  file_veil_contracts_v1_contracts,
  file_veil_mq_v1_mq,
  file_veil_registry_v1_registry,
  file_veil_staking_v1_staking,
  file_veil_sudo_v1_sudo,
);

/** Makes messages of more schemas packable by buildTx (for a module added later). */
export function registerMessageTypes(...types: DescMessage[]): void {
  registry = createRegistry(registry, ...types);
}

/** The Any type URL of a message type: "/" + its full protobuf name, as chain/types.TypeURL. */
export function typeUrlOf(typeName: string): string {
  return '/' + typeName;
}

function isPacked(m: TxMessage): m is PackedMessage {
  return typeof (m as PackedMessage).typeUrl === 'string' && (m as PackedMessage).value instanceof Uint8Array && !('$typeName' in m);
}

/** Packs a message of schema (encoded as Go's deterministic proto.Marshal would). */
export function packMessage<Desc extends DescMessage>(schema: Desc, message: Message): PackedMessage {
  return { typeUrl: typeUrlOf(schema.typeName), value: toBinary(schema, message as never) };
}

/** Packs a message for a body: a PackedMessage as is, a protobuf-es message by its registered schema. */
export function toAny(m: TxMessage): Any {
  if (isPacked(m)) return create(AnySchema, { typeUrl: m.typeUrl, value: m.value });
  const name = (m as Message).$typeName;
  const schema = name ? registry.getMessage(name) : undefined;
  if (!schema) {
    throw new VeilError(
      `cannot pack message ${name ?? '(not a protobuf-es message)'}: unknown type; use packMessage(schema, message) or registerMessageTypes(schema)`,
    );
  }
  const p = packMessage(schema, m as Message);
  return create(AnySchema, { typeUrl: p.typeUrl, value: p.value });
}

/** The fields of a body the caller chooses; encodeTxBody fills in the rest. */
export interface TxBodyFields {
  chainId: string;
  sender: Uint8Array;
  nonce: bigint;
  fee: bigint | string;
  expiryHeight: bigint;
  messages: TxMessage[];
  memo?: string;
}

function feeString(fee: bigint | string): string {
  if (typeof fee !== 'bigint' && (typeof fee !== 'string' || !/^(0|[1-9][0-9]*)$/.test(fee))) {
    throw new VeilError(`fee ${JSON.stringify(String(fee)).slice(0, 60)} is not a decimal amount of planck`);
  }
  const f = BigInt(fee);
  if (f < 0n || f > MAX_AMOUNT) throw new VeilError(`fee ${f} is outside the u128 range`);
  return f.toString();
}

/** The TxBody message of fields. */
export function txBody(fields: TxBodyFields): TxBody {
  return create(TxBodySchema, {
    chainId: fields.chainId,
    sender: fields.sender,
    nonce: fields.nonce,
    fee: feeString(fields.fee),
    expiryHeight: fields.expiryHeight,
    messages: fields.messages.map(toAny),
    memo: fields.memo ?? '',
  });
}

/** Serialized TxBody (equal to Go's proto.MarshalOptions{Deterministic: true}.Marshal). */
export function encodeTxBody(fields: TxBodyFields | TxBody): Uint8Array {
  const body = '$typeName' in fields ? fields : txBody(fields);
  return toBinary(TxBodySchema, body);
}

/** The exact message a transaction signature covers: "veil/tx/v1\0" ‖ body. */
export function txSignBytes(body: Uint8Array): Uint8Array {
  return concatBytes(utf8(TX_SIGN_DOMAIN), body);
}

function schemeToProto(s: Scheme): SignatureScheme {
  if (s === 'sr25519') return SignatureScheme.SR25519;
  if (s === 'ed25519') return SignatureScheme.ED25519;
  throw new VeilError(`unknown signature scheme ${String(s)}`);
}

/** Serialized Tx envelope of body bytes with signature by a key of scheme. */
export function encodeTxEnvelope(body: Uint8Array, scheme: Scheme, publicKey: Uint8Array, signature: Uint8Array): Uint8Array {
  return toBinary(TxSchema, create(TxSchema, { body, scheme: schemeToProto(scheme), publicKey, signature }));
}

/** Signs body bytes with signer and returns the serialized Tx (as chain/auth.Encode). */
export function signTx(body: Uint8Array, signer: Signer): Uint8Array {
  const sig = signer.sign(txSignBytes(body));
  if (sig.length !== 64) throw new VeilError(`signer returned a ${sig.length}-byte signature, want 64`);
  return encodeTxEnvelope(body, signer.scheme, signer.publicKey, sig);
}

/** The transaction hash: SHA-256 of the envelope bytes (CometBFT's). */
export function txHash(raw: Uint8Array): Uint8Array {
  return sha256(raw);
}

/** The chain's fee parameters, as GetStatus reports them. */
export interface FeeParams {
  feePerByte: string;
  feePerMessage: string;
  messageWeights: { [typeUrl: string]: bigint };
}

function parseU128(s: string, what: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new VeilError(`node reports ${what} ${JSON.stringify(s)}, not a decimal amount`);
  const v = BigInt(s);
  if (v > MAX_AMOUNT) throw new VeilError(`node reports ${what} ${s}, beyond u128`);
  return v;
}

/**
 * The fee the chain requires: len(tx bytes) × fee_per_byte + Σ weight ×
 * fee_per_message. Throws when the node does not know a message type.
 */
export function requiredFee(params: FeeParams, txLength: number, typeUrls: string[]): bigint {
  const perByte = parseU128(params.feePerByte, 'fee_per_byte');
  const perMsg = parseU128(params.feePerMessage, 'fee_per_message');
  let weight = 0n;
  for (const u of typeUrls) {
    // Own properties only: "constructor" and the like are not message types.
    const w = Object.hasOwn(params.messageWeights, u) ? params.messageWeights[u] : undefined;
    if (w === undefined) throw new VeilError(`the node does not know message type ${u}`);
    weight += BigInt(w);
  }
  const fee = perByte * BigInt(txLength) + perMsg * weight;
  if (fee > MAX_AMOUNT) throw new VeilError('fee overflows');
  return fee;
}

/**
 * Sets the body's fee to the chain's minimum and signs it, as Go's
 * SignWithMinimumFee: the fee depends on the signed size, which depends
 * on the fee's digits, so it iterates (at most 4 rounds) to the fixed
 * point, starting from "0". The size of each candidate is measured with a
 * placeholder signature (every signature is 64 bytes, so the size is the
 * same) and the signer is asked once, for the final body: a wallet that
 * asks its user to approve each signature is asked once, and the result
 * is the same transaction Go builds (bytes equal up to sr25519's random
 * signature).
 */
export function signWithMinimumFee(fields: Omit<TxBodyFields, 'fee'>, signer: Signer, params: FeeParams): { bytes: Uint8Array; fee: bigint } {
  const body = txBody({ ...fields, fee: 0n });
  const typeUrls = body.messages.map((m) => m.typeUrl);
  const placeholder = new Uint8Array(64);
  let fee = 0n;
  for (let round = 0; round < 4; round++) {
    const bodyBytes = toBinary(TxBodySchema, body);
    const size = encodeTxEnvelope(bodyBytes, signer.scheme, signer.publicKey, placeholder).length;
    const need = requiredFee(params, size, typeUrls);
    if (fee >= need) return { bytes: signTx(bodyBytes, signer), fee };
    fee = need;
    body.fee = fee.toString();
  }
  throw new VeilError('fee did not converge');
}

/** A decoded transaction envelope. */
export interface DecodedTx {
  body: TxBody;
  bodyBytes: Uint8Array;
  scheme: Scheme | 'unspecified';
  publicKey: Uint8Array;
  signature: Uint8Array;
  /** The messages, decoded when their type is known (else undefined at that index). */
  messages: (Message | undefined)[];
}

/**
 * Decodes a raw transaction (e.g. from GetBlock's txs) for display. Does
 * not verify the signature. Bytes that are not a transaction are a
 * VeilError saying so.
 */
export function decodeTx(raw: Uint8Array): DecodedTx {
  let tx: Tx;
  let body: TxBody;
  try {
    tx = fromBinary(TxSchema, raw);
    body = fromBinary(TxBodySchema, tx.body);
  } catch (e) {
    throw new VeilError(`not a Veil transaction: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const scheme = tx.scheme === SignatureScheme.SR25519 ? 'sr25519' : tx.scheme === SignatureScheme.ED25519 ? 'ed25519' : 'unspecified';
  const messages = body.messages.map((a) => {
    const schema = a.typeUrl.startsWith('/') ? registry.getMessage(a.typeUrl.slice(1)) : undefined;
    if (!schema) return undefined;
    try {
      return fromBinary(schema, a.value) as Message;
    } catch {
      return undefined;
    }
  });
  return { body, bodyBytes: tx.body, scheme, publicKey: tx.publicKey, signature: tx.signature, messages };
}
