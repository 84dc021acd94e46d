// Confidential contracts, as the Go client (client/contracts.go): deploy,
// call (an encrypted command through the chain), query (encrypted, straight
// to an assigned worker), receipts and deposits. The chain sees only
// ciphertext: commands are sealed to the contract's HPKE key (published on
// chain by a gatekeeper), queries to the worker's HPKE key as registered on
// chain (never a key the worker's URL hands out), and answers come back
// sealed to a key only this client can derive (docs/envelopes.md).

import { create } from '@bufbuild/protobuf';
import { base64 } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { MsgDepositSchema, MsgInstantiateSchema, MsgPushCommandSchema, MsgUploadCodeSchema } from './gen/veil/contracts/v1/contracts_pb.js';
import type { TxResult } from './gen/veil/node/v1/node_pb.js';
import { ContractService } from './gen/veil/worker/v1/worker_pb.js';
import { concatBytes, fromHex, fromUtf8, toHex, utf8 } from './bytes.js';
import { finiteMs, sleep, translateError, type VeilClient } from './client.js';
import { sealCommand, sealQuery, XWING_PUBLIC_KEY_SIZE, MAX_QUERY_LIFETIME_SECONDS, MAX_RESPONSE_SIZE } from './envelope.js';
import { AmountError, ContractError, JSONParseError, NetworkError, NodeError, VeilError } from './errors.js';
import type { Signer } from './keys.js';
import { MAX_AMOUNT } from './amount.js';
import { encodeAddress } from './ss58.js';
import { parseJSON, stringifyJSON } from './json.js';
import { serviceClient, type ServiceClient } from './rpc.js';

/** A contract as the chain's "contracts/contract" query returns it. */
export interface ContractInfo {
  /** 0x-prefixed hex, as the chain prints it. */
  id: string;
  code_hash: string;
  deployer: string;
  /** The contract's on-chain account (SS58). */
  account: string;
  replicas: number;
  label: string;
  instantiated_at: number;
  key_epoch: number;
  /** The key commands are sealed to (base64); empty until a gatekeeper publishes the keys. */
  hpke_public_key: string;
  signing_public_key: string;
  /** Set once a gatekeeper has published the contract's keys (hpke_public_key is then present). */
  keys_published: boolean;
  /** Assigned workers' identities (0x hex). */
  workers: string[];
  history?: { height: number; workers: string[]; reason: string }[];
  next_sequence: number;
}

/**
 * What an assigned worker reports about an executed command
 * (worker/executor Receipt). Parsed with parseJSON: integers beyond 2^53−1
 * in `result` and in event data (u64 amounts, e.g. a secret-wallet
 * balance in planck) are bigints, smaller ones numbers.
 */
export interface Receipt {
  /** The command's position in the contract's log: one per command, so never near 2^53. */
  sequence: number;
  /** The block the command was included in. */
  height: number;
  status: 'ok' | 'reverted' | 'failed' | 'rejected';
  /** The method's JSON result. */
  result?: unknown;
  error?: string;
  events?: { topic: string; data: unknown }[];
  /**
   * Gas the call used: at most the worker's per-call limit, 10^9 by
   * default but configurable up to 2^62 (worker/runtime Config), so a
   * bigint when beyond 2^53−1.
   */
  gas_used: number | bigint;
}

/** A submitted command. */
export interface CallResult {
  txHash: Uint8Array;
  height: bigint;
  /** The command's position in the contract's log (what its receipt is read by). */
  sequence: bigint;
  /** What the transaction cost (planck, decimal). */
  fee: string;
  /** The sealed command as it went on chain. */
  envelope: Uint8Array;
  /** Set when waited for. */
  receipt?: Receipt;
}

/** Progress of a call, for UIs. */
export type CallStage = 'sealing' | 'submitted' | 'included' | 'executed';

/** Options of Contracts. */
export interface ContractsOptions {
  /** Worker API URLs by identity (64 hex digits, no 0x, lower case), e.g. from network.json. */
  workers?: Record<string, string>;
  /** How long a query keeps asking while every assigned worker answers not_ready (default 15 000 ms; 0: do not wait). */
  readyWaitMs?: number;
  /** Polling interval for keys and receipts (default 200 ms). */
  pollMs?: number;
  /** Expiry of sealed queries (default 60 000 ms, at most 600 000). */
  queryLifetimeMs?: number;
}

