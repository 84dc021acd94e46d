import { useState } from 'preact/hooks';
import { msgs, toHex } from '@veil-network/sdk';
import { useApp } from '../state';
import type { PageProps } from '../app';
import { useAction, useAsync, useThrottled, type Report } from '../lib/hooks';
import { amount, integer, perbill, shortAddr } from '../lib/format';
import { parsePositive } from '../lib/input';
import type { CandidateView, EraView, LedgerView, NominatorView, ValidatorsView } from '../lib/views';
import { ActionStatus } from '../components/ActionStatus';
import { AmountField, Field } from '../components/Fields';
import { Loading } from '../components/Spinner';

export default function Validators(_: PageProps) {
  const { client, head, token, account, accountByAddress } = useApp();
  const tick = useThrottled(head, 3000);
  const data = useAsync(
    client
      ? async () => {
          const [validators, era, candidates, nominators] = await Promise.all([
            client.queryModule<ValidatorsView>('staking', 'validators'),
            client.queryModule<EraView>('staking', 'era'),
            client.queryModule<CandidateView[]>('staking', 'candidates'),
            client.queryModule<NominatorView[]>('staking', 'nominators'),
          ]);
          return { validators, era, candidates, nominators };
        }
      : null,
    [client, tick],
  );
  const ledger = useAsync(
    client && account
      ? () =>
          client.queryModule<LedgerView>('staking', 'ledger', { stash: account.address }).catch((e) => {
            // "not bonded" is an answer, not an error.
            if (e instanceof Error && /not bonded/.test(e.message)) return null;
            throw e;
          })
      : null,
    [client, account?.address, tick],
  );

  const name = (stash: string) => {
    const a = accountByAddress(stash);
    if (a) return a.dev ? `//${a.name}` : a.name;
    return shortAddr(stash, 6);
  };

  if (data.error && !data.data)
    return (
      <div class="page">
        <h1>Validators & staking</h1>
        <p class="error-text" role="alert">
          {data.error}
        </p>
      </div>
    );
  if (!data.data)
    return (
      <div class="page">
        <h1>Validators & staking</h1>
        <Loading what="the validator set" />
      </div>
    );
  const { validators, era, candidates, nominators } = data.data;
  const targets = [...new Set([...validators.validators.map((v) => v.stash), ...candidates.map((c) => c.stash)])];
  return (
    <div class="page">
      <h1>Validators & staking</h1>
      <section class="card" data-testid="era">
        <h2>
          Era <span data-testid="era-number">{era.era}</span>
        </h2>
        <div class="stats">
          <Stat label="started at block" value={`#${era.start_height}`} />
          <Stat label="era length" value={`${era.era_length} blocks`} />
          <Stat label="next election" value={`#${era.next_election_height}`} />
          <Stat label="era points" value={String(era.total_points)} />
          <Stat label="validators / candidates / nominators" value={`${validators.validators.length} / ${validators.candidates} / ${validators.nominators}`} />
          <Stat label="pending payouts" value={String(era.pending_payouts)} />
          {era.previous && <Stat label={`era ${era.previous.era} payout`} value={amount(era.previous.payout, token)} />}
          {era.previous && <Stat label={`era ${era.previous.era} staked`} value={amount(era.previous.total_staked, token)} />}
        </div>
      </section>
      <section class="card">
        <h2>Active validators</h2>
        <div class="table-wrap">
          <table class="table" data-testid="validators-table">
            <thead>
              <tr>
                <th>Stash</th>
                <th class="num">Total stake</th>
                <th class="num">Own</th>
                <th class="num">Nominators</th>
                <th class="num">Commission</th>
                <th class="num">Points</th>
                <th class="num hide-sm">Power</th>
              </tr>
            </thead>
            <tbody>
              {validators.validators.map((v) => (
                <tr key={v.stash} data-testid="validator-row">
                  <td title={v.stash}>
                    <div>{name(v.stash)}</div>
                    <div class="muted small mono" title={`consensus address ${v.consensus_address}`}>
                      {v.consensus_address.slice(0, 12)}…
                    </div>
                  </td>
                  <td class="num" data-testid="validator-stake">
                    {v.exposure ? amount(v.exposure.total, token, 2) : '—'}
                  </td>
                  <td class="num">{v.exposure ? amount(v.exposure.own, token, 2) : '—'}</td>
                  <td class="num">
                    {v.exposure && v.exposure.others.length > 0 ? (
                      <details>
                        <summary>{v.exposure.others.length}</summary>
                        <ul class="list small">
                          {v.exposure.others.map((o) => (
                            <li key={o.who}>
                              {name(o.who)}: {amount(o.value, token, 2)}
                            </li>
                          ))}
                        </ul>
                      </details>
                    ) : (
                      0
                    )}
                  </td>
                  <td class="num">{v.commission_percent || perbill(v.commission)}</td>
                  <td class="num">{v.points}</td>
                  <td class="num hide-sm">{integer(v.power)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted small">Exposures of era {validators.era}: the stake backing each validator, its own and its nominators'.</p>
      </section>
      <div class="grid2">
        <section class="card">
          <h2>Candidates</h2>
          <ul class="list">
            {candidates.map((c) => (
              <li key={c.stash}>
                {name(c.stash)} · bonded {amount(c.active, token, 2)} · commission {perbill(c.commission)}
              </li>
            ))}
          </ul>
          <h2>Nominators</h2>
          {nominators.length === 0 ? (
            <p class="muted">No nominators yet.</p>
          ) : (
            <ul class="list">
              {nominators.map((n) => (
                <li key={n.stash}>
                  {name(n.stash)} · {amount(n.active, token, 2)} → {(n.targets ?? []).map(name).join(', ')}
                </li>
              ))}
            </ul>
          )}
        </section>
        {account && <MyStaking ledger={ledger.data} ledgerError={ledger.error} targets={targets} name={name} reload={ledger.reload} />}
      </div>
    </div>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div class="stat">
      <div class="muted small">{label}</div>
      <div class="stat-value">{value}</div>
    </div>
  );
}

function MyStaking({
  ledger,
  ledgerError,
  targets,
  name,
  reload,
}: {
  ledger: LedgerView | null | undefined;
  ledgerError: string | null;
  targets: string[];
  name(s: string): string;
  reload(): void;
}) {
  const { client, account, token } = useApp();
  const [value, setValue] = useState('');
  const [payee, setPayee] = useState<'staked' | 'stash'>('staked');
  const [picked, setPicked] = useState<string[]>([]);
  const [bond, runBond] = useAction();
  const [nom, runNom] = useAction();
  const [more, runMore] = useAction();
  if (!client || !account) return null;
  const bonded = !!ledger;

  const send = async (report: Report, messages: Parameters<typeof client.send>[1]) => {
    const built = await client.buildTx(account.signer, messages);
    report({ stage: 'submitted', txHash: toHex(built.hash), fee: amount(built.fee, token, 6) });
    const res = await client.submit(built.bytes, true);
    reload();
    return { stage: 'included' as const, height: res.height };
  };

  const doBond = (e: Event) => {
    e.preventDefault();
    void runBond(`${bonded ? 'Bond extra' : 'Bond'} ${value.trim()} ${token.symbol}`, ['checking', 'submitted', 'included'], async (report) => {
      const v = parsePositive(value, token);
      const acc = await client.account(account.address);
      if (v > acc.free) throw new Error(`Insufficient funds: ${account.name} has ${amount(acc.free, token)} free; bonding needs ${amount(v, token)} plus the fee.`);
      const m = bonded ? msgs.bondExtra(v) : msgs.bond(v, payee);
      return { ...(await send(report, [m])), message: `${amount(v, token)} bonded by ${account.name}.` };
    });
  };
  const doNominate = (e: Event) => {
    e.preventDefault();
    void runNom(`Nominate ${picked.length} validator(s)`, ['checking', 'submitted', 'included'], async (report) => {
      if (!bonded) throw new Error('Bond some funds first: only bonded stake can nominate.');
      if (picked.length === 0) throw new Error('Pick at least one validator to nominate.');
      return { ...(await send(report, [msgs.nominate(picked)])), message: `Nominations of ${account.name} take effect at the next election.` };
    });
  };
  const doChill = () =>
    runMore('Chill (stop validating/nominating)', ['checking', 'submitted', 'included'], async (report) => ({
      ...(await send(report, [msgs.chill()])),
      message: 'Chilled from the next election on.',
    }));

  return (
    <section class="card" data-testid="my-staking">
      <h2>My staking ({account.dev ? `//${account.name}` : account.name})</h2>
      {ledgerError ? (
        <p class="error-text">{ledgerError}</p>
      ) : ledger === undefined ? (
        <Loading what="your ledger" />
      ) : ledger === null ? (
        <p class="muted" data-testid="ledger">
          Not bonded.
        </p>
      ) : (
        <dl class="dl" data-testid="ledger">
          <dt>Role</dt>
          <dd data-testid="ledger-role">{ledger.role}</dd>
          <dt>Bonded</dt>
          <dd data-testid="ledger-active">
            {amount(ledger.active, token)} active of {amount(ledger.total, token)}
          </dd>
          {ledger.unlocking.length > 0 && (
            <>
              <dt>Unlocking</dt>
              <dd>{ledger.unlocking.map((c) => `${amount(c.value, token)} at era ${c.era}`).join(', ')}</dd>
            </>
          )}
          <dt>Rewards to</dt>
          <dd>{ledger.payee}</dd>
          {ledger.targets && ledger.targets.length > 0 && (
            <>
              <dt>Nominating</dt>
              <dd>{ledger.targets.map(name).join(', ')}</dd>
            </>
          )}
        </dl>
      )}
      <form class="form" onSubmit={doBond}>
        <h3>{bonded ? 'Bond more' : 'Bond'}</h3>
        <AmountField value={value} onInput={setValue} testid="bond-amount" />
        {!bonded && (
          <Field label="Rewards">
            <select value={payee} onChange={(e) => setPayee((e.target as HTMLSelectElement).value as 'staked' | 'stash')} data-testid="bond-payee">
              <option value="staked">re-staked (compound)</option>
              <option value="stash">paid to the stash (free balance)</option>
            </select>
          </Field>
        )}
        <button type="submit" disabled={bond.phase === 'working'} data-testid="bond-submit">
          {bonded ? 'Bond extra' : 'Bond'}
        </button>
        <ActionStatus state={bond} testid="bond-status" />
      </form>
      <form class="form" onSubmit={doNominate}>
        <h3>Nominate</h3>
        <div class="checks" data-testid="nominate-targets">
          {targets.map((t) => (
            <label key={t} class="check">
              <input
                type="checkbox"
                checked={picked.includes(t)}
                onChange={(e) => setPicked((e.target as HTMLInputElement).checked ? [...picked, t] : picked.filter((x) => x !== t))}
              />
              {name(t)}
            </label>
          ))}
        </div>
        <div class="row">
          <button type="submit" disabled={nom.phase === 'working'} data-testid="nominate-submit">
            Nominate
          </button>
          {bonded && ledger?.role !== 'idle' && (
            <button type="button" class="secondary" onClick={doChill} disabled={more.phase === 'working'} data-testid="chill-submit">
              Chill
            </button>
          )}
        </div>
        <ActionStatus state={nom} testid="nominate-status" />
        <ActionStatus state={more} testid="chill-status" />
      </form>
    </section>
  );
}
