// Integration against a running `veil dev` network: the SDK talks to a real
// node and real (simulated-TEE) workers, so every byte the SDK builds is
// judged by the Go chain. Runs only when VEIL_NETWORK names the network's
// network.json (a path or a URL); e.g.
//
//   ./bin/veil dev --home /tmp/sdk-dev --port-base 31000 --reset --contracts bin/contracts
//   VEIL_NETWORK=/tmp/sdk-dev/network.json npx vitest run test/devnet.test.ts
//
// VEIL_CONTRACTS (default ../../bin/contracts) is where hello-world.wasm is
// read from for the deploy test.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ContractError,
  Contracts,
  contractsForNetwork,
  NetworkError,
  encodeAddress,
  formatAmount,
  loadNetwork,
  msgs,
  signerFromUri,
  toHex,
  TxError,
  TxStatus,
  VeilClient,
  type CallStage,
  type DevNetwork,
} from '../src/index.js';
import { concatBytes, utf8 } from '../src/bytes.js';

const NETWORK = process.env.VEIL_NETWORK;
if (!NETWORK) {
  console.warn(
    'SKIP devnet integration tests: set VEIL_NETWORK to a running `veil dev` network.json (path or URL), e.g. VEIL_NETWORK=/tmp/sdk-dev/network.json',
  );
}

