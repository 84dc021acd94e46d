import type { ActionState, Stage } from '../lib/hooks';
import { href } from '../lib/route';
import { bytesSize, integer, pretty, shortHex } from '../lib/format';
import { Spinner } from './Spinner';

const LABELS: Record<Stage, { doing: string; done: string }> = {
  checking: { doing: 'Checking', done: 'Checked' },
  sealing: { doing: 'Encrypting the command (HPKE X-Wing) and signing', done: 'Encrypted and signed' },
  submitted: { doing: 'Submitted — pending in the mempool', done: 'Submitted' },
  included: { doing: 'Waiting for a block', done: 'Included' },
  executed: { doing: 'Executing in the TEE workers', done: 'Executed' },
  querying: { doing: 'Querying a TEE worker (encrypted)', done: 'Answered' },
  deploying: { doing: 'Uploading the code, instantiating, waiting for the gatekeeper to publish its keys', done: 'Deployed' },
};

/**
 * ActionStatus shows an action's progress: each stage with a spinner
 * while it runs, the block and transaction (linked to the explorer) once
 * included, the TEE's receipt once executed, and the reason if it failed.
 */
export function ActionStatus({ state, testid }: { state: ActionState; testid: string }) {
  if (state.phase === 'idle') return null;
  const cur = state.stage ? state.steps.indexOf(state.stage) : -1;
  const elapsed = state.finishedAt ? Math.round(state.finishedAt - state.startedAt) : undefined;
  return (
    <div class={`action action-${state.phase}`} data-testid={testid} data-phase={state.phase} data-stage={state.stage} aria-live="polite">
      {state.title && <div class="action-title">{state.title}</div>}
      {state.steps.length > 1 && (
        <ol class="steps">
          {state.steps.map((s, i) => {
            const done = state.phase === 'done' || i < cur;
            const failed = state.phase === 'error' && i === cur;
            const active = state.phase === 'working' && i === cur;
            return (
              <li key={s} class={done ? 'done' : failed ? 'failed' : active ? 'active' : 'todo'}>
                {active ? <Spinner label={LABELS[s].doing} /> : <span class="dot" aria-hidden="true" />}
                <span>
                  {done ? LABELS[s].done : LABELS[s].doing}
                  {s === 'included' && done && state.height !== undefined && (
                    <>
                      {' in block '}
                      <a href={href('explorer', 'block', state.height)} data-testid={`${testid}-block`}>
                        #{state.height.toString()}
                      </a>
                    </>
                  )}
                </span>
              </li>
            );
          })}
        </ol>
      )}
      {state.steps.length === 1 && state.phase === 'working' && (
        <p class="muted">
          <Spinner label={LABELS[state.steps[0]].doing} /> {LABELS[state.steps[0]].doing}…
        </p>
      )}
      {state.steps.length === 1 && state.phase === 'done' && !state.message && <p class="ok-text">{LABELS[state.steps[0]].done}</p>}
      {state.txHash && (
        <div class="kv small">
          <span>tx</span>
          <a href={href('explorer', 'tx', state.txHash)} data-testid={`${testid}-tx`} title={state.txHash}>
            {shortHex(state.txHash, 10)}
          </a>
          {state.fee && <span class="muted">fee {state.fee}</span>}
          {state.envelopeBytes !== undefined && <span class="muted">ciphertext {bytesSize(state.envelopeBytes)}</span>}
          {state.sequence !== undefined && <span class="muted">log sequence {state.sequence.toString()}</span>}
        </div>
      )}
      {state.receipt && (
        <div class="receipt" data-testid={`${testid}-receipt`}>
          <span class={`badge ${state.receipt.status === 'ok' ? 'good' : 'bad'}`}>{state.receipt.status}</span>{' '}
          <span class="muted small">
            receipt #{state.receipt.sequence} · height {state.receipt.height} · gas {integer(state.receipt.gas_used)}
          </span>
          {state.receipt.result !== undefined && state.receipt.result !== null && <pre class="json">{pretty(state.receipt.result)}</pre>}
          {state.receipt.events && state.receipt.events.length > 0 && (
            <ul class="list small" data-testid={`${testid}-events`}>
              {state.receipt.events.map((ev, i) => (
                <li key={i}>
                  event <strong>{String(ev?.topic ?? '')}</strong> <code class="wrap">{pretty(ev?.data ?? null, 0)}</code>
                </li>
              ))}
            </ul>
          )}
          {state.receipt.error && <p class="error-text">{state.receipt.error}</p>}
        </div>
      )}
      {state.phase === 'done' && state.message && (
        <p class="ok-text" data-testid={`${testid}-message`}>
          {state.message}
        </p>
      )}
      {state.phase === 'error' && (
        <p class="error-text" role="alert" data-testid={`${testid}-error`}>
          {state.error}
        </p>
      )}
      {elapsed !== undefined && <p class="muted small">{elapsed.toLocaleString('en-US')} ms</p>}
    </div>
  );
}
