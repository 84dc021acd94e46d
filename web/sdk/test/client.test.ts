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

  it('reads a contract’s command key in base64 (as the chain prints it) or hex', () => {
    const key = new Uint8Array(1216).map((_, i) => (i * 7) & 0xff);
    const info = { id: '0x' + 'ab'.repeat(32), hpke_public_key: base64.encode(key) } as ContractInfo;
    expect(toHex(commandKey(info))).toBe(toHex(key));
    expect(toHex(commandKey({ ...info, hpke_public_key: toHex(key) }))).toBe(toHex(key));
    expect(toHex(commandKey({ ...info, hpke_public_key: '0x' + toHex(key) }))).toBe(toHex(key));
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