const CONTRACTS_MODULE = 'contracts';
const EVENT_CONTRACT_COMMAND = 'contract_command';
const EVENT_CONTRACT_DEPOSIT = 'contract_deposit';
const RECEIPT_METHOD = 'veil.receipt';
const MAX_QUERY_LIMIT = 1000;
const CONTRACT_ID_DOMAIN = 'veil/contract-id/v1\u0000';
const CONTRACT_ACCOUNT_DOMAIN = 'veil/contract-account/v1\u0000';
const CODE_RECORD_PREFIX = 'contracts/coderec/';
const U64_MAX = (1n << 64n) - 1n;
// A worker's Query answer is one sealed response (≤ 4 MiB of plaintext)
// in a protobuf message; anything much larger is refused while it
// downloads, before it is buffered whole.
const MAX_WORKER_ANSWER_BYTES = MAX_RESPONSE_SIZE + (64 << 10);

/** 64 lower-case hex digits without 0x, from any of the forms ids are written in. */
function normHex(s: string): string {
  return s.trim().replace(/^0[xX]/, '').toLowerCase();
}

/** Parses a contract id (64 hex digits, with or without 0x). */
export function parseContractId(id: string): Uint8Array {
  const h = normHex(String(id));
  if (!/^[0-9a-f]{64}$/.test(h)) throw new VeilError(`contract id must be 64 hex digits, got ${JSON.stringify(String(id)).slice(0, 80)}`);
  return fromHex(h);
}

/**
 * The id the chain gives an instance: SHA-256("veil/contract-id/v1\0" ‖
 * deployer ‖ code_hash ‖ salt), as 64 hex digits. Known before the
 * instantiation commits.
 */
export function contractIdFor(deployer: Uint8Array, codeHash: Uint8Array, salt: Uint8Array): string {
  if (deployer.length !== 32 || codeHash.length !== 32) throw new VeilError('contractIdFor: deployer and code hash are 32 bytes');
  return toHex(sha256(concatBytes(utf8(CONTRACT_ID_DOMAIN), deployer, codeHash, salt)));
}

/** The contract's on-chain account id: SHA-256("veil/contract-account/v1\0" ‖ id). */
export function contractAccountId(id: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8(CONTRACT_ACCOUNT_DOMAIN), id));
}

/** The state key of a stored module's code record (chain/contracts CodeRecordKey). */
export function codeRecordKey(codeHash: Uint8Array): Uint8Array {
  return concatBytes(utf8(CODE_RECORD_PREFIX), codeHash);
}

/**
 * Checks the fields of a node's contract record this client relies on
 * (id, workers, the HPKE key), so a malformed answer is a clear VeilError
 * rather than a TypeError deep inside a call.
 */
function checkContractInfo(ci: unknown, what: string): ContractInfo {
  const c = ci as ContractInfo;
  const bad = (field: string) => new VeilError(`${what}: the node's contract record has no valid ${field}`);
  if (!c || typeof c !== 'object') throw new VeilError(`${what}: the node's answer is not a contract record`);
  if (typeof c.id !== 'string') throw bad('id');
  if (c.workers == null) c.workers = [];
  if (!Array.isArray(c.workers) || !c.workers.every((w) => typeof w === 'string')) throw bad('workers list');
  if (c.hpke_public_key != null && typeof c.hpke_public_key !== 'string') throw bad('hpke_public_key');
  if (c.keys_published == null) c.keys_published = false;
  if (typeof c.keys_published !== 'boolean') throw bad('keys_published');
  return c;
}

/** Whether a contract's keys are published, i.e. it accepts commands. */
export function contractReady(ci: ContractInfo): boolean {
  return ci.keys_published === true;
}

/** The contract's published HPKE public key (base64, as the chain's record carries it). */
export function commandKey(ci: ContractInfo): Uint8Array {
  if (!ci.hpke_public_key) {
    throw new ContractError('not_ready', `contract ${normHex(ci.id)} has no published keys yet (a gatekeeper publishes them a few blocks after instantiation)`);
  }
  let b: Uint8Array;
  try {
    b = base64.decode(ci.hpke_public_key);
  } catch {
    throw new VeilError(`contract ${normHex(ci.id)}: HPKE public key is not base64`);
  }
  if (b.length !== XWING_PUBLIC_KEY_SIZE) throw new VeilError(`contract ${normHex(ci.id)}: HPKE public key is ${b.length} bytes, want ${XWING_PUBLIC_KEY_SIZE}`);
  return b;
}