async function readNetwork(where: string): Promise<DevNetwork> {
  if (/^https?:\/\//.test(where)) return loadNetwork(where);
  return JSON.parse(readFileSync(where, 'utf8')) as DevNetwork;
}

const alice = signerFromUri('//Alice');
const bob = signerFromUri('//Bob');

describe.skipIf(!NETWORK)('veil dev network', () => {
  let n: DevNetwork;
  let client: VeilClient;
  let cs: Contracts;
  let decimals = 12;
  let symbol = '';

  beforeAll(async () => {
    n = await readNetwork(NETWORK!);
    client = new VeilClient(n.node.api);
    cs = contractsForNetwork(client, n);
    const st = await client.status();
    decimals = st.tokenDecimals;
    symbol = st.tokenSymbol;
  });

  it('status matches the network file', async () => {
    const st = await client.status();
    expect(st.chainId).toBe(n.chain_id);
    expect(st.latestHeight).toBeGreaterThan(0n);
    expect(st.ss58Prefix).toBe(42);
    expect(st.messageWeights['/veil.bank.v1.MsgTransfer']).toBeGreaterThan(0n);
  });

  it('transfers //Alice → //Bob and the balances move by the amount and the fee', async () => {
    const amount = 10n ** BigInt(decimals); // 1 token
    const bobAddr = encodeAddress(bob.publicKey);
    const aliceBefore = await client.account(encodeAddress(alice.publicKey));
    const bobBefore = await client.account(bobAddr);
    const res = await client.transfer(alice, bobAddr, amount);
    expect(res.code).toBe(0);
    expect(res.height).toBeGreaterThan(0n);
    expect(res.sender).toBe(encodeAddress(alice.publicKey));
    const bobAfter = await client.account(bobAddr);
    expect(bobAfter.free - bobBefore.free).toBe(amount);
    const aliceAfter = await client.account(encodeAddress(alice.publicKey));
    expect(aliceBefore.free - aliceAfter.free).toBe(amount + BigInt(res.fee));
    expect(aliceAfter.nonce).toBe(aliceBefore.nonce + 1n);
    console.info(`transfer of ${formatAmount(amount, decimals, symbol)} cost ${formatAmount(res.fee, decimals, symbol)} (tx ${toHex(res.hash)})`);

    // The committed transaction is found by hash, in its block.
    const got = await client.tx(res.hash);
    expect(got.status).toBe(TxStatus.COMMITTED);
    const block = await client.block(res.height);
    expect(block.block?.txs.some((t) => toHex(t.hash) === toHex(res.hash))).toBe(true);
  });

  it('pipelines two transactions with explicit nonces', async () => {
    const acct = await client.account('0x' + toHex(bob.publicKey));
    const a = await client.buildTx(bob, [msgs.transfer(encodeAddress(alice.publicKey), 1n)], { nonce: acct.nonce });
    const b = await client.buildTx(bob, [msgs.transfer(encodeAddress(alice.publicKey), 2n)], { nonce: acct.nonce + 1n, memo: 'second ✓' });
    await client.submit(a.bytes, false);
    const rb = await client.submit(b.bytes, true);
    expect(rb.code).toBe(0);
    const ra = await client.waitTx(a.hash);
    expect(ra.height).toBeLessThanOrEqual(rb.height);
  });

  it('a transaction the chain refuses is a TxError with a readable message', async () => {
    const pauper = signerFromUri(`//sdk-test-${Date.now()}`); // a fresh account: no funds at all
    const err = await client.transfer(pauper, encodeAddress(bob.publicKey), 1n).catch((e) => e);
    expect(err).toBeInstanceOf(TxError);
    expect((err as TxError).code).toBeGreaterThan(0);
    expect(err.message).toMatch(/^insufficient funds: /);
    expect((err as TxError).log).toMatch(/^insufficient_funds: /);
    console.info(`refused as expected: ${err.message}`);

    // A stale nonce.
    const acct = await client.account(encodeAddress(alice.publicKey));
    const stale = await client.send(alice, [msgs.transfer(encodeAddress(bob.publicKey), 1n)], { nonce: acct.nonce - 1n }).catch((e) => e);
    expect(stale).toBeInstanceOf(TxError);
    expect(stale.message).toMatch(/^stale nonce: /);
  });

  it('streams blocks', async () => {
    const st = await client.status();
    const ac = new AbortController();
    const seen: bigint[] = [];
    for await (const b of client.blocks({ fromHeight: st.latestHeight - 1n, signal: ac.signal })) {
      seen.push(b.height);
      if (seen.length === 3) ac.abort();
    }
    expect(seen).toEqual([st.latestHeight - 1n, st.latestHeight, st.latestHeight + 1n]);
  });

  it('reads contracts from the chain', async () => {
    const all = await cs.list();
    const hw = n.contracts?.['hello-world'];
    expect(hw, 'veil dev deployed hello-world (--contracts)').toBeDefined();
    expect(all.map((c) => c.id.replace(/^0x/, ''))).toContain(hw!.id.replace(/^0x/, ''));
    const info = await cs.get(hw!.id);
    expect(info.account).toBe(hw!.address);
    expect(info.workers.length).toBeGreaterThan(0);
    expect(Boolean(info.keys_published)).toBe(true);
    const missing = await cs.get('00'.repeat(32)).catch((e) => e);
    expect(missing).toBeInstanceOf(ContractError);
    expect(missing.code).toBe('not_found');
  });

  it('hello-world: call increment with wait, query get_count grew', async () => {
    const id = n.contracts!['hello-world'].id;
    const before = await cs.query<{ count: number }>(bob, id, 'get_count');
    const stages: CallStage[] = [];
    const r = await cs.call(alice, id, 'increment', { by: 1 }, { wait: true, onStage: (s) => stages.push(s) });
    expect(stages).toEqual(['sealing', 'submitted', 'included', 'executed']);
    expect(r.receipt?.status).toBe('ok');
    expect((r.receipt?.result as { count: number }).count).toBeGreaterThanOrEqual(before.count + 1);
    expect(r.sequence).toBeGreaterThanOrEqual(0n);
    expect(r.envelope[0]).toBe(1);
    expect(r.envelope[1]).toBe(1);
    const after = await cs.query<{ count: number }>(bob, id, 'get_count');
    expect(after.count).toBeGreaterThanOrEqual(before.count + 1);
    // The receipt is its caller's: Alice may read it, Bob may not.
    const rc = await cs.receipt(alice, id, r.sequence);
    expect(rc.status).toBe('ok');
    expect(rc.sequence).toBe(Number(r.sequence));
    const denied = await cs.receipt(bob, id, r.sequence).catch((e) => e);
    expect(denied).toBeInstanceOf(ContractError);
    expect(denied.code).toBe('not_authorized');
  });

  it('a query falls over to the next assigned worker when one is unreachable', async () => {
    const id = n.contracts!['hello-world'].id;
    const info = await cs.get(id);
    expect(info.workers.length, 'hello-world runs on two replicas in veil dev').toBeGreaterThanOrEqual(2);
    // The first assigned worker's URL points at a closed port; the others are real.
    const workers: Record<string, string> = {};
    for (const w of n.workers) if (w.identity) workers[w.identity.replace(/^0x/, '')] = w.api;
    workers[info.workers[0].replace(/^0x/, '')] = 'http://127.0.0.1:1';
    const partial = new Contracts(client, { workers });
    const r = await partial.query<{ count: number }>(alice, id, 'get_count');
    expect(typeof r.count).toBe('number');
    // With no reachable worker at all, the error says so and names them.
    const none = new Contracts(client, { workers: Object.fromEntries(info.workers.map((w) => [w.replace(/^0x/, ''), 'http://127.0.0.1:1'])) });
    const err = (await none.query(alice, id, 'get_count').catch((e) => e)) as NetworkError;
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.message).toMatch(/no assigned worker answered: worker http:\/\/127\.0\.0\.1:1 unreachable/);
    // Without any worker URL, the client says what to pass.
    const unknown = (await new Contracts(client).query(alice, id, 'get_count').catch((e) => e)) as Error;
    expect(unknown.message).toMatch(/no URL known for any worker assigned to contract/);
  });

  it('secret-note: the owner reads the note, another account is refused', async () => {
    const id = n.contracts!['secret-note'].id;
    const text = `sdk note ${Date.now()} ✓`;
    const r = await cs.call(alice, id, 'set_note', { text });
    expect(r.receipt?.status).toBe('ok');
    const mine = await cs.query<{ text: string }>(alice, id, 'get_note');
    expect(mine.text).toBe(text);
    const refused = (await cs.query(bob, id, 'get_note', { owner: toHex(alice.publicKey) }).catch((e) => e)) as ContractError;
    expect(refused).toBeInstanceOf(ContractError);
    expect(refused.notAuthorized).toBe(true);
    console.info(`Bob refused: ${refused.message}`);
  });

  it('a reverted command is a ContractError carrying its receipt', async () => {
    const id = n.contracts!['secret-note'].id;
    const err = await cs.call(alice, id, 'set_note', { text: 'x'.repeat(5000) }).catch((e) => e);
    expect(err).toBeInstanceOf(ContractError);
    expect(err.code).toBe('reverted');
    expect(err.receipt?.error).toBe('note too long');
  });

  it('secret-wallet: deposit is credited to the caller', async () => {
    const w = n.contracts?.['secret-wallet'];
    if (!w) return;
    const before = await cs.query<{ balance: number | bigint }>(bob, w.id, 'balance');
    const amount = 10n ** BigInt(decimals); // above the existential deposit of the contract's account
    const { result, sequence } = await cs.deposit(bob, w.id, amount);
    expect(result.code).toBe(0);
    const rc = await cs.waitReceipt(bob, w.id, sequence);
    expect(rc.status).toBe('ok');
    const after = await cs.query<{ balance: number | bigint }>(bob, w.id, 'balance');
    expect(BigInt(after.balance)).toBe(BigInt(before.balance) + amount);
  });

  it('deploys new code (gzip upload + instantiate in one tx), then calls it', async () => {
    const dir = process.env.VEIL_CONTRACTS ?? fileURLToPath(new URL('../../../bin/contracts', import.meta.url));
    const file = `${dir}/hello-world.wasm`;
    if (!existsSync(file)) {
      console.warn(`SKIP deploy: ${file} not found (make contracts, or set VEIL_CONTRACTS)`);
      return;
    }
    // A custom section makes the module new to the chain (another hash) without changing what it does.
    const name = utf8('sdk-test');
    const payload = utf8(String(Date.now()));
    const section = concatBytes(new Uint8Array([0]), leb128(name.length + 1 + payload.length), leb128(name.length), name, payload);
    const wasm = concatBytes(new Uint8Array(readFileSync(file)), section);
    const d = await cs.deploy(alice, wasm, { label: 'sdk test', initArgs: undefined });
    expect(d.uploaded).toBe(true);
    expect(d.info?.keys_published).toBeTruthy();
    expect(d.address).toBe(d.info?.account);
    // The same code again (another salt): not uploaded twice.
    const d2 = await cs.deploy(alice, wasm, { salt: utf8('second'), waitKeys: false });
    expect(d2.uploaded).toBe(false);
    expect(d2.id).not.toBe(d.id);
    const r = await cs.call(bob, d.id, 'increment', { by: 5 });
    expect((r.receipt?.result as { count: number }).count).toBe(5);
    expect(await cs.query(alice, d.id, 'get_count')).toEqual({ count: 5 });
  }, 180_000);
});

/** Unsigned LEB128 (wasm's integer encoding). */
function leb128(n: number): Uint8Array {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return new Uint8Array(out);
}
