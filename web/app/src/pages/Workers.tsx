import { useApp } from '../state';
import type { PageProps } from '../app';
import { useAsync, useThrottled } from '../lib/hooks';
import { amount, normHex, shortAddr, shortHex } from '../lib/format';
import { href } from '../lib/route';
import type { ComputeWorkerView, GatekeepersView, RegistryWorkerView } from '../lib/views';
import type { ContractInfo } from '@veil-network/sdk';
import { Loading } from '../components/Spinner';

export default function Workers(_: PageProps) {
  const { client, contracts, head, token, network, exampleName, accountByAddress } = useApp();
  const tick = useThrottled(head, 3000);
  const data = useAsync(
    client && contracts
      ? async () => {
          const [registry, compute, gatekeepers, list] = await Promise.all([
            client.queryModule<RegistryWorkerView[]>('registry', 'workers'),
            client.queryModule<ComputeWorkerView[]>('compute', 'workers'),
            client.queryModule<GatekeepersView>('registry', 'gatekeepers'),
            contracts.list(),
          ]);
          return { registry, compute, gatekeepers, list };
        }
      : null,
    [client, contracts, tick],
  );
  if (data.error && !data.data)
    return (
      <div class="page">
        <h1>Workers</h1>
        <p class="error-text" role="alert">
          {data.error}
        </p>
      </div>
    );
  if (!data.data)
    return (
      <div class="page">
        <h1>Workers</h1>
        <Loading what="the worker registry" />
      </div>
    );
  const { registry, compute, gatekeepers, list } = data.data;
  const computeBy = new Map(compute.map((c) => [normHex(c.identity), c]));
  const gkBy = new Map(gatekeepers.gatekeepers.map((g) => [normHex(g.identity), g]));
  const local = new Map((network?.workers ?? []).filter((w) => w.identity).map((w) => [normHex(w.identity!), w]));
  const assigned = (id: string): ContractInfo[] => list.filter((c) => c.workers.some((w) => normHex(w) === id));
  const h = head !== null ? Number(head) : 0;
  const operator = (a: string) => {
    const acc = accountByAddress(a);
    return acc ? (acc.dev ? `//${acc.name}` : acc.name) : shortAddr(a, 6);
  };

  return (
    <div class="page">
      <h1>Workers</h1>
      <p class="muted">
        TEE workers registered on chain with an attestation (registry), staked and computing (compute), and the contracts each serves.
        Gatekeepers hold the master key and hand contract keys to assigned workers.
      </p>
      {data.error && <p class="error-text">{data.error}</p>}
      {registry.length === 0 && <p class="muted">No worker is registered yet.</p>}
      <div class="cards">
        {[...registry]
          .sort((a, b) => (local.get(normHex(a.identity))?.name ?? normHex(a.identity)).localeCompare(local.get(normHex(b.identity))?.name ?? normHex(b.identity)))
          .map((w) => {
          const id = normHex(w.identity);
          const c = computeBy.get(id);
          const gk = gkBy.get(id);
          const lw = local.get(id);
          const cs = assigned(id);
          return (
            <section class="card worker" key={id} data-testid="worker-card" data-identity={id}>
              <div class="split">
                <h2 class="mono" title={w.identity}>
                  {lw?.name ?? shortHex(id, 8)}
                </h2>
                <div class="row tight">
                  <span class="badge" data-testid="worker-tee">
                    {w.tee_kind}
                  </span>
                  {gk && (
                    <span class="badge accent" data-testid="worker-gatekeeper">
                      gatekeeper #{gk.index}
                    </span>
                  )}
                  {w.stale ? <span class="badge bad">stale</span> : <span class="badge good">attested</span>}
                </div>
              </div>
              <dl class="dl">
                <dt>Identity</dt>
                <dd class="mono wrap">{w.identity}</dd>
                {lw?.api && (
                  <>
                    <dt>API</dt>
                    <dd class="mono wrap">{lw.api}</dd>
                  </>
                )}
                <dt>Operator</dt>
                <dd title={w.operator}>{operator(w.operator)}</dd>
                <dt>Measurement</dt>
                <dd class="mono wrap" data-testid="worker-measurement">
                  {w.measurement || '—'}
                </dd>
                <dt>TCB status</dt>
                <dd data-testid="worker-tcb">
                  {w.tcb_status || '—'}
                  {w.advisory_ids.length > 0 && <span class="muted small"> ({w.advisory_ids.join(', ')})</span>}
                  {w.simulated && <span class="muted small"> · simulated platform (dev only)</span>}
                </dd>
                <dt>Attested</dt>
                <dd>
                  at #{w.attested_at} · expires #{w.expires_at}
                  {h > 0 && w.expires_at > h && <span class="muted small"> (in {w.expires_at - h} blocks)</span>}
                </dd>
                <dt>Light client</dt>
                <dd>{w.synced_height ? `synced to #${w.synced_height} (reported at #${w.sync_reported_at})` : 'no sync report yet'}</dd>
                <dt>Version</dt>
                <dd>{w.version || '—'}</dd>
              </dl>
              <h3>Compute</h3>
              {c ? (
                <dl class="dl" data-testid="worker-compute">
                  <dt>State</dt>
                  <dd>
                    <span class={`badge ${c.state === 'computing' ? 'good' : ''}`} data-testid="worker-state">
                      {c.state}
                    </span>
                    {c.eligible ? <span class="muted small"> · eligible for scheduling</span> : <span class="muted small"> · not eligible</span>}
                    {c.forced_stop && <span class="badge bad">forced stop</span>}
                  </dd>
                  <dt>P (score) · V (value)</dt>
                  <dd>
                    P {c.score.toLocaleString('en-US')} · V {c.value.toLocaleString('en-US')} · share {c.share.toLocaleString('en-US')}
                  </dd>
                  <dt>Stake</dt>
                  <dd>{amount(c.stake, token)}</dd>
                  <dt>Heartbeats</dt>
                  <dd data-testid="worker-heartbeats">
                    {c.heartbeats} answered · {c.misses} missed · last at #{c.last_heartbeat || '—'}
                    {c.challenge && <span class="muted small"> · open challenge due #{c.challenge.deadline}</span>}
                  </dd>
                  <dt>Rewards</dt>
                  <dd>
                    {amount(c.rewards_total, token)} paid · {amount(c.pending_rewards, token)} pending
                    {c.slashed_total !== '0' && <span class="error-text"> · slashed {amount(c.slashed_total, token)}</span>}
                  </dd>
                </dl>
              ) : (
                <p class="muted small">Not bound for computing (no stake): contracts are not scheduled on it.</p>
              )}
              <h3>Assigned contracts ({cs.length})</h3>
              {cs.length === 0 ? (
                <p class="muted small">None.</p>
              ) : (
                <ul class="list" data-testid="worker-contracts">
                  {cs.map((k) => (
                    <li key={k.id}>
                      <a href={href('contracts', normHex(k.id))}>{exampleName(k.id) ?? (k.label || shortHex(k.id, 8))}</a>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          );
        })}
      </div>
      <section class="card" data-testid="gatekeepers">
        <h2>Gatekeepers</h2>
        {gatekeepers.gatekeepers.length === 0 ? (
          <p class="muted">No gatekeeper: contracts cannot get keys until governance designates one.</p>
        ) : (
          <ul class="list">
            {gatekeepers.gatekeepers.map((g) => (
              <li key={g.identity} data-testid="gatekeeper-row">
                #{g.index} <span class="mono">{local.get(normHex(g.identity))?.name ?? shortHex(g.identity, 8)}</span>{' '}
                <span class="muted small">added at #{g.added_at}</span>
              </li>
            ))}
          </ul>
        )}
        <p>
          Master key epoch: <strong data-testid="master-key-epoch">{gatekeepers.current_epoch}</strong>
        </p>
        {gatekeepers.master_keys.length > 0 && (
          <ul class="list small">
            {gatekeepers.master_keys.map((m) => (
              <li key={m.epoch}>
                epoch {m.epoch}: generated by {local.get(normHex(m.generator))?.name ?? shortHex(m.generator, 6)}, requested #{m.requested_at},{' '}
                {m.published_at ? `published #${m.published_at}` : 'not published yet'}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