/**
 * Encodes contract arguments: a Uint8Array as is, undefined as none, any
 * other value as JSON. BigInts become JSON numbers with all their digits
 * (contracts read u64 amounts that JS numbers cannot hold).
 */
export function encodeArgs(args: unknown): Uint8Array {
  if (args === undefined) return new Uint8Array();
  if (args instanceof Uint8Array) return args;
  const json = stringifyJSON(args);
  if (json === undefined) throw new VeilError('contract arguments are not JSON-encodable');
  return utf8(json);
}

/** Reads the log sequence of the first event of type typ for contract idHex in a committed result. */
function eventSequence(res: TxResult, typ: string, idHex: string): bigint {
  for (const e of res.events) {
    if (e.type !== typ) continue;
    let seq = '';
    let match = true;
    for (const a of e.attributes) {
      if (a.key === 'sequence') seq = a.value;
      else if (a.key === 'contract') match = normHex(a.value) === idHex;
    }
    if (!match || seq === '') continue;
    if (!/^[0-9]{1,20}$/.test(seq) || BigInt(seq) > U64_MAX) {
      throw new VeilError(`${typ} event: sequence ${JSON.stringify(seq.slice(0, 40))} is not a u64`);
    }
    return BigInt(seq);
  }
  throw new VeilError(`transaction ${toHex(res.hash).toUpperCase()} committed without a ${typ} event for contract ${idHex}`);
}

interface Answer {
  ok?: boolean;
  result?: unknown;
  code?: string;
  error?: string;
}

/**
 * A worker's answer plaintext: {"ok":true,"result":…} → result (null when
 * absent), {"ok":false,"code":…,"error":…} → ContractError, as Go's
 * decodeAnswer. The types are checked as Go's json.Unmarshal does.
 * parseJSON keeps u64 integers exact (bigint beyond 2^53−1) and its
 * errors give only the position, never the (confidential) plaintext.
 */
function decodeAnswer(pt: Uint8Array): unknown {
  let text: string;
  try {
    text = fromUtf8(pt);
  } catch {
    throw new VeilError(`malformed answer from worker: ${pt.length} bytes that are not UTF-8 JSON (invalid UTF-8)`);
  }
  let a: Answer;
  try {
    a = parseJSON(text) as Answer;
  } catch (e) {
    const why = e instanceof JSONParseError ? ` (${e.message})` : '';
    throw new VeilError(`malformed answer from worker: ${pt.length} bytes that are not UTF-8 JSON${why}`, { cause: e });
  }
  if (!a || typeof a !== 'object' || Array.isArray(a)) throw new VeilError('malformed answer from worker: not a JSON object');
  for (const [k, t] of [['ok', 'boolean'], ['code', 'string'], ['error', 'string']] as const) {
    if (a[k] != null && typeof a[k] !== t) throw new VeilError(`malformed answer from worker: "${k}" is not a ${t}`);
  }
  if (!a.ok) throw new ContractError(a.code || 'failed', a.error ?? '');
  return a.result === undefined ? null : a.result;
}

/**
 * A receipt as a worker returns it, checked field by field (Go decodes it
 * into a typed struct): sequence and height are u64s that cannot reach
 * 2^53 on a real chain, so a larger one is refused rather than typed
 * number | bigint for every caller; gas_used is a u64 up to 2^62.
 */
function decodeReceipt(v: unknown): Receipt {
  const r = v as Receipt;
  const bad = (field: string) => new VeilError(`malformed receipt from worker: ${field}`);
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad('not a JSON object');
  if (typeof r.status !== 'string' || !r.status) throw bad('no status');
  for (const k of ['sequence', 'height'] as const) {
    const x: unknown = r[k] ?? 0;
    if (typeof x === 'bigint' && x > 0n && x <= U64_MAX) throw bad(`"${k}" ${x} is beyond 2^53-1, more than any chain reaches`);
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw bad(`"${k}" is not a non-negative integer`);
    r[k] = x;
  }
  const gas: unknown = r.gas_used ?? 0;
  const gasOk = typeof gas === 'bigint' ? gas >= 0n && gas <= U64_MAX : typeof gas === 'number' && Number.isSafeInteger(gas) && gas >= 0;
  if (!gasOk) throw bad('"gas_used" is not a non-negative integer');
  r.gas_used = gas as number | bigint;
  if (r.error != null && typeof r.error !== 'string') throw bad('"error" is not a string');
  if (r.events != null && !Array.isArray(r.events)) throw bad('"events" is not a list');
  return r;
}

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  if (typeof CompressionStream === 'undefined') throw new VeilError('this platform has no CompressionStream (gzip); use a current browser or Node 18+');
  const cs = new CompressionStream('gzip');
  const out = new Response(new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(cs));
  return new Uint8Array(await out.arrayBuffer());
}

