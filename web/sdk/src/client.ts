// VeilClient: one node's Connect API (veil.node.v1.NodeService) from a
// browser or Node, plus transaction building as the Go SDK does it
// (client/client.go): nonce from GetAccount (which counts the mempool),
// expiry = the height that read reported + 200 blocks, and the exact
// minimum fee from GetStatus's fee parameters.

import { create, type Message } from '@bufbuild/protobuf';
import { Code, ConnectError, type Transport } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import {
  NodeService,
  TxStatus,
  type Block,
  type GetBlockResponse,
  type GetStatusResponse,
  type GetTxResponse,
  type QueryStateResponse,
  type TxResult,
  TxResultSchema,
} from './gen/veil/node/v1/node_pb.js';
import { MsgTransferSchema } from './gen/veil/bank/v1/bank_pb.js';
import { fromUtf8, toHex, utf8 } from './bytes.js';
import { AddressError, AmountError, NetworkError, NodeError, TxError, TxTimeoutError, VeilError } from './errors.js';
import type { Signer } from './keys.js';
import { accountId } from './ss58.js';
import { serviceClient, type ServiceClient } from './rpc.js';
import { DEFAULT_EXPIRY_BLOCKS, encodeTxBody, signTx, signWithMinimumFee, txBody, txHash, type TxMessage } from './tx.js';
import { MAX_AMOUNT } from './amount.js';
import { parseJSON, stringifyJSON } from './json.js';

/** How a transaction is built and submitted. */
export interface TxOptions {
  /** Wait until the transaction is committed (default true); the result then has a height and events. */
  wait?: boolean;
  /** Use this nonce instead of the account's next one (to pipeline several transactions). */
  nonce?: bigint;
  /** Free text, at most 256 bytes. */
  memo?: string;
  /** Blocks until the transaction expires (default 200). */
  expiryBlocks?: number;
  /** Offer this fee instead of the computed minimum (planck). */
  fee?: bigint;
}

/** An account's balances and next nonce (mempool included). */
export interface AccountInfo {
  address: string;
  free: bigint;
  reserved: bigint;
  nonce: bigint;
  height: bigint;
}

