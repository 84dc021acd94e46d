import { Fragment } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { fromHex, parseEnvelopeHeader, toHex, TxStatus, type Event as ChainEvent, type TxResult } from '@veil-network/sdk';
import { useApp } from '../state';
import type { PageProps } from '../app';
import { useAsync, useThrottled } from '../lib/hooks';
import { amount, clockTime, shortHex, timeAgo, tsDate } from '../lib/format';
import { href, navigate } from '../lib/route';
import { decodeProofTx, decodeTx, type DecodedMessage, type DecodedTx, type ProofTx, type Value } from '../lib/decode';
import { Hex } from '../components/Hex';
import { Loading } from '../components/Spinner';
import { Copy } from '../components/Copy';

export default function Explorer({ route }: PageProps) {
  return (
    <div class="page">
      <div class="split">
        <h1>Explorer</h1>
        <Search />
      </div>
      {route[0] === 'block' && route[1] ? (
        <BlockView height={route[1]} />
      ) : route[0] === 'tx' && route[1] ? (
        <TxView hash={route[1]} />
      ) : (
        <Latest />
      )}
    </div>
  );
}

function Search() {
  const [q, setQ] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const go = (e: Event) => {
    e.preventDefault();
    const t = q.trim().replace(/^#/, '');
    if (/^\d+$/.test(t)) return navigate('explorer', 'block', t);
    if (/^(0x)?[0-9a-fA-F]{64}$/.test(t)) return navigate('explorer', 'tx', t.replace(/^0x/, '').toLowerCase());
    setErr('Enter a block height or a 64-hex-digit transaction hash.');
  };
  return (
    <form class="search row tight" onSubmit={go} role="search">
      <input
        type="search"
        placeholder="block height or tx hash"
        value={q}
        onInput={(e) => {
          setQ((e.target as HTMLInputElement).value);
          setErr(null);
        }}
        data-testid="explorer-search"
        aria-invalid={!!err}
      />
      <button type="submit" class="secondary">
        Go
      </button>
      {err && (
        <span class="error-text small" role="alert">
          {err}
        </span>
      )}
    </form>
  );
}

function Latest() {
  const { blocks, head, nodeError } = useApp();
  // Re-render relative times every few seconds without refetching anything.
  useThrottled(head, 1000);
  return (
    <section class="card">
      <h2>
        Latest blocks <span class="badge live">live</span>
      </h2>
      {blocks.length === 0 ? (
        nodeError ? <p class="muted">No blocks: the node is unreachable.</p> : <Loading what="blocks" />
      ) : (
        <div class="table-wrap">
          <table class="table" data-testid="blocks-table">
            <thead>
              <tr>
                <th>Height</th>
                <th>Time</th>
                <th class="num">Txs</th>
                <th>Hash</th>
                <th class="hide-sm">Proposer</th>
              </tr>
            </thead>
            <tbody>
              {blocks.map((b) => (
                <tr key={b.height.toString()} data-testid="block-row" data-height={b.height.toString()}>
                  <td>
                    <a href={href('explorer', 'block', b.height)}>#{b.height.toString()}</a>
                  </td>
                  <td title={tsDate(b.time)?.toISOString()}>
                    {clockTime(tsDate(b.time))} <span class="muted small">{timeAgo(tsDate(b.time))}</span>
                  </td>
                  <td class="num" title="signed transactions (the proposer's randomness proof not counted)">
                    {signed(b.txs) > 0 ? <span class="badge accent">{signed(b.txs)}</span> : <span class="muted">0</span>}
                  </td>
                  <td class="mono">{shortHex(b.hash, 8)}</td>
                  <td class="mono hide-sm">{shortHex(b.proposer, 6)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Signed transactions of a block: results with a sender (the randomness proof has none). */
function signed(txs: TxResult[]): number {
  return txs.filter((t) => t.sender !== '').length;
}

interface RandomnessView {
  height: number;
  output: string;
  fallback: boolean;
}

function BlockView({ height }: { height: string }) {
  const { client, token } = useApp();
  const h = /^\d+$/.test(height) ? BigInt(height) : null;
  const res = useAsync(client && h !== null ? () => client.block(h) : null, [client, height]);
  // The block's randomness, if the node still keeps it (history is pruned).
  const rnd = useAsync(
    client && h !== null ? () => client.queryModule<RandomnessView>('randomness', 'randomness', h.toString()).catch(() => null) : null,
    [client, height],
  );
  if (h === null) return <p class="error-text">"{height}" is not a block height.</p>;
  if (res.error)
    return (
      <p class="error-text" role="alert" data-testid="block-error">
        Block #{height}: {res.error}
      </p>
    );
  if (!res.data?.block || res.data.block.height !== h) return <Loading what={`block #${height}`} />;
  const b = res.data.block;
  const decoded = res.data.txs.map((raw) => safeDecode(raw, token.ss58));
  return (
    <>
      <section class="card" data-testid="block-detail" data-height={b.height.toString()}>
        <div class="split">
          <h2>Block #{b.height.toString()}</h2>
          <div class="row tight">
            {b.height > 1n && (
              <a class="button secondary small" href={href('explorer', 'block', b.height - 1n)}>
                ← #{(b.height - 1n).toString()}
              </a>
            )}
            <a class="button secondary small" href={href('explorer', 'block', b.height + 1n)}>
              #{(b.height + 1n).toString()} →
            </a>
          </div>
        </div>
        <dl class="dl">
          <dt>Time</dt>
          <dd>{tsDate(b.time)?.toISOString()}</dd>
          <dt>Hash</dt>
          <dd class="mono wrap">{toHex(b.hash)}</dd>
          <dt>App hash</dt>
          <dd class="mono wrap">{toHex(b.appHash)}</dd>
          <dt>Proposer</dt>
          <dd class="mono wrap">{toHex(b.proposer)}</dd>
          <dt>Transactions</dt>
          <dd>
            {signed(b.txs)} signed{b.txs.length > signed(b.txs) ? ' + the randomness proof' : ''}
          </dd>
          {rnd.data && (
            <>
              <dt>Randomness</dt>
              <dd class="mono wrap">{rnd.data.fallback ? 'fallback (no valid proof in this block)' : rnd.data.output.replace(/^0x/, '')}</dd>
            </>
          )}
        </dl>
        {b.events.length > 0 && <Events events={b.events} title={`${b.events.length} block events (begin/end block)`} />}
      </section>
      {b.txs.map((r, i) => (
        <TxCard key={i} result={r} decoded={decoded[i]} />
      ))}
    </>
  );
}

function safeDecode(raw: Uint8Array | undefined, ss58: number): DecodedTx | ProofTx | string {
  if (!raw) return 'the raw transaction was not returned';
  try {
    return decodeProofTx(raw) ?? decodeTx(raw, ss58);
  } catch (e) {
    return `cannot decode: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function TxView({ hash }: { hash: string }) {
  const { client, head, token } = useApp();
  const valid = /^(0x)?[0-9a-fA-F]{64}$/.test(hash);
  const tick = useThrottled(head, 2000);
  // A pending or unknown transaction is looked up again on new blocks; a
  // committed one is final.
  const final = useRef('');
  const res = useAsync(
    client && valid
      ? async () => {
          const t = await client.tx(fromHex(hash));
          if (t.status !== TxStatus.COMMITTED || !t.result) return { status: t.status, block: null };
          const blk = await client.block(t.result.height);
          final.current = hash;
          return { status: t.status, block: blk, index: t.result.index, result: t.result };
        }
      : null,
    [client, hash, final.current === hash ? 'final' : tick],
  );
  if (!valid) return <p class="error-text">"{hash}" is not a transaction hash (64 hex digits).</p>;
  if (res.error)
    return (
      <p class="error-text" role="alert">
        Transaction {shortHex(hash, 10)}: {res.error}
      </p>
    );
  if (!res.data) return <Loading what="the transaction" />;
  const d = res.data;
  if (!d.block || d.result === undefined || d.index === undefined)
    return (
      <section class="card" data-testid="tx-pending">
        <h2>Transaction {shortHex(hash, 10)}</h2>
        <p>{d.status === TxStatus.PENDING ? 'Pending in the node’s mempool: waiting for the next block…' : 'Unknown to this node (not in the mempool nor in a block).'}</p>
      </section>
    );
  const raw = d.block.txs[d.index];
  return <TxCard result={d.result} decoded={safeDecode(raw, token.ss58)} showBlock />;
}

function isProof(d: DecodedTx | ProofTx | string): d is ProofTx {
  return typeof d === 'object' && 'proof' in d;
}

function TxCard({ result, decoded, showBlock }: { result: TxResult; decoded: DecodedTx | ProofTx | string; showBlock?: boolean }) {
  const { token } = useApp();
  const hash = toHex(result.hash);
  const ok = result.code === 0;
  if (isProof(decoded))
    return (
      <section class="card tx" data-testid="tx-card" data-hash={hash}>
        <div class="split">
          <h3 class="mono wrap">
            <a href={href('explorer', 'tx', hash)}>tx {shortHex(hash, 10)}</a>
          </h3>
          <span class="badge accent">block randomness</span>
        </div>
        <p class="small muted">
          The proposer's ECVRF proof for block #{decoded.height.toString()}: not a signed transaction, always a block's first. Its output is the
          block's randomness (contract scheduling, heartbeat challenges, contracts' random streams).
        </p>
        <dl class="dl">
          {showBlock && (
            <>
              <dt>Block</dt>
              <dd>
                <a href={href('explorer', 'block', result.height)}>#{result.height.toString()}</a>
              </dd>
            </>
          )}
          <dt>Proof</dt>
          <dd>
            <Hex value={decoded.proof} limit={64} size />
          </dd>
        </dl>
      </section>
    );
  return (
    <section class="card tx" data-testid="tx-card" data-hash={hash}>
      <div class="split">
        <h3 class="mono wrap">
          <a href={href('explorer', 'tx', hash)}>tx {shortHex(hash, 10)}</a> <Copy text={hash} />
        </h3>
        <span class={`badge ${ok ? 'good' : 'bad'}`}>{ok ? 'success' : `failed (${result.codespace} ${result.code})`}</span>
      </div>
      <dl class="dl">
        {showBlock && (
          <>
            <dt>Block</dt>
            <dd>
              <a href={href('explorer', 'block', result.height)} data-testid="tx-block">
                #{result.height.toString()}
              </a>{' '}
              (index {result.index})
            </dd>
          </>
        )}
        <dt>Sender</dt>
        <dd class="mono wrap">{result.sender || (typeof decoded !== 'string' ? decoded.sender : '')}</dd>
        <dt>Fee</dt>
        <dd>{amount(result.fee, token, 6)}</dd>
        {typeof decoded !== 'string' && (
          <>
            <dt>Nonce</dt>
            <dd>
              {decoded.nonce.toString()} · {decoded.scheme} · expires at #{decoded.expiry.toString()} · {decoded.size.toLocaleString('en-US')} bytes
            </dd>
            {decoded.memo && (
              <>
                <dt>Memo</dt>
                <dd>{decoded.memo}</dd>
              </>
            )}
          </>
        )}
        {!ok && (
          <>
            <dt>Error</dt>
            <dd class="error-text">{result.log}</dd>
          </>
        )}
      </dl>
      {typeof decoded === 'string' ? (
        <p class="error-text">{decoded}</p>
      ) : (
        decoded.messages.map((m, i) => <MessageView key={i} m={m} />)
      )}
      {result.events.length > 0 && <Events events={result.events} title={`${result.events.length} events`} />}
    </section>
  );
}

function MessageView({ m }: { m: DecodedMessage }) {
  const { exampleName } = useApp();
  return (
    <div class="msg" data-testid="tx-msg" data-type={m.short}>
      <h4>
        {m.short} <span class="muted small mono">{m.type}</span>
      </h4>
      {m.push ? (
        <div class="push" data-testid="push-command">
          <p class="small">
            Encrypted command for contract{' '}
            <a class="mono" href={href('contracts', m.push.contractId)}>
              {exampleName(m.push.contractId) ?? shortHex(m.push.contractId, 8)}
            </a>
            . This ciphertext is exactly what the chain stores: method, arguments and caller are sealed to the contract's key.
          </p>
          <div class="kv small">
            <span>envelope</span>
            <span data-testid="push-envelope-size">{m.push.envelope.length.toLocaleString('en-US')} bytes</span>
            <EnvelopeHeader env={m.push.envelope} />
          </div>
          <Hex value={m.push.envelope} limit={96} testid="push-envelope" />
        </div>
      ) : m.unknown ? (
        <p class="muted small">Unknown message type {m.unknown}</p>
      ) : (
        <Fields fields={m.fields} />
      )}
    </div>
  );
}

const SUITE: Record<number, string> = { 0x647a: 'X-Wing (ML-KEM-768 + X25519)', 0x0001: 'HKDF-SHA256', 0x0002: 'AES-256-GCM' };
const KINDS: Record<number, string> = { 1: 'command', 2: 'query', 4: 'master-key handover', 5: 'contract key' };

/** The envelope's clear header: all the chain can read of a command besides its size. */
function EnvelopeHeader({ env }: { env: Uint8Array }) {
  try {
    const h = parseEnvelopeHeader(env);
    return (
      <span class="muted" data-testid="push-envelope-header">
        v{h.version} {KINDS[h.kind] ?? `kind ${h.kind}`} · {SUITE[h.kem]} / {SUITE[h.kdf]} / {SUITE[h.aead]} · recipient key id {toHex(h.keyId)}
      </span>
    );
  } catch (e) {
    return <span class="error-text">header: {e instanceof Error ? e.message : String(e)}</span>;
  }
}

function Fields({ fields }: { fields: { name: string; value: Value }[] }) {
  if (fields.length === 0) return <p class="muted small">(no fields)</p>;
  return (
    <dl class="dl fields">
      {fields.map((f) => (
        <Fragment key={f.name}>
          <dt>{f.name}</dt>
          <dd>
            <ValueView v={f.value} />
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

function ValueView({ v }: { v: Value }) {
  switch (v.kind) {
    case 'text':
      return <span class="mono wrap">{v.text}</span>;
    case 'bytes':
      return v.address ? (
        <span class="mono wrap" title={v.hex}>
          {v.address}
        </span>
      ) : (
        <Hex value={v.hex} limit={64} size={v.size > 32} />
      );
    case 'message':
      return <Fields fields={v.fields} />;
    case 'list':
      return v.items.length === 0 ? (
        <span class="muted">[]</span>
      ) : (
        <ol class="list">
          {v.items.map((x, i) => (
            <li key={i}>
              <ValueView v={x} />
            </li>
          ))}
        </ol>
      );
  }
}

function Events({ events, title }: { events: ChainEvent[]; title: string }) {
  return (
    <details class="events">
      <summary>{title}</summary>
      <ul class="list">
        {events.map((e, i) => (
          <li key={i}>
            <strong>{e.type}</strong>{' '}
            {e.attributes.map((a, j) => (
              <span key={j} class="attr small">
                <span class="muted">{a.key}=</span>
                <span class="mono">{a.value.length > 80 ? `${a.value.slice(0, 80)}…` : a.value}</span>
              </span>
            ))}
          </li>
        ))}
      </ul>
    </details>
  );
}