interface Candidate {
  identity: string;
  url: string;
}

/** The confidential-contract client: a node client plus how to reach the workers. */
export class Contracts {
  readonly client: VeilClient;
  /** Worker API URLs by identity (lower-case hex, no 0x). */
  readonly workers: Map<string, string>;
  private readonly readyWaitMs: number;
  private readonly pollMs: number;
  private readonly queryLifetimeMs: number;
  private readonly workerKeys = new Map<string, Promise<Uint8Array>>();
  private readonly workerClients = new Map<string, ServiceClient<typeof ContractService>>();
  private lastNonce = 0n;

  constructor(client: VeilClient, options?: ContractsOptions) {
    this.client = client;
    this.workers = new Map(Object.entries(options?.workers ?? {}).map(([k, v]) => [normHex(k), v.replace(/\/+$/, '')]));
    this.readyWaitMs = finiteMs(options?.readyWaitMs, 15_000);
    this.pollMs = options?.pollMs && options.pollMs > 0 ? options.pollMs : 200;
    const lt = options?.queryLifetimeMs;
    this.queryLifetimeMs = lt && lt > 0 && lt <= MAX_QUERY_LIFETIME_SECONDS * 1000 ? lt : 60_000;
  }

  // --- chain reads ----------------------------------------------------------

  /** A contract's on-chain record. A missing contract is ContractError not_found. */
  async get(id: string): Promise<ContractInfo> {
    const h = toHex(parseContractId(id));
    try {
      return checkContractInfo(await this.client.queryModule<ContractInfo>(CONTRACTS_MODULE, 'contract', { id: h }), `contract ${h}`);
    } catch (e) {
      if (e instanceof NodeError && e.status === 'not_found') {
        throw new ContractError('not_found', `contract ${h} does not exist on this chain`);
      }
      throw e;
    }
  }

  /** Every contract on chain (following the query's pages). */
  async list(): Promise<ContractInfo[]> {
    const all: ContractInfo[] = [];
    let after = '';
    for (;;) {
      const args: Record<string, unknown> = { limit: MAX_QUERY_LIMIT };
      if (after) args.after = after;
      const page = await this.client.queryModule<{ contracts: ContractInfo[] | null; next: string }>(CONTRACTS_MODULE, 'contracts', args);
      const cs = page?.contracts ?? [];
      if (!Array.isArray(cs)) throw new VeilError('contract list: the node\'s answer has no contracts list');
      for (const c of cs) all.push(checkContractInfo(c, 'contract list'));
      if (!page?.next || page.next === after) return all;
      // Pages go by id, so the cursor (the page's last id) only grows; one
      // that does not, or an empty page with a cursor, would page forever.
      if (typeof page.next !== 'string' || cs.length === 0 || (after !== '' && normHex(page.next) <= normHex(after))) {
        throw new VeilError(`contract list: the node returned a page cursor that does not advance (${JSON.stringify(String(page.next).slice(0, 80))})`);
      }
      after = page.next;
    }
  }

  /** Whether the chain stores code with this hash (reads its small record, not the module). */
  async codeExists(codeHash: Uint8Array): Promise<boolean> {
    try {
      const r = await this.client.queryState(codeRecordKey(codeHash));
      return r.value.length > 0;
    } catch (e) {
      if (e instanceof NodeError && e.status === 'not_found') return false;
      throw e;
    }
  }

  /** Waits until the contract's keys are published (a gatekeeper answers within a few blocks). */
  async waitKeys(id: string, options?: { timeoutMs?: number }): Promise<ContractInfo> {
    const timeout = finiteMs(options?.timeoutMs, 120_000);
    const deadline = Date.now() + timeout;
    let last: unknown;
    for (;;) {
      try {
        const ci = await this.get(id);
        if (contractReady(ci)) return ci;
      } catch (e) {
        last = e;
      }
      if (Date.now() >= deadline) {
        const why = last instanceof Error ? ` (last error: ${last.message})` : ' (is a gatekeeper running and holding the master key?)';
        throw new ContractError('not_ready', `contract ${normHex(id)}: keys not published within ${timeout} ms${why}`);
      }
      await sleep(this.pollMs);
    }
  }

