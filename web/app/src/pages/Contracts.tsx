import { useEffect, useState } from 'preact/hooks';
import { fromHex, toHex, type ContractInfo } from '@veil-network/sdk';
import { useApp } from '../state';
import type { PageProps } from '../app';
import { useAction, useAsync, useThrottled } from '../lib/hooks';
import { bytesSize, normHex, pretty, shortAddr, shortHex } from '../lib/format';
import { href } from '../lib/route';
import { parseJsonArgs, randomSaltHex } from '../lib/input';
import { COMMAND_STEPS, command } from '../lib/contract';
import { ActionStatus } from '../components/ActionStatus';
import { Field } from '../components/Fields';
import { Loading } from '../components/Spinner';

export default function Contracts({ route }: PageProps) {
  const { contracts, head, exampleName } = useApp();
  const tick = useThrottled(head, 4000);
  const list = useAsync(contracts ? () => contracts.list() : null, [contracts, tick]);
  const selected = route[0] ? normHex(route[0]) : '';
  const [target, setTarget] = useState(selected);
  useEffect(() => {
    if (selected) setTarget(selected);
  }, [selected]);
  const detail = list.data?.find((c) => normHex(c.id) === selected);

  return (
    <div class="page">
      <h1>Contracts</h1>
      <section class="card">
        <h2>Deployed contracts</h2>
        {list.error && (
          <p class="error-text" role="alert">
            {list.error}
          </p>
        )}
        {!list.data ? (
          !list.error && <Loading what="contracts" />
        ) : list.data.length === 0 ? (
          <p class="muted">No contract is deployed yet.</p>
        ) : (
          <div class="table-wrap">
            <table class="table" data-testid="contracts-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Id</th>
                  <th class="num">Replicas</th>
                  <th>Keys</th>
                  <th class="hide-sm">Deployer</th>
                  <th class="num hide-sm">Log</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((c) => {
                  const id = normHex(c.id);
                  const name = exampleName(id);
                  return (
                    <tr key={id} data-testid="contract-row" data-name={name ?? c.label} data-id={id} class={id === selected ? 'selected' : ''}>
                      <td>
                        <a href={href('contracts', id)}>{name ?? (c.label || '(no label)')}</a>
                        {name && c.label && c.label !== name && <div class="muted small">{c.label}</div>}
                      </td>
                      <td class="mono" title={id}>
                        {shortHex(id, 8)}
                      </td>
                      <td class="num">
                        {c.workers.length}/{c.replicas}
                      </td>
                      <td>{c.keys_published ? <span class="badge good">published</span> : <span class="badge">pending</span>}</td>
                      <td class="hide-sm" title={c.deployer}>
                        {shortAddr(c.deployer, 6)}
                      </td>
                      <td class="num hide-sm">{c.next_sequence}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {detail && <Detail c={detail} />}
      <div class="grid2">
        <CallForm target={target} setTarget={setTarget} list={list.data ?? []} />
        <Deploy onDeployed={(id) => {
          setTarget(id);
          list.reload();
        }} />
      </div>
    </div>
  );
}

function Detail({ c }: { c: ContractInfo }) {
  const { exampleName } = useApp();
  return (
    <section class="card" data-testid="contract-detail">
      <h2>{exampleName(c.id) ?? (c.label || 'Contract')}</h2>
      <dl class="dl">
        <dt>Id</dt>
        <dd class="mono wrap">{normHex(c.id)}</dd>
        <dt>Code hash</dt>
        <dd class="mono wrap">{normHex(c.code_hash)}</dd>
        <dt>Account</dt>
        <dd class="mono wrap">{c.account}</dd>
        <dt>Deployer</dt>
        <dd class="mono wrap">{c.deployer}</dd>
        <dt>Instantiated</dt>
        <dd>
          at #{c.instantiated_at} · key epoch {c.key_epoch} · {c.keys_published ? 'keys published' : 'keys not published yet'}
        </dd>
        <dt>Workers</dt>
        <dd>
          <ul class="list">
            {c.workers.map((w) => (
              <li key={w} class="mono">
                {shortHex(w, 10)}
              </li>
            ))}
          </ul>
        </dd>
        <dt>Command log</dt>
        <dd>next sequence {c.next_sequence}</dd>
        {c.history && c.history.length > 0 && (
          <>
            <dt>Assignments</dt>
            <dd>
              <ul class="list small">
                {c.history.map((h, i) => (
                  <li key={i}>
                    #{h.height}: {h.reason} → {h.workers.map((w) => shortHex(w, 4)).join(', ')}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

function CallForm({ target, setTarget, list }: { target: string; setTarget(id: string): void; list: ContractInfo[] }) {
  const { contracts, account, token, exampleName } = useApp();
  const [method, setMethod] = useState('');
  const [args, setArgs] = useState('');
  const [call, runCall] = useAction();
  const [query, runQuery] = useAction();
  const [result, setResult] = useState<unknown>(undefined);

  const check = () => {
    const id = normHex(target.trim());
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error('Contract id must be 64 hex digits (pick one from the list).');
    if (!method.trim()) throw new Error('Enter the method to call, e.g. increment or get_count.');
    return { id, body: parseJsonArgs(args) };
  };
  const doCall = () =>
    runCall(`${method.trim() || '?'} (command)`, COMMAND_STEPS.slice(), async (report) => {
      const { id, body } = check();
      const { state } = await command(report, contracts!, account!.signer, id, method.trim(), body, token);
      return { ...state, message: 'Executed; the receipt above is readable by you only.' };
    });
  const doQuery = () =>
    runQuery(`${method.trim() || '?'} (query)`, ['querying'], async () => {
      setResult(undefined);
      const { id, body } = check();
      const r = await contracts!.query(account!.signer, id, method.trim(), body);
      setResult(r);
      return {};
    });

  return (
    <section class="card">
      <h2>Call or query</h2>
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          void doCall();
        }}
      >
        <Field label="Contract">
          <input
            class="mono"
            list="contract-ids"
            placeholder="64 hex digits"
            value={target}
            onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
            data-testid="call-contract"
          />
          <datalist id="contract-ids">
            {list.map((c) => (
              <option key={c.id} value={normHex(c.id)}>
                {exampleName(c.id) ?? c.label}
              </option>
            ))}
          </datalist>
        </Field>
        <Field label="Method">
          <input placeholder="e.g. increment" value={method} onInput={(e) => setMethod((e.target as HTMLInputElement).value)} data-testid="call-method" />
        </Field>
        <Field label="Arguments (JSON)" hint='e.g. {"by": 2}; empty for none'>
          <textarea class="mono" rows={3} value={args} onInput={(e) => setArgs((e.target as HTMLTextAreaElement).value)} data-testid="call-args" />
        </Field>
        <div class="row">
          <button type="submit" disabled={!account || call.phase === 'working'} data-testid="call-submit">
            Call (command)
          </button>
          <button type="button" class="secondary" disabled={!account || query.phase === 'working'} onClick={doQuery} data-testid="query-submit">
            Query
          </button>
        </div>
      </form>
      <ActionStatus state={call} testid="call-status" />
      <ActionStatus state={query} testid="query-status" />
      {query.phase === 'done' && (
        <pre class="json" data-testid="query-result">
          {result === undefined ? 'null' : pretty(result)}
        </pre>
      )}
    </section>
  );
}

function saltBytes(s: string): Uint8Array {
  const t = s.trim();
  if (/^(0x)?([0-9a-fA-F]{2})+$/.test(t)) return fromHex(t);
  return new TextEncoder().encode(t);
}

function Deploy({ onDeployed }: { onDeployed(id: string): void }) {
  const { contracts, account } = useApp();
  const [file, setFile] = useState<File | null>(null);
  const [salt, setSalt] = useState(randomSaltHex);
  const [label, setLabel] = useState('');
  const [replicas, setReplicas] = useState('');
  const [init, setInit] = useState('');
  const [state, run] = useAction();
  const [deployed, setDeployed] = useState<string | null>(null);

  const submit = (e: Event) => {
    e.preventDefault();
    void run(`Deploy ${file?.name ?? 'contract'}`, ['checking', 'deploying'], async (report) => {
      if (!file) throw new Error('Choose a .wasm file first (make contracts builds them into bin/contracts).');
      const wasm = new Uint8Array(await file.arrayBuffer());
      const isWasm = wasm.length >= 4 && wasm[0] === 0 && wasm[1] === 0x61 && wasm[2] === 0x73 && wasm[3] === 0x6d;
      if (!isWasm) throw new Error(`${file.name} is not a WebAssembly module (no \\0asm header); pick a .wasm file built by make contracts.`);
      if (!salt.trim()) throw new Error('Enter a salt: the contract id depends on it, so each deployment of the same code needs a new one.');
      const r = replicas.trim() === '' ? undefined : /^\d+$/.test(replicas.trim()) ? Number(replicas.trim()) : NaN;
      if (r !== undefined && (!Number.isInteger(r) || r < 0 || r > 64)) throw new Error('Replicas must be a whole number (0 = the chain default).');
      const initBytes = parseJsonArgs(init);
      if (new TextEncoder().encode(label).length > 64) throw new Error('A label holds at most 64 bytes.');
      setDeployed(null);
      report({ stage: 'deploying' });
      const d = await contracts!.deploy(account!.signer, wasm, {
        salt: saltBytes(salt),
        initArgs: initBytes,
        replicas: r,
        label: label.trim() || file.name.replace(/\.wasm$/, ''),
        waitKeys: true,
      });
      const id = normHex(d.id);
      setDeployed(id);
      onDeployed(id);
      setSalt(randomSaltHex());
      return {
        txHash: toHex(d.txHash),
        height: d.height,
        message: `${d.uploaded ? 'Code uploaded and instance' : 'Code already on chain; instance'} created: ${id}. Its keys are published, ready for calls.`,
      };
    });
  };

  return (
    <section class="card">
      <h2>Upload and instantiate</h2>
      <form class="form" onSubmit={submit}>
        <Field label="Contract (.wasm)" hint={file ? `${file.name}, ${bytesSize(file.size)}` : 'a Go contract built with make contracts'}>
          <input type="file" accept=".wasm,application/wasm" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} data-testid="wasm-file" />
        </Field>
        <Field label="Salt" hint="hex or text; a new salt gives a new instance of the same code">
          <div class="row tight">
            <input class="grow mono" value={salt} onInput={(e) => setSalt((e.target as HTMLInputElement).value)} data-testid="deploy-salt" />
            <button type="button" class="secondary small" onClick={() => setSalt(randomSaltHex())}>
              new
            </button>
          </div>
        </Field>
        <Field label="Label">
          <input value={label} maxLength={64} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} placeholder="defaults to the file name" data-testid="deploy-label" />
        </Field>
        <Field label="Replicas" hint="workers executing it; empty for the chain default">
          <input type="number" min="0" step="1" value={replicas} onInput={(e) => setReplicas((e.target as HTMLInputElement).value)} data-testid="deploy-replicas" />
        </Field>
        <Field label="Init arguments (JSON, public)" hint='e.g. {"max": 100} for guess-number'>
          <textarea class="mono" rows={2} value={init} onInput={(e) => setInit((e.target as HTMLTextAreaElement).value)} data-testid="deploy-init" />
        </Field>
        <button type="submit" disabled={!account || state.phase === 'working'} data-testid="deploy-submit">
          Deploy
        </button>
      </form>
      <ActionStatus state={state} testid="deploy-status" />
      {deployed && (
        <p class="small">
          Instance{' '}
          <a class="mono" href={href('contracts', deployed)} data-testid="deploy-id" data-id={deployed}>
            {deployed}
          </a>
        </p>
      )}
    </section>
  );
}
