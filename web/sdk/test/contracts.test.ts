// The contract client against a node and workers that misbehave, without
// a chain: a small Connect server plays the node (contracts/contract and
// registry/worker queries) and the workers (ContractService.Query, opened
// and answered with the SDK's own recipient side, openQuery). What a
// hostile or broken worker sends must end as a clear VeilError, and the
// receipt wait must follow Go's rules (client/contracts.go waitReceipt).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { QueryModuleRequestSchema, QueryModuleResponseSchema } from '../src/gen/veil/node/v1/node_pb.js';
import { ContractQueryRequestSchema, ContractQueryResponseSchema } from '../src/gen/veil/worker/v1/worker_pb.js';
import {
  ContractError,
  Contracts,
  deriveXWingKeyPair,
  NetworkError,
  openQuery,
  signerFromUri,
  toHex,
  VeilClient,
  VeilError,
} from '../src/index.js';
import { concatBytes, utf8 } from '../src/bytes.js';

const CONTRACT = 'c0'.repeat(32);
const W1 = 'aa'.repeat(32);
const W2 = 'bb'.repeat(32);

/** What the worker answers next: a JSON plaintext to seal, or raw bytes to send as the whole HTTP body. */
type Reply = { answer: string } | { rawBody: Uint8Array; chunked?: boolean };

let worker: { privateKey: Uint8Array; publicKey: Uint8Array };
let replies: Reply[] = [];
let seen: { method: string; args: string }[] = [];
let server: Server;
let base = '';

async function body(req: IncomingMessage): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of req) parts.push(c);
  return concatBytes(...parts);
}

function proto(res: ServerResponse, bytes: Uint8Array) {
  res.writeHead(200, { 'content-type': 'application/proto' });
  res.end(bytes);
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const b = await body(req);
  if (req.url === '/veil.node.v1.NodeService/QueryModule') {
    const q = fromBinary(QueryModuleRequestSchema, b);
    let result: unknown;
    if (q.module === 'contracts' && q.path === 'contract') {
      result = { id: '0x' + CONTRACT, workers: ['0x' + W1, '0x' + W2], hpke_public_key: null, keys_published: true };
    } else if (q.module === 'registry' && q.path === 'worker') {
      result = { hpke_public_key: toHex(worker.publicKey) };
    } else if (q.module === 'test') {
      // Raw answers, written by hand: JSON.stringify could not write the
      // big integers a Go module's int64/uint64 fields produce.
      const args = new TextDecoder().decode(q.args);
      const raw = q.path === 'echo' ? `{"args":${args || 'null'},"power":1152921504606846975,"era":3,"stake":"10000000000000001"}` : 'SECRET-ISH not json';
      return proto(res, toBinary(QueryModuleResponseSchema, create(QueryModuleResponseSchema, { result: utf8(raw) })));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ code: 'not_found', message: `no ${q.module}/${q.path}` }));
    }
    return proto(res, toBinary(QueryModuleResponseSchema, create(QueryModuleResponseSchema, { result: utf8(JSON.stringify(result)) })));
  }
  if (req.url === '/veil.worker.v1.ContractService/Query') {
    const env = fromBinary(ContractQueryRequestSchema, b).envelope;
    const { query, sealResponse } = await openQuery(worker.privateKey, env);
    seen.push({ method: query.method, args: new TextDecoder().decode(query.args) });
    const r = replies.shift() ?? { answer: '{"ok":false,"code":"failed","error":"no reply scripted"}' };
    if ('rawBody' in r) {
      if (!r.chunked) {
        res.writeHead(200, { 'content-type': 'application/proto', 'content-length': String(r.rawBody.length) });
        return res.end(r.rawBody);
      }
      res.writeHead(200, { 'content-type': 'application/proto' });
      for (let o = 0; o < r.rawBody.length; o += 64 << 10) res.write(r.rawBody.subarray(o, o + (64 << 10)));
      return res.end();
    }
    const sealed = await sealResponse(utf8(r.answer));
    return proto(res, toBinary(ContractQueryResponseSchema, create(ContractQueryResponseSchema, { response: sealed })));
  }
  res.writeHead(404);
  res.end();
}