  // --- commands ---------------------------------------------------------------

  /**
   * A strictly increasing, time-based command nonce (ns since the epoch,
   * bumped when the clock has not moved): the executor accepts a caller's
   * command only above the caller's last accepted nonce, and a clock
   * value keeps that true across tabs and processes without any state.
   */
  nextCallNonce(): bigint {
    let n = BigInt(Date.now()) * 1_000_000n;
    if (n <= this.lastNonce) n = this.lastNonce + 1n;
    this.lastNonce = n;
    return n;
  }

  /**
   * Seals a command to the contract's key, submits it (MsgPushCommand,
   * waiting for its block), reads its log sequence from the
   * contract_command event and, with wait (default true), polls an
   * assigned worker for its receipt. A receipt other than ok throws
   * ContractError (its `receipt` set).
   */
  async call(
    signer: Signer,
    id: string,
    method: string,
    args?: unknown,
    options?: { wait?: boolean; onStage?: (stage: CallStage, detail?: unknown) => void },
  ): Promise<CallResult> {
    const stage = options?.onStage ?? (() => {});
    const cid = parseContractId(id);
    const idHex = toHex(cid);
    stage('sealing');
    const ci = await this.get(idHex);
    const env = await sealCommand(commandKey(ci), { contractId: cid, nonce: this.nextCallNonce(), method, args: encodeArgs(args) }, signer);
    const tx = await this.client.buildTx(signer, [create(MsgPushCommandSchema, { contractId: cid, envelope: env })]);
    stage('submitted', { txHash: tx.hash, fee: tx.fee });
    const res = await this.client.submit(tx.bytes, true);
    const sequence = eventSequence(res, EVENT_CONTRACT_COMMAND, idHex);
    const cr: CallResult = { txHash: res.hash, height: res.height, sequence, fee: res.fee, envelope: env };
    stage('included', { height: res.height, sequence });
    if (options?.wait === false) return cr;
    cr.receipt = await this.pollReceipt(signer, ci, idHex, sequence, 120_000);
    stage('executed', cr.receipt);
    if (cr.receipt.status !== 'ok') {
      const err = new ContractError(cr.receipt.status, cr.receipt.error ?? '');
      err.receipt = cr.receipt;
      throw err;
    }
    return cr;
  }

  /**
   * Moves amount (planck) from the signer's account to the contract's and
   * has the chain call the contract's deposit method with the signer as
   * caller; returns the result and the call's log sequence.
   */
  async deposit(signer: Signer, id: string, amount: bigint): Promise<{ result: TxResult; sequence: bigint }> {
    if (typeof amount !== 'bigint' || amount <= 0n || amount > MAX_AMOUNT) throw new AmountError(`deposit amount must be a positive planck amount, got ${String(amount)}`);
    const cid = parseContractId(id);
    const result = await this.client.send(signer, [create(MsgDepositSchema, { contractId: cid, amount: amount.toString() })], { wait: true });
    return { result, sequence: eventSequence(result, EVENT_CONTRACT_DEPOSIT, toHex(cid)) };
  }

  /**
   * Uploads the code (gzip, unless the chain has it already) and
   * instantiates it in one transaction, then (waitKeys, default true)
   * waits until a gatekeeper has published the contract's keys. The id is
   * known up front: contractIdFor(signer, SHA-256(wasm), salt); the same
   * code, deployer and salt give the same id, so pass a new salt to deploy
   * another instance.
   */
  async deploy(
    signer: Signer,
    wasm: Uint8Array,
    options?: { salt?: Uint8Array; initArgs?: unknown; replicas?: number; label?: string; waitKeys?: boolean },
  ): Promise<{ id: string; address: string; codeHash: string; uploaded: boolean; txHash: Uint8Array; height: bigint; info?: ContractInfo }> {
    if (!(wasm instanceof Uint8Array) || wasm.length < 4 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) {
      throw new VeilError('deploy: the code is not a WebAssembly module (no \\0asm header)');
    }
    const hash = sha256(wasm);
    const salt = options?.salt ?? new Uint8Array();
    const exists = await this.codeExists(hash);
    const msgs = [];
    if (!exists) msgs.push(create(MsgUploadCodeSchema, { code: await gzip(wasm) }));
    msgs.push(
      create(MsgInstantiateSchema, {
        codeHash: hash,
        salt,
        initArgs: encodeArgs(options?.initArgs),
        replicas: options?.replicas ?? 0,
        label: options?.label ?? '',
      }),
    );
    const res = await this.client.send(signer, msgs, { wait: true });
    const id = contractIdFor(signer.publicKey, hash, salt);
    const st = await this.client.chainInfo();
    const out = {
      id,
      address: encodeAddress(contractAccountId(fromHex(id)), st.ss58Prefix),
      codeHash: toHex(hash),
      uploaded: !exists,
      txHash: res.hash,
      height: res.height,
      info: undefined as ContractInfo | undefined,
    };
    out.info = options?.waitKeys === false ? await this.get(id) : await this.waitKeys(id);
    if (out.info.account) out.address = out.info.account;
    return out;
  }

