// VeilClient behaviour that needs no running chain: how failures reach the
// app (a real refused connection, Connect error codes, chain logs), and
// the contract helpers' pure parts. The chain itself is exercised by
// test/devnet.test.ts against a real `veil dev` network.

import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  AddressError,
  ContractError,
  Contracts,
  contractsForNetwork,
  encodeArgs,
  loadNetwork,
  NetworkError,
  NodeError,
  parseContractId,
  signerFromUri,
  TxError,
  VeilClient,
  VeilError,
  toHex,
  type ContractInfo,
} from '../src/index.js';
import { create, toBinary } from '@bufbuild/protobuf';
import { GetAccountResponseSchema, GetTxResponseSchema, TxResultSchema, TxStatus } from '../src/gen/veil/node/v1/node_pb.js';
import { decodeTx, requiredFee, TxTimeoutError } from '../src/index.js';
import { humanizeLog, translateError } from '../src/client.js';
import { commandKey } from '../src/contracts.js';
import { base64 } from '@scure/base';
import { fromUtf8 } from '../src/bytes.js';

describe('errors reaching the app', () => {
  it('an unreachable node is a NetworkError naming the URL', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused.
    const c = new VeilClient('http://127.0.0.1:1', { timeoutMs: 5000 });
    const err = await c.status().catch((e) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.message).toMatch(/^node http:\/\/127\.0\.0\.1:1 unreachable: /);
    expect(err.message).toMatch(/ECONNREFUSED|fetch failed/);
    expect((err as NetworkError).url).toBe('http://127.0.0.1:1');
  });

  it('a node that answers nothing in time is a NetworkError with the timeout', async () => {
    const server: Server = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const c = new VeilClient(`http://127.0.0.1:${port}/`, { timeoutMs: 300 });
      expect(c.nodeUrl).toBe(`http://127.0.0.1:${port}`);
      const err = await c.status().catch((e) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect(err.message).toBe(`node http://127.0.0.1:${port} did not answer status within 300 ms`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a server that is not a Veil node is reported as such', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const err = await new VeilClient(`http://127.0.0.1:${port}`).status().catch((e) => e);
      expect(err).toBeInstanceOf(NodeError);
      expect(err.message).toMatch(/does not serve this API \(status\).*is the URL the node's API address\?/);
    } finally {
      server.close();
    }
  });

  it('maps Connect codes to VeilErrors', () => {
    const url = 'http://n';
    const nf = translateError(new ConnectError('contract 00 not found', Code.NotFound), 'node', url, 'query contracts/contract');
    expect(nf).toBeInstanceOf(NodeError);
    expect((nf as NodeError).status).toBe('not_found');
    expect(nf.message).toBe('query contracts/contract: contract 00 not found');
    const ia = translateError(new ConnectError('bad address', Code.InvalidArgument), 'node', url, 'account x');
    expect((ia as NodeError).status).toBe('invalid_argument');
    const un = translateError(new ConnectError('the chain has not committed its first block yet', Code.Unavailable), 'node', url, 'status');
    expect(un).toBeInstanceOf(NetworkError);
    expect(un.message).toBe('node http://n unavailable: the chain has not committed its first block yet');
    const own = new VeilError('mine');
    expect(translateError(own, 'node', url, 'x')).toBe(own);
  });

  it('turns chain logs into readable messages', () => {
    expect(humanizeLog('insufficient_funds: free balance 5 below 10', 14)).toBe('insufficient funds: free balance 5 below 10');
    expect(humanizeLog('', 7)).toBe('transaction refused with code 7');
    expect(humanizeLog('Something else', 3)).toBe('Something else');
    expect(humanizeLog('insufficient_funds: cannot pay fee 3: insufficient_funds: free balance 0 is less than 3', 14)).toBe(
      'insufficient funds: cannot pay fee 3: insufficient funds: free balance 0 is less than 3',
    );
    expect(humanizeLog('message 0 (/veil.contracts.v1.MsgDeposit): existential_deposit: recipient would hold 1', 17)).toBe(
      'message 0 (/veil.contracts.v1.MsgDeposit): existential deposit: recipient would hold 1',
    );
    expect(humanizeLog('invalid_memo: my_note_text is fine', 3)).toBe('invalid memo: my_note_text is fine');
    const e = new TxError('insufficient funds: x', { code: 14, codespace: 'veil', log: 'insufficient_funds: x' });
    expect(e).toBeInstanceOf(VeilError);
    expect([e.code, e.codespace, e.name]).toEqual([14, 'veil', 'TxError']);
  });

  it('refuses bad input before any round trip', async () => {
    expect(() => new VeilClient('127.0.0.1:26602')).toThrow(/must start with http/);
    const c = new VeilClient('http://127.0.0.1:1');
    await expect(c.account('not-an-address')).rejects.toBeInstanceOf(AddressError);
    await expect(c.buildTx(signerFromUri('//Alice'), [])).rejects.toThrow(/at least one message/);
    await expect(c.transfer(signerFromUri('//Alice'), '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty', 0n)).rejects.toThrow(/positive/);
  });

  it('ContractError says when access was refused', () => {
    expect(new ContractError('not_authorized', 'the receipt belongs to another account').notAuthorized).toBe(true);
    expect(new ContractError('reverted', 'not authorized').notAuthorized).toBe(true);
    expect(new ContractError('reverted', 'counter overflow').notAuthorized).toBe(false);
    expect(new ContractError('pending', '').message).toBe('contract: pending');
  });
});

describe('contract helpers', () => {
  it('encodes arguments as the Go CLI sends them', () => {
    expect(encodeArgs(undefined).length).toBe(0);
    expect(fromUtf8(encodeArgs({ by: 1 }))).toBe('{"by":1}');
    expect(fromUtf8(encodeArgs({ amount: 18446744073709551615n, n: [1n, 2] }))).toBe('{"amount":18446744073709551615,"n":[1,2]}');
    const raw = new Uint8Array([1, 2, 3]);
    expect(encodeArgs(raw)).toBe(raw);
    expect(fromUtf8(encodeArgs('text'))).toBe('"text"');
    expect(() => encodeArgs(() => 1)).toThrow(/not JSON-encodable/);
  });

  it('reads a contract’s command key in base64, as the chain prints it', () => {
    const key = new Uint8Array(1216).map((_, i) => (i * 7) & 0xff);
    const info = { id: '0x' + 'ab'.repeat(32), hpke_public_key: base64.encode(key) } as ContractInfo;
    expect(toHex(commandKey(info))).toBe(toHex(key));
    expect(() => commandKey({ ...info, hpke_public_key: '0x' + toHex(key) })).toThrow(/not base64/);
    expect(() => commandKey({ ...info, hpke_public_key: base64.encode(key.subarray(1)) })).toThrow(/1215 bytes, want 1216/);
    const notReady = (() => {
      try {
        commandKey({ ...info, hpke_public_key: '' });
      } catch (e) {
        return e as ContractError;
      }
    })();
    expect(notReady).toBeInstanceOf(ContractError);
    expect(notReady?.code).toBe('not_ready');
  });

  it('parses contract ids with or without 0x', () => {
    const h = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf';
    expect(parseContractId('0x' + h.toUpperCase()).length).toBe(32);
    expect(() => parseContractId('hello-world')).toThrow(/64 hex digits/);
  });

  it('nonces strictly increase even within one millisecond', () => {
    const cs = new Contracts(new VeilClient('http://127.0.0.1:1'));
    const a = cs.nextCallNonce();
    const b = cs.nextCallNonce();
    const c = cs.nextCallNonce();
    expect(b > a && c > b).toBe(true);
    expect(a).toBeGreaterThanOrEqual(BigInt(Date.now() - 1000) * 1_000_000n);
  });

  it('maps a network file’s workers by identity', () => {
    const cs = contractsForNetwork(new VeilClient('http://127.0.0.1:1'), {
      chain_id: 'veil-dev',
      node: { api: 'http://127.0.0.1:1', rpc: '' },
      workers: [
        { name: 'w1', api: 'http://127.0.0.1:2', identity: '0xABCDEF' },
        { name: 'w2', api: 'http://127.0.0.1:3' },
      ],
    });
    expect([...cs.workers.entries()]).toEqual([['abcdef', 'http://127.0.0.1:2']]);
  });

  it('loadNetwork reports a missing file clearly', async () => {
    const server: Server = createServer((req, res) => {
      if (req.url === '/network.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ chain_id: 'veil-dev', node: { api: 'http://127.0.0.1:9', rpc: '' } }));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const n = await loadNetwork(`${base}/network.json`);
      expect(n.chain_id).toBe('veil-dev');
      expect(n.workers).toEqual([]);
      await expect(loadNetwork(`${base}/nope.json`)).rejects.toThrow(/HTTP 404/);
    } finally {
      server.close();
    }
  });
});

/** A Connect server on loopback answering each request with answer(path, n), n counting calls per path. */
async function fakeNode(answer: (path: string, n: number) => { status: number; body: Uint8Array | string }): Promise<{ url: string; close(): void }> {
  const calls = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const n = (calls.get(req.url ?? '') ?? 0) + 1;
      calls.set(req.url ?? '', n);
      const a = answer(req.url ?? '', n);
      res.writeHead(a.status, { 'content-type': typeof a.body === 'string' ? 'application/json' : 'application/proto' });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('what a node sends is checked', () => {
  it('a balance that is not a u128 decimal is a VeilError, not a SyntaxError', async () => {
    for (const free of ['12abc', '-1', '1e3', '1' + '0'.repeat(40)]) {
      const node = await fakeNode(() => ({
        status: 200,
        body: toBinary(GetAccountResponseSchema, create(GetAccountResponseSchema, { address: 'x', free, reserved: '0' })),
      }));
      try {
        const err = await new VeilClient(node.url).account('0x' + '11'.repeat(32)).catch((e) => e);
        expect(err, free).toBeInstanceOf(VeilError);
        expect(err.message, free).toMatch(/reports free balance .* not a u128 amount/);
      } finally {
        node.close();
      }
    }
  });

  it('waitTx asks again when the node is briefly unavailable (as Go’s WaitTx), and times out saying why', async () => {
    const committed = toBinary(
      GetTxResponseSchema,
      create(GetTxResponseSchema, { status: TxStatus.COMMITTED, result: create(TxResultSchema, { code: 0, height: 5n }) }),
    );
    const node = await fakeNode((_p, n) =>
      n <= 2 ? { status: 503, body: JSON.stringify({ code: 'unavailable', message: 'restarting' }) } : { status: 200, body: committed },
    );
    try {
      const c = new VeilClient(node.url);
      const r = await c.waitTx(new Uint8Array(32), { pollMs: 10, timeoutMs: 5000 });
      expect(r.height).toBe(5n);
    } finally {
      node.close();
    }
    const down = await fakeNode(() => ({ status: 503, body: JSON.stringify({ code: 'unavailable', message: 'restarting' }) }));
    try {
      const err = await new VeilClient(down.url).waitTx(new Uint8Array(32), { pollMs: 10, timeoutMs: 100 }).catch((e) => e);
      expect(err).toBeInstanceOf(TxTimeoutError);
      expect(err.message).toMatch(/not committed within 100 ms \(last error: .*restarting\)/);
    } finally {
      down.close();
    }
    // A refusal that is not about reachability ends the wait at once.
    const bad = await fakeNode(() => ({ status: 400, body: JSON.stringify({ code: 'invalid_argument', message: 'hash must be 32 bytes' }) }));
    try {
      const err = await new VeilClient(bad.url).waitTx(new Uint8Array(3), { pollMs: 10, timeoutMs: 5000 }).catch((e) => e);
      expect(err).toBeInstanceOf(NodeError);
    } finally {
      bad.close();
    }
  });

  it('bytes that are not a transaction are a VeilError', () => {
    expect(() => decodeTx(new Uint8Array([0x0a, 0xff, 0xff, 0xff]))).toThrow(VeilError);
    expect(() => decodeTx(new Uint8Array([0x0a, 0xff, 0xff, 0xff]))).toThrow(/^not a Veil transaction/);
  });

  it('only the node’s own message weights count', () => {
    const p = { feePerByte: '1', feePerMessage: '10', messageWeights: { '/veil.bank.v1.MsgTransfer': 1n } };
    expect(requiredFee(p, 100, ['/veil.bank.v1.MsgTransfer'])).toBe(110n);
    expect(() => requiredFee(p, 100, ['constructor'])).toThrow(/does not know message type constructor/);
  });

  it('refuses an expiry that is not a whole number of blocks before any round trip', async () => {
    const c = new VeilClient('http://127.0.0.1:1');
    for (const expiryBlocks of [1.5, -3, Number.NaN]) {
      await expect(c.buildTx(signerFromUri('//Alice'), [{ typeUrl: '/x', value: new Uint8Array() }], { expiryBlocks })).rejects.toThrow(
        /expiryBlocks must be a whole number/,
      );
    }
  });

  it('loadNetwork drops worker entries it cannot use and refuses malformed contracts', async () => {
    const files: Record<string, unknown> = {
      '/ok.json': { chain_id: 'c', node: { api: 'http://n' }, workers: [{ name: 'w', api: 'http://w', identity: 'ab' }, { name: 'x', identity: 7 }, null] },
      '/bad.json': { chain_id: 'c', node: { api: 'http://n' }, contracts: { 'hello-world': { id: 5 } } },
    };
    const server: Server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(files[req.url ?? '']));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const n = await loadNetwork(`${base}/ok.json`);
      expect(n.workers.map((w) => w.name)).toEqual(['w']);
      await expect(loadNetwork(`${base}/bad.json`)).rejects.toThrow(/"contracts" must map names/);
    } finally {
      server.close();
    }
  });
});