beforeAll(async () => {
  worker = await deriveXWingKeyPair(crypto.getRandomValues(new Uint8Array(32)));
  server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const alice = signerFromUri('//Alice');

/** The error p fails with; a test failure if it succeeds. */
async function failure(p: Promise<unknown>): Promise<Error & { code?: string; reason?: string; notAuthorized?: boolean }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure, got a result');
}

/** A contract client whose first worker is the fake one; the second is unreachable (port 1). */
function client(opts?: { secondReachable?: boolean }) {
  replies = [];
  seen = [];
  const workers = { [W1]: base, [W2]: opts?.secondReachable ? base : 'http://127.0.0.1:1' };
  return new Contracts(new VeilClient(base, { timeoutMs: 5000 }), { workers, pollMs: 10, readyWaitMs: 0 });
}

describe('answers from a misbehaving worker', () => {
  it('a well-formed answer is the result, and the query was sealed to the registry key', async () => {
    const cs = client();
    replies.push({ answer: '{"ok":true,"result":{"count":3}}' });
    expect(await cs.query(alice, CONTRACT, 'get_count', { x: 1 })).toEqual({ count: 3 });
    expect(seen).toEqual([{ method: 'get_count', args: '{"x":1}' }]);
  });

  it('plaintext that is not JSON is a VeilError that does not quote it', async () => {
    const cs = client();
    replies.push({ answer: 'SECRET-PLAINTEXT not json' });
    const err = await failure(cs.query(alice, CONTRACT, 'get_count'));
    expect(err).toBeInstanceOf(VeilError);
    expect(err.message).toMatch(/malformed answer from worker: \d+ bytes that are not UTF-8 JSON/);
    expect(err.message).not.toMatch(/SECRET/);
  });

  it('fields of the wrong type are refused, as Go’s json.Unmarshal does', async () => {
    const cs = client();
    for (const a of ['[1,2]', '{"ok":"yes"}', '{"ok":false,"code":7}', '{"ok":false,"error":{"x":1}}']) {
      replies.push({ answer: a });
      const err = await failure(cs.query(alice, CONTRACT, 'm'));
      expect(err, a).toBeInstanceOf(VeilError);
      expect(err, a).not.toBeInstanceOf(ContractError);
      expect(err.message, a).toMatch(/malformed answer from worker: (not a JSON object|"\w+" is not a)/);
    }
  });

  it('a refusal is a ContractError with the worker’s code and reason', async () => {
    const cs = client();
    replies.push({ answer: '{"ok":false,"code":"reverted","error":"not authorized"}' });
    const err = await failure(cs.query(alice, CONTRACT, 'peek'));
    expect(err).toBeInstanceOf(ContractError);
    expect([err.code, err.reason, err.notAuthorized]).toEqual(['reverted', 'not authorized', true]);
  });

  it('a receipt without the fields of a receipt is a VeilError, not a TypeError later', async () => {
    const cs = client();
    for (const r of ['null', '"ok"', '{"sequence":1}', '{"status":"ok","gas_used":"many"}']) {
      replies.push({ answer: `{"ok":true,"result":${r}}` });
      const err = await failure(cs.receipt(alice, CONTRACT, 1));
      expect(err, r).toBeInstanceOf(VeilError);
      expect(err.message, r).toMatch(/^malformed receipt from worker/);
    }
    replies.push({ answer: '{"ok":true,"result":{"sequence":4,"height":9,"status":"ok","result":{"count":1}}}' });
    expect(await cs.receipt(alice, CONTRACT, 4)).toEqual({ sequence: 4, height: 9, status: 'ok', result: { count: 1 }, gas_used: 0 });
    expect(seen.at(-1)).toEqual({ method: 'veil.receipt', args: '{"sequence":4}' });
  });

  it('refuses a bad sequence before any round trip', async () => {
    const cs = client();
    for (const s of [-1, 1.5, Number.NaN, 2n ** 64n]) {
      await expect(cs.receipt(alice, CONTRACT, s)).rejects.toThrow(/sequence must be an integer/);
    }
    expect(seen).toEqual([]);
  });

  it('an answer over the size limit is refused while it downloads (with or without Content-Length)', async () => {
    const huge = new Uint8Array((4 << 20) + (128 << 10));
    for (const chunked of [false, true]) {
      const cs = client();
      replies.push({ rawBody: huge, chunked });
      const err = await failure(cs.query(alice, CONTRACT, 'get_count'));
      expect(err, `chunked ${chunked}`).toBeInstanceOf(NetworkError);
      expect(err.message).toMatch(/more than the \d+ allowed/);
    }
  });
});

describe('big integers (u64 amounts in planck) stay exact', () => {
  it('a worker answer with {"balance": 10000000000000000} comes back as 10000000000000000n', async () => {
    const cs = client();
    replies.push({ answer: '{"ok":true,"result":{"balance":10000000000000000}}' });
    const r = await cs.query<{ balance: number | bigint }>(alice, CONTRACT, 'balance');
    expect(typeof r.balance).toBe('bigint');
    expect(r).toEqual({ balance: 10000000000000000n });
    // 10^16 + 1 is where a float64 would round (JSON.parse gives 10^16).
    replies.push({ answer: '{"ok":true,"result":{"balance":10000000000000001,"max":18446744073709551615,"small":5}}' });
    expect(await cs.query(alice, CONTRACT, 'balance')).toEqual({ balance: 10000000000000001n, max: 18446744073709551615n, small: 5 });
    // Arguments go out with every digit too.
    replies.push({ answer: '{"ok":true,"result":null}' });
    await cs.query(alice, CONTRACT, 'transfer', { amount: 10000000000000001n });
    expect(seen.at(-1)).toEqual({ method: 'transfer', args: '{"amount":10000000000000001}' });
  });

  it('receipts keep big results, event data and gas exact', async () => {
    const cs = client();
    const receipt =
      '{"sequence":5,"height":10,"status":"ok","result":{"balance":10000000000000001},' +
      '"events":[{"topic":"deposited","data":{"amount":18446744073709551615}}],"gas_used":9007199254740993}';
    replies.push({ answer: `{"ok":true,"result":${receipt}}` });
    expect(await cs.receipt(alice, CONTRACT, 5)).toEqual({
      sequence: 5,
      height: 10,
      status: 'ok',
      result: { balance: 10000000000000001n },
      events: [{ topic: 'deposited', data: { amount: 18446744073709551615n } }],
      gas_used: 9007199254740993n,
    });
  });

  it('refuses receipt integers that are not u64s, or a sequence no chain reaches', async () => {
    const cs = client();
    const cases: [string, RegExp][] = [
      ['"sequence":9007199254740993', /"sequence" 9007199254740993 is beyond 2\^53-1/],
      ['"height":18446744073709551616', /"height" is not a non-negative integer/],
      ['"height":1e300', /"height" is not a non-negative integer/],
      ['"gas_used":18446744073709551616', /"gas_used" is not a non-negative integer/],
      ['"gas_used":-9007199254740993', /"gas_used" is not a non-negative integer/],
      ['"gas_used":1.5', /"gas_used" is not a non-negative integer/],
    ];
    for (const [field, want] of cases) {
      replies.push({ answer: `{"ok":true,"result":{"status":"ok",${field}}}` });
      const err = await failure(cs.receipt(alice, CONTRACT, 1));
      expect(err, field).toBeInstanceOf(VeilError);
      expect(err.message, field).toMatch(/^malformed receipt from worker: /);
      expect(err.message, field).toMatch(want);
    }
  });

  it('malformed answer JSON is reported with its position, never its text', async () => {
    const cs = client();
    replies.push({ answer: '{"ok":true,"result":{"note":"SECRET-PLAINTEXT",}}' });
    const err = await failure(cs.query(alice, CONTRACT, 'get_note'));
    expect(err).toBeInstanceOf(VeilError);
    // (The second replica is unreachable: its failure is joined to the message.)
    expect(err.message).toContain(
      'malformed answer from worker: 49 bytes that are not UTF-8 JSON (invalid JSON at position 47 (line 1, column 48): unexpected character, expected a string (an object member name))',
    );
    expect(err.message).not.toMatch(/SECRET|note/);
    replies.push({ answer: '' });
    const empty = await failure(cs.query(alice, CONTRACT, 'get_note'));
    expect(empty.message).toMatch(/0 bytes that are not UTF-8 JSON \(invalid JSON at position 0 .*unexpected end of input/);
  });

  it('module queries keep big integers exact, in the answer and in the arguments', async () => {
    const c = new VeilClient(base, { timeoutMs: 5000 });
    expect(await c.queryModule('test', 'echo', { n: 18446744073709551615n, s: 'x' })).toEqual({
      args: { n: 18446744073709551615n, s: 'x' },
      power: 1152921504606846975n, // an int64 voting power near CometBFT's 2^60 limit
      era: 3,
      stake: '10000000000000001',
    });
    const err = await failure(c.queryModule('test', 'broken'));
    expect(err).toBeInstanceOf(VeilError);
    expect(err.message).toBe("query test/broken: the node's answer is not JSON: invalid JSON at position 0 (line 1, column 1): unexpected character, expected a value");
    await expect(c.queryModule('test', 'echo', () => 1)).rejects.toThrow(/arguments are not JSON-encodable/);
  });
});

describe('waiting for a receipt (Go’s waitReceipt)', () => {
  it('keeps polling while one replica is not ready, even if the other cannot be reached', async () => {
    const cs = client();
    const notReady = { answer: '{"ok":false,"code":"not_ready","error":"catching up"}' };
    replies.push(notReady, notReady, { answer: '{"ok":false,"code":"pending","error":"not executed yet"}' });
    replies.push({ answer: '{"ok":true,"result":{"sequence":7,"height":3,"status":"ok","gas_used":12}}' });
    const r = await cs.waitReceipt(alice, CONTRACT, 7, { timeoutMs: 10_000 });
    expect(r.status).toBe('ok');
    expect(r.gas_used).toBe(12);
    expect(seen.length).toBe(4);
  });

  it('gives up at once on an unreachable worker and a final refusal', async () => {
    const cs = client();
    replies.push({ answer: '{"ok":false,"code":"not_authorized","error":"the receipt belongs to another account"}' });
    const err = await failure(cs.waitReceipt(alice, CONTRACT, 7, { timeoutMs: 10_000 }));
    expect(err).toBeInstanceOf(ContractError);
    expect(err.code).toBe('not_authorized');
  });

  it('stops at the deadline, saying what the workers last answered', async () => {
    const cs = client({ secondReachable: true });
    for (let i = 0; i < 200; i++) replies.push({ answer: '{"ok":false,"code":"not_ready","error":"catching up"}' });
    const err = await failure(cs.waitReceipt(alice, CONTRACT, 7, { timeoutMs: 150 }));
    expect(err).toBeInstanceOf(ContractError);
    expect(err.code).toBe('not_ready');
    expect(err.message).toMatch(/not available after 150 ms \(last answer: .*catching up/);
  });

  it('a deadline that is not a number falls back to the default instead of never passing', () => {
    // readyWaitMs NaN used to make Date.now() >= NaN false forever.
    const cs = new Contracts(new VeilClient(base), { readyWaitMs: Number.NaN });
    expect((cs as unknown as { readyWaitMs: number }).readyWaitMs).toBe(15_000);
  });
});