  // --- queries and receipts -------------------------------------------------------

  /**
   * Runs a read-only method on an assigned worker, end-to-end encrypted, as
   * signer (the contract sees the signer as caller). Returns the method's
   * JSON result (null when it returns nothing), parsed by parseJSON:
   * integers beyond 2^53−1 (u64 amounts in planck, say) are bigints, so
   * type such fields `number | bigint`. A refusal by the contract is a
   * ContractError (e.g. not_authorized, or reverted "not authorized").
   */
  async query<T = unknown>(signer: Signer, id: string, method: string, args?: unknown): Promise<T> {
    const ci = await this.get(id);
    return (await this.queryContract(signer, ci, method, encodeArgs(args))) as T;
  }

  /** The receipt of the command at sequence (only its caller may read it); not executed yet: ContractError pending. */
  async receipt(signer: Signer, id: string, sequence: bigint | number): Promise<Receipt> {
    const args = receiptArgs(sequence);
    const ci = await this.get(id);
    return decodeReceipt(await this.queryContract(signer, ci, RECEIPT_METHOD, args));
  }

  /** Polls the receipt of the command at sequence until an assigned worker has executed it (default timeout 60 s). */
  async waitReceipt(signer: Signer, id: string, sequence: bigint | number, options?: { timeoutMs?: number }): Promise<Receipt> {
    const args = receiptArgs(sequence); // checks sequence before any round trip
    const ci = await this.get(id);
    return this.pollReceipt(signer, ci, normHex(ci.id), BigInt(sequence), finiteMs(options?.timeoutMs, 60_000), args);
  }

