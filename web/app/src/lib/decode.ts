// Transaction decoding for the explorer: the SDK's decodeTx opens the
// signed envelope, the body and each google.protobuf.Any with the
// generated descriptors of every Veil module; this module turns the
// decoded messages into display values by walking their fields, so a new
// message type shows up without UI changes. Only the explorer chunk
// imports it.
import { decodeTx as sdkDecodeTx, encodeAddress, toHex } from '@veil-network/sdk';

/** A decoded field value, ready to render. */
export type Value =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; hex: string; size: number; address?: string }
  | { kind: 'message'; type: string; fields: Field[] }
  | { kind: 'list'; items: Value[] };

export interface Field {
  name: string;
  value: Value;
}

export interface DecodedMessage {
  /** Full protobuf type name, e.g. "veil.contracts.v1.MsgPushCommand". */
  type: string;
  /** "MsgPushCommand". */
  short: string;
  fields: Field[];
  /** Set for MsgPushCommand: the sealed command, exactly as stored on chain. */
  push?: { contractId: string; envelope: Uint8Array };
  /** The type URL when it could not be decoded. */
  unknown?: string;
}

export interface DecodedTx {
  sender: string;
  scheme: string;
  nonce: bigint;
  fee: string;
  expiry: bigint;
  memo: string;
  messages: DecodedMessage[];
  size: number;
}

/** Field names whose 32-byte values are accounts, shown as SS58 addresses. */
const ACCOUNT_FIELDS = new Set(['to', 'sender', 'account', 'targets', 'caller', 'deployer', 'recipient', 'who', 'operator', 'owner']);

/** protobuf-es localName (camelCase) → proto field name (snake_case), as docs and the CLI spell them. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function valueOf(name: string, v: unknown, ss58: number): Value | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Uint8Array) {
    const out: Value = { kind: 'bytes', hex: toHex(v), size: v.length };
    if (v.length === 32 && ACCOUNT_FIELDS.has(name)) out.address = encodeAddress(v, ss58);
    return out;
  }
  if (Array.isArray(v)) {
    return { kind: 'list', items: v.map((x) => valueOf(name, x, ss58)).filter((x): x is Value => x !== undefined) };
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$typeName === 'string') return { kind: 'message', type: o.$typeName, fields: fieldsOf(o, ss58) };
    // A oneof: { case, value }.
    if ('case' in o) {
      if (o.case === undefined) return undefined;
      const inner = valueOf(String(o.case), o.value, ss58);
      return inner && { kind: 'message', type: String(o.case), fields: [{ name: snake(String(o.case)), value: inner }] };
    }
    return { kind: 'text', text: JSON.stringify(o, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) };
  }
  if (typeof v === 'string') return { kind: 'text', text: JSON.stringify(v) };
  return { kind: 'text', text: String(v) };
}

function fieldsOf(msg: Record<string, unknown>, ss58: number): Field[] {
  const out: Field[] = [];
  for (const [k, v] of Object.entries(msg)) {
    if (k === '$typeName' || k === '$unknown') continue;
    const name = snake(k);
    const value = valueOf(name, v, ss58);
    if (value) out.push({ name, value });
  }
  return out;
}

/** Decodes one raw transaction as it is stored in a block. */
export function decodeTx(raw: Uint8Array, ss58: number): DecodedTx {
  const d = sdkDecodeTx(raw);
  const messages: DecodedMessage[] = d.body.messages.map((any, i) => {
    const type = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
    const short = type.slice(type.lastIndexOf('.') + 1);
    const m = d.messages[i] as unknown as Record<string, unknown> | undefined;
    if (!m) return { type, short, fields: [], unknown: any.typeUrl };
    const out: DecodedMessage = { type, short, fields: fieldsOf(m, ss58) };
    if (type === 'veil.contracts.v1.MsgPushCommand' && m.contractId instanceof Uint8Array && m.envelope instanceof Uint8Array) {
      out.push = { contractId: toHex(m.contractId), envelope: m.envelope };
    }
    return out;
  });
  return {
    sender: encodeAddress(d.body.sender, ss58),
    scheme: d.scheme,
    nonce: d.body.nonce,
    fee: d.body.fee,
    expiry: d.body.expiryHeight,
    memo: d.body.memo,
    messages,
    size: raw.length,
  };
}

/**
 * The block proposer's randomness proof: not a signed transaction but
 * Magic "\0veil-vrf/v1\0" ‖ VRFProof{int64 height = 1; bytes proof = 2}
 * (chain/randomness/proof.go), always a block's first transaction.
 */
export interface ProofTx {
  height: bigint;
  proof: Uint8Array;
}

const PROOF_MAGIC = new TextEncoder().encode('\u0000veil-vrf/v1\u0000');

function varint(b: Uint8Array, i: number): [bigint, number] {
  let v = 0n;
  for (let shift = 0n; i < b.length && shift < 70n; shift += 7n) {
    const x = b[i++];
    v |= BigInt(x & 0x7f) << shift;
    if (x < 0x80) return [v, i];
  }
  throw new Error('truncated varint');
}

/** Decodes a proof transaction, or returns null for anything else. */
export function decodeProofTx(raw: Uint8Array): ProofTx | null {
  if (raw.length < PROOF_MAGIC.length || PROOF_MAGIC.some((x, i) => raw[i] !== x)) return null;
  const out: ProofTx = { height: 0n, proof: new Uint8Array() };
  let i = PROOF_MAGIC.length;
  while (i < raw.length) {
    const [tag, j] = varint(raw, i);
    i = j;
    if (tag === 0x08n) {
      [out.height, i] = varint(raw, i);
    } else if (tag === 0x12n) {
      const [n, k] = varint(raw, i);
      out.proof = raw.slice(k, k + Number(n));
      i = k + Number(n);
    } else {
      return null;
    }
  }
  return out;
}