/** Options of VeilClient. */
export interface VeilClientOptions {
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Per-request timeout in ms (default 30 000; a submit that waits for its block gets at least 75 000). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
// The node answers a waiting SubmitTx within 60 s (node/api MaxWait).
const SUBMIT_WAIT_TIMEOUT_MS = 75_000;

/** snake_case name of a Connect code ("not_found"). */
function codeName(c: Code): string {
  return (Code[c] ?? 'unknown').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The innermost useful text of a fetch failure (Node puts ECONNREFUSED & co. in cause). */
function causeText(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    if (cur instanceof Error) {
      const code = (cur as { code?: unknown }).code;
      const m = cur.message + (typeof code === 'string' && !cur.message.includes(code) ? ` (${code})` : '');
      if (m && !parts.includes(m)) parts.push(m);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ') || 'unknown error';
}

/**
 * Turns an error from a Connect call into a VeilError with a message for
 * people: NetworkError when the server could not be reached or did not
 * answer in time, NodeError when it answered with an error status.
 * `who` is "node" or "worker", `what` names the request.
 */
export function translateError(e: unknown, who: string, url: string, what: string, timeoutMs?: number): VeilError {
  if (e instanceof VeilError) return e;
  if (e instanceof ConnectError) {
    const cause = (e as { cause?: unknown }).cause;
    // Our own refusal from inside the transport (an answer over its size limit).
    if (cause instanceof VeilError) return cause;
    switch (e.code) {
      case Code.DeadlineExceeded:
        return new NetworkError(url, `${who} ${url} did not answer ${what} within ${timeoutMs ?? '?'} ms`, { cause: e });
      case Code.Canceled:
        return new NetworkError(url, `${what}: request to ${who} ${url} was cancelled`, { cause: e });
      case Code.Unknown:
      case Code.Unavailable:
        if (cause instanceof TypeError || (e.code === Code.Unknown && cause !== undefined)) {
          const hint =
            typeof window !== 'undefined'
              ? ' (is it running, is the URL right, and does it allow this page’s origin (CORS)?)'
              : ' (is it running and is the URL right?)';
          return new NetworkError(url, `${who} ${url} unreachable: ${causeText(cause)}${hint}`, { cause: e });
        }
        if (e.code === Code.Unavailable) {
          return new NetworkError(url, `${who} ${url} unavailable: ${e.rawMessage}`, { cause: e });
        }
        break;
      case Code.Unimplemented:
        return new NodeError(url, codeName(e.code), `${who} ${url} does not serve this API (${what}): ${e.rawMessage}; is the URL the ${who}'s API address?`, {
          cause: e,
        });
    }
    return new NodeError(url, codeName(e.code), `${what}: ${e.rawMessage}`, { cause: e });
  }
  return new NetworkError(url, `${who} ${url} unreachable: ${causeText(e)}`, { cause: e });
}

/**
 * The human text of a chain log. Logs name codes in snake case at the
 * start of each wrapped cause ("insufficient_funds: cannot pay fee 3:
 * insufficient_funds: free balance 0 …", "message 0 (…): existential_deposit:
 * …"), which reads better with spaces; only such code positions (the start,
 * or right after ": ") are touched, never other text.
 */
export function humanizeLog(log: string, code: number): string {
  if (!log) return `transaction refused with code ${code}`;
  return log.replace(/(^|: )([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?=: )/g, (_m, pre: string, name: string) => pre + name.replace(/_/g, ' '));
}

/** A node's decimal amount string as a bigint; anything else is a VeilError naming the field. */
function nodeAmount(v: string, what: string): bigint {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,38})$/.test(v) || BigInt(v) > MAX_AMOUNT) {
    throw new VeilError(`the node reports ${what} ${JSON.stringify(String(v).slice(0, 60))}, not a u128 amount`);
  }
  return BigInt(v);
}

/**
 * fetch with a cap on the response body: the body is counted while it
 * downloads and the request fails once it exceeds maxBytes (a
 * NetworkError naming the server), so a hostile server cannot make the
 * page buffer gigabytes before any size check runs. Connect-Web has no
 * such option.
 */
function boundedFetch(f: typeof fetch, maxBytes: number, url: string): typeof fetch {
  const tooLarge = (n: number | string) => new NetworkError(url, `${url} sent an answer of ${n} bytes, more than the ${maxBytes} allowed`);
  return async (input, init) => {
    const res = await f(input, init);
    const declared = Number(res.headers.get('content-length') ?? '');
    if (declared > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge(declared);
    }
    if (!res.body) return res;
    let seen = 0;
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctrl) {
          seen += chunk.length;
          if (seen > maxBytes) ctrl.error(tooLarge(`over ${maxBytes}`));
          else ctrl.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function txError(res: TxResult): TxError {
  return new TxError(humanizeLog(res.log, res.code), { code: res.code, codespace: res.codespace, log: res.log, result: res });
}

/** A client of one node's API. Safe to share; every method is independent. */
export class VeilClient {
  readonly nodeUrl: string;
  /** The generated Connect client, for calls this class does not wrap. */
  readonly node: ServiceClient<typeof NodeService>;
  /** Per-request timeout (ms). */
  readonly timeoutMs: number;
  private readonly fetchFn?: typeof fetch;
  private statusCache?: Promise<GetStatusResponse>;

  constructor(nodeUrl: string, options?: VeilClientOptions) {
    if (typeof nodeUrl !== 'string' || !/^https?:\/\//.test(nodeUrl.trim())) {
      throw new VeilError(`node URL must start with http:// or https://, got ${JSON.stringify(String(nodeUrl)).slice(0, 80)}`);
    }
    this.nodeUrl = nodeUrl.trim().replace(/\/+$/, '');
    this.timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchFn = options?.fetch;
    this.node = serviceClient(NodeService, this.transport(this.nodeUrl));
  }

  /**
   * A Connect transport to baseUrl with this client's fetch and timeout
   * (the contract client reaches workers through it). Binary protobuf:
   * smaller than JSON and bytes fields need no base64. readMaxBytes caps
   * the size of each answer.
   */
  transport(baseUrl: string, options?: { readMaxBytes?: number }): Transport {
    const f = this.fetchFn;
    // Called through a wrapper: window.fetch refuses to run with another `this`.
    let fetchFn: typeof fetch | undefined = f ? (input, init) => f(input, init) : undefined;
    if (options?.readMaxBytes !== undefined) {
      fetchFn = boundedFetch(fetchFn ?? ((input, init) => globalThis.fetch(input, init)), options.readMaxBytes, baseUrl);
    }
    return createConnectTransport({
      baseUrl,
      useBinaryFormat: true,
      fetch: fetchFn,
      defaultTimeoutMs: this.timeoutMs,
    });
  }

  private async call<T>(what: string, fn: () => Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw translateError(e, 'node', this.nodeUrl, what, timeoutMs);
    }
  }

  /** The node's status: chain id, head, token, SS58 prefix, fee parameters (always fresh). */
  async status(): Promise<GetStatusResponse> {
    const p = this.call('status', () => this.node.getStatus({}));
    const st = await p;
    this.statusCache = Promise.resolve(st);
    return st;
  }

  /** The status read once and kept: the chain's fixed parameters (chain id, prefix, fees). */
  chainInfo(): Promise<GetStatusResponse> {
    if (!this.statusCache) {
      const p = this.status();
      this.statusCache = p;
      p.catch(() => {
        if (this.statusCache === p) this.statusCache = undefined;
      });
    }
    return this.statusCache;
  }

  /** An account's balances and next nonce. `address` is SS58 (any network the node accepts) or 0x hex. */
  async account(address: string): Promise<AccountInfo> {
    accountId(address); // a clear AddressError before any round trip
    try {
      const r = await this.call(`account ${address}`, () => this.node.getAccount({ address: address.trim() }));
      return { address: r.address, free: nodeAmount(r.free, 'free balance'), reserved: nodeAmount(r.reserved, 'reserved balance'), nonce: r.nonce, height: r.height };
    } catch (e) {
      if (e instanceof NodeError && e.status === 'invalid_argument') throw new AddressError(e.message, { cause: e });
      throw e;
    }
  }

  /**
   * A module's JSON query (e.g. "staking", "validators") on the latest
   * committed state. Modules write amounts as decimal strings, but some
   * integers are plain JSON numbers that can pass 2^53 (staking voting
   * power is an int64 up to 2^60): the answer is parsed with parseJSON, so
   * those come back as exact bigints. Bigints in args are written as
   * numbers with all their digits.
   */
  async queryModule<T = unknown>(module: string, path: string, args?: unknown): Promise<T> {
    const json = args === undefined ? undefined : stringifyJSON(args);
    if (args !== undefined && json === undefined) throw new VeilError(`query ${module}/${path}: the arguments are not JSON-encodable`);
    const raw = json === undefined ? new Uint8Array() : utf8(json);
    const r = await this.call(`query ${module}/${path}`, () => this.node.queryModule({ module, path, args: raw }));
    if (r.result.length === 0) return null as T;
    let text: string;
    try {
      text = fromUtf8(r.result);
    } catch (e) {
      throw new VeilError(`query ${module}/${path}: the node's answer is not UTF-8 JSON`, { cause: e });
    }
    try {
      return parseJSON(text) as T;
    } catch (e) {
      throw new VeilError(`query ${module}/${path}: the node's answer is not JSON: ${(e as Error).message}`, { cause: e });
    }
  }

  /** A raw state read (QueryState). */
  async queryState(key: Uint8Array, options?: { height?: bigint; prove?: boolean }): Promise<QueryStateResponse> {
    return this.call('state read', () => this.node.queryState({ key, height: options?.height ?? 0n, prove: options?.prove ?? false }));
  }

  /** A committed block with its results and raw transactions (latest when height is 0 or absent). */
  async block(height?: bigint | number): Promise<GetBlockResponse> {
    const h = BigInt(height ?? 0);
    return this.call(`block ${h || 'latest'}`, () => this.node.getBlock({ height: h }));
  }

  /** Looks a transaction up by hash: UNKNOWN, PENDING or COMMITTED with its result. */
  async tx(hash: Uint8Array): Promise<GetTxResponse> {
    return this.call(`transaction ${toHex(hash).toUpperCase()}`, () => this.node.getTx({ hash }));
  }

  /**
   * Committed blocks as they come (StreamBlocks): history from fromHeight
   * if given, then each new block, gapless. Ends quietly when signal aborts.
   */
  async *blocks(options?: { fromHeight?: bigint; signal?: AbortSignal }): AsyncIterable<Block> {
    const signal = options?.signal;
    try {
      // timeoutMs 0: a stream lives as long as its consumer wants.
      for await (const b of this.node.streamBlocks({ fromHeight: options?.fromHeight ?? 0n }, { signal, timeoutMs: 0 })) {
        yield b;
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw translateError(e, 'node', this.nodeUrl, 'block stream');
    }
  }

  /**
   * Signs messages from signer with the chain's parameters filled in (as
   * Go's BuildTx): the account's next nonce (or options.nonce), expiry =
   * the height of that read + expiryBlocks (200), and the minimum fee.
   */
  async buildTx(signer: Signer, messages: (Message | TxMessage)[], options?: TxOptions): Promise<{ bytes: Uint8Array; hash: Uint8Array; fee: bigint }> {
    if (!messages.length) throw new VeilError('a transaction needs at least one message');
    const eb = options?.expiryBlocks;
    // As Go's TxOptions.ExpiryBlocks: 0 (or unset) means the default.
    if (eb !== undefined && (!Number.isSafeInteger(eb) || eb < 0)) {
      throw new VeilError(`expiryBlocks must be a whole number of blocks, got ${String(eb)}`);
    }
    const pub = signer.publicKey;
    let nonce: bigint;
    let height: bigint;
    if (options?.nonce !== undefined) {
      const latest = await this.status();
      nonce = options.nonce;
      height = latest.latestHeight;
    } else {
      const acct = await this.account('0x' + toHex(pub));
      nonce = acct.nonce;
      height = acct.height;
    }
    const st = await this.chainInfo();
    const expiry = BigInt(eb || DEFAULT_EXPIRY_BLOCKS);
    const fields = { chainId: st.chainId, sender: pub, nonce, expiryHeight: height + expiry, messages, memo: options?.memo ?? '' };
    if (options?.fee !== undefined) {
      if (options.fee < 0n || options.fee > MAX_AMOUNT) throw new AmountError(`fee ${options.fee} is outside the u128 range`);
      const bytes = signTx(encodeTxBody(txBody({ ...fields, fee: options.fee })), signer);
      return { bytes, hash: txHash(bytes), fee: options.fee };
    }
    const { bytes, fee } = signWithMinimumFee(fields, signer, st);
    return { bytes, hash: txHash(bytes), fee };
  }

  /**
   * Submits a signed transaction. A CheckTx refusal or a failed execution
   * throws TxError (with the result); with wait (default true), a
   * transaction not committed within the node's deadline throws
   * TxTimeoutError (it may still commit: look it up with tx(hash)).
   */
  async submit(txBytes: Uint8Array, wait = true): Promise<TxResult> {
    const timeout = wait ? Math.max(this.timeoutMs, SUBMIT_WAIT_TIMEOUT_MS) : this.timeoutMs;
    const r = await this.call('submit transaction', () => this.node.submitTx({ tx: txBytes, wait }, { timeoutMs: timeout }), timeout);
    const res = r.result ?? create(TxResultSchema, { hash: txHash(txBytes) });
    if (res.code !== 0) throw txError(res);
    if (wait && !r.committed) {
      const h = toHex(res.hash).toUpperCase();
      throw new TxTimeoutError(`transaction ${h} not committed before the node's deadline; it may still be included — look it up by its hash`, {
        code: 0,
        codespace: '',
        log: '',
        result: res,
      });
    }
    return res;
  }

  /** Builds, signs and submits messages (throws TxError when refused or failed). */
  async send(signer: Signer, messages: (Message | TxMessage)[], options?: TxOptions): Promise<TxResult> {
    const { bytes } = await this.buildTx(signer, messages, options);
    return this.submit(bytes, options?.wait ?? true);
  }

  /** Sends amount (planck) from signer to `to` (SS58 of this chain, or 0x hex). */
  async transfer(signer: Signer, to: string, amount: bigint, options?: TxOptions): Promise<TxResult> {
    if (typeof amount !== 'bigint' || amount <= 0n || amount > MAX_AMOUNT) {
      throw new AmountError(`transfer amount must be a positive planck amount (bigint), got ${String(amount)}`);
    }
    const st = await this.chainInfo();
    const dest = accountId(to, st.ss58Prefix);
    return this.send(signer, [create(MsgTransferSchema, { to: dest, amount: amount.toString() })], options);
  }

  /**
   * Polls until the transaction is committed (a failed execution throws
   * TxError). A node that cannot be reached for a moment is asked again,
   * as Go's WaitTx does; after timeoutMs (default 60 s) it throws
   * TxTimeoutError, naming the last network error if there was one.
   */
  async waitTx(hash: Uint8Array, options?: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal }): Promise<TxResult> {
    const timeoutMs = finiteMs(options?.timeoutMs, 60_000);
    const deadline = Date.now() + timeoutMs;
    const poll = finiteMs(options?.pollMs, 500) || 500;
    let lastError: NetworkError | undefined;
    for (;;) {
      try {
        const r = await this.tx(hash);
        lastError = undefined;
        if (r.status === TxStatus.COMMITTED && r.result) {
          if (r.result.code !== 0) throw txError(r.result);
          return r.result;
        }
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
        lastError = e;
      }
      if (Date.now() >= deadline) {
        const why = lastError ? ` (last error: ${lastError.message})` : '';
        throw new TxTimeoutError(`transaction ${toHex(hash).toUpperCase()} not committed within ${timeoutMs} ms${why}`, {
          code: 0,
          codespace: '',
          log: '',
        });
      }
      await sleep(poll, options?.signal);
    }
  }
}

/** ms if it is a finite number ≥ 0, else def: NaN or Infinity would make a deadline that never passes. */
export function finiteMs(ms: number | undefined, def: number): number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : def;
}

/** Resolves after ms, or rejects with a VeilError when signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new VeilError('cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new VeilError('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