  private async pollReceipt(
    signer: Signer,
    ci: ContractInfo,
    idHex: string,
    sequence: bigint,
    timeoutMs: number,
    args: Uint8Array = receiptArgs(sequence),
  ): Promise<Receipt> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // queryOnce, not the ready-waiting query: this loop already waits
      // out workers that are not ready.
      const r = await this.queryOnce(signer, ci, RECEIPT_METHOD, args);
      if (r.ok) return decodeReceipt(r.value);
      const err = r.error;
      // As Go's waitReceipt (errors.As over the joined errors): keep
      // polling while the command is pending or any worker is not ready
      // yet, even if another replica could not be reached.
      const pending = err instanceof ContractError && err.code === 'pending';
      if (!pending && !r.anyNotReady) throw err;
      if (Date.now() >= deadline) {
        const code = err instanceof ContractError ? err.code : 'not_ready';
        throw new ContractError(code, `receipt of command ${sequence} of contract ${idHex} not available after ${timeoutMs} ms (last answer: ${err.message})`);
      }
      await sleep(this.pollMs);
    }
  }

  /** Query with a contract record the caller holds already (saves a chain read per query). */
  async queryContract(signer: Signer, ci: ContractInfo, method: string, args: Uint8Array): Promise<unknown> {
    const deadline = Date.now() + Math.max(0, this.readyWaitMs);
    for (;;) {
      const r = await this.queryOnce(signer, ci, method, args);
      if (r.ok) return r.value;
      if (!r.allNotReady || Date.now() >= deadline) throw r.error;
      await sleep(this.pollMs);
    }
  }

  /** The assigned workers with a known URL, in assignment order. */
  private candidates(ci: ContractInfo): Candidate[] {
    const out: Candidate[] = [];
    for (const w of ci.workers ?? []) {
      const identity = normHex(w);
      const url = this.workers.get(identity);
      if (url) out.push({ identity, url });
    }
    if (out.length === 0) {
      throw new VeilError(
        `no URL known for any worker assigned to contract ${normHex(ci.id)} (assigned: ${(ci.workers ?? []).join(', ') || 'none'}); give the Contracts client the workers' URLs (options.workers, or contractsForNetwork)`,
      );
    }
    return out;
  }

  /**
   * The worker's HPKE key from its registry record: the chain's word, not
   * the worker's, so a query is never sealed to a key an impostor at that
   * URL made up. Cached per identity.
   */
  workerKey(identity: string): Promise<Uint8Array> {
    const id = normHex(identity);
    let p = this.workerKeys.get(id);
    if (!p) {
      p = (async () => {
        const v = await this.client.queryModule<{ hpke_public_key?: string }>('registry', 'worker', { identity: id });
        let b: Uint8Array;
        try {
          b = fromHex(v?.hpke_public_key ?? '');
        } catch {
          throw new VeilError(`worker ${id}: registry HPKE key is not hex`);
        }
        if (b.length !== XWING_PUBLIC_KEY_SIZE) throw new VeilError(`worker ${id}: registered HPKE key is ${b.length} bytes, want ${XWING_PUBLIC_KEY_SIZE}`);
        return b;
      })();
      this.workerKeys.set(id, p);
      p.catch(() => this.workerKeys.delete(id));
    }
    return p;
  }

  private workerClient(url: string): ServiceClient<typeof ContractService> {
    let c = this.workerClients.get(url);
    if (!c) {
      c = serviceClient(ContractService, this.client.transport(url, { readMaxBytes: MAX_WORKER_ANSWER_BYTES }));
      this.workerClients.set(url, c);
    }
    return c;
  }

  private async queryWorker(signer: Signer, c: Candidate, contractId: Uint8Array, method: string, args: Uint8Array): Promise<unknown> {
    const pub = await this.workerKey(c.identity);
    const q = await sealQuery(pub, { contractId, method, args, expiry: new Date(Date.now() + this.queryLifetimeMs) }, signer);
    let resp: Uint8Array;
    try {
      resp = (await this.workerClient(c.url).query({ envelope: q.envelope })).response;
    } catch (e) {
      throw translateError(e, 'worker', c.url, `query ${method}`, this.client.timeoutMs);
    }
    let pt: Uint8Array;
    try {
      pt = await q.openResponse(resp);
    } catch (e) {
      throw new VeilError(`worker ${c.url}: open response: ${(e as Error).message}`, { cause: e });
    }
    return decodeAnswer(pt);
  }

  /**
   * Asks each candidate worker in turn: one that cannot be reached or is not
   * ready hands over to the next replica; a contract-level answer is final.
   */
  private async queryOnce(
    signer: Signer,
    ci: ContractInfo,
    method: string,
    args: Uint8Array,
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: Error; allNotReady: boolean; anyNotReady: boolean }> {
    const cid = parseContractId(ci.id);
    const cands = this.candidates(ci);
    const errors: Error[] = [];
    let allNotReady = true;
    let anyNotReady = false;
    for (const c of cands) {
      try {
        return { ok: true, value: await this.queryWorker(signer, c, cid, method, args) };
      } catch (e) {
        if (e instanceof ContractError && e.code !== 'not_ready') return { ok: false, error: e, allNotReady: false, anyNotReady: false };
        if (e instanceof ContractError) anyNotReady = true;
        else allNotReady = false;
        errors.push(e instanceof Error ? e : new VeilError(String(e)));
      }
    }
    if (errors.length === 1) return { ok: false, error: errors[0], allNotReady, anyNotReady };
    const text = errors.map((e) => e.message).join('; ');
    const error = allNotReady
      ? new ContractError('not_ready', `no assigned worker is ready: ${text}`)
      : errors.every((e) => e instanceof NetworkError)
        ? new NetworkError(cands[0].url, `no assigned worker answered: ${text}`)
        : new VeilError(`no assigned worker answered: ${text}`);
    return { ok: false, error, allNotReady, anyNotReady };
  }
}

function receiptArgs(sequence: bigint | number): Uint8Array {
  const ok = typeof sequence === 'bigint' || (typeof sequence === 'number' && Number.isSafeInteger(sequence));
  const s = ok ? BigInt(sequence) : -1n;
  if (s < 0n || s > U64_MAX) throw new VeilError(`command sequence must be an integer from 0 to 2^64-1, got ${String(sequence)}`);
  return utf8(`{"sequence":${s}}`);
}
