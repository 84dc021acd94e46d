import { useEffect, useState } from 'preact/hooks';
import { ContractError, toHex } from '@veil-network/sdk';
import { useApp, type Account } from '../state';
import type { PageProps } from '../app';
import { useAccountValue, useAction, useAsync, useThrottled } from '../lib/hooks';
import { amount, exactAmount, integer, shortHex } from '../lib/format';
import { href } from '../lib/route';
import { parsePositive, parseRecipient, U64_MAX } from '../lib/input';
import { COMMAND_STEPS, command, u64Of } from '../lib/contract';
import { isNotAuthorized } from '../lib/errors';
import { ActionStatus } from '../components/ActionStatus';
import { AmountField, Field, Needs, RecipientField } from '../components/Fields';
import { Spinner } from '../components/Spinner';

const TABS = [
  { key: 'hello-world', title: 'Hello world', blurb: 'A counter: increment it with an encrypted command, read it with an encrypted query.' },
  { key: 'secret-note', title: 'Secret note', blurb: 'One private note per account; only its owner can read it back.' },
  { key: 'secret-wallet', title: 'Secret wallet', blurb: 'Confidential balances: deposit from the chain, transfer privately, withdraw back.' },
  { key: 'guess-number', title: 'Guess the number', blurb: 'A secret drawn from randomness that only exists inside the TEEs.' },
] as const;

type TabKey = (typeof TABS)[number]['key'];

export default function Confidential({ route }: PageProps) {
  const { examples, account, contracts } = useApp();
  const tab: TabKey = (TABS.find((t) => t.key === route[0])?.key ?? 'hello-world') as TabKey;
  const info = TABS.find((t) => t.key === tab)!;
  const id = examples[tab];
  return (
    <div class="page">
      <h1>Confidential contracts</h1>
      <p class="muted">
        Commands are sealed in this tab to the contract's key (HPKE with X-Wing, post-quantum hybrid) and signed by your account: the
        chain stores only ciphertext. Queries go straight to a TEE worker, sealed to its attested key. Nobody but the TEEs and you sees
        the arguments or results.
      </p>
      <div class="tabs" role="tablist">
        {TABS.map((t) => (
          <a key={t.key} role="tab" aria-selected={t.key === tab} class={t.key === tab ? 'active' : ''} href={href('confidential', t.key)} data-testid={`tab-${t.key}`}>
            {t.title}
          </a>
        ))}
      </div>
      <section class="card" data-testid={`contract-${tab}`}>
        <div class="split">
          <h2>{info.title}</h2>
          {id && (
            <a class="mono small" href={href('contracts', id)} title={id}>
              contract {shortHex(id, 8)}
            </a>
          )}
        </div>
        <p class="muted">{info.blurb}</p>
        {!id ? (
          <p class="error-text" role="alert" data-testid="contract-missing">
            The {tab} example is not deployed on this network. Start the dev network with the example contracts: <code>make dev</code> (or{' '}
            <code>veil dev --contracts bin/contracts</code>).
          </p>
        ) : !account || !contracts ? (
          <Needs what="the network and accounts" />
        ) : tab === 'hello-world' ? (
          <HelloWorld id={id} account={account} />
        ) : tab === 'secret-note' ? (
          <SecretNote id={id} account={account} />
        ) : tab === 'secret-wallet' ? (
          <SecretWallet id={id} account={account} />
        ) : (
          <GuessNumber id={id} account={account} />
        )}
      </section>
    </div>
  );
}

interface Props {
  id: string;
  account: Account;
}

function HelloWorld({ id, account }: Props) {
  const { contracts, token } = useApp();
  // A u64 counter: a bigint, exact at any size.
  const [count, setCount] = useState<bigint | null>(null);
  const [by, setBy] = useState('1');
  const [read, runRead] = useAction();
  const [inc, runInc] = useAction();

  const query = () =>
    runRead('Read the count (get_count)', ['querying'], async () => {
      const r = await contracts!.query<{ count: number | bigint }>(account.signer, id, 'get_count');
      setCount(u64Of(r?.count, 'count'));
      return { result: r };
    });
  useEffect(() => {
    void query();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, account.name]);

  const increment = (e: Event) => {
    e.preventDefault();
    void runInc(`increment {"by": ${by.trim() || 1}}`, [...COMMAND_STEPS, 'querying'], async (report) => {
      const n = by.trim() === '' ? 1n : /^\d+$/.test(by.trim()) ? BigInt(by.trim()) : NaN;
      if (typeof n !== 'bigint' || n <= 0n || n > U64_MAX) throw new Error(`"by" must be a whole number from 1 to ${U64_MAX}.`);
      const { state } = await command(report, contracts!, account.signer, id, 'increment', { by: n }, token);
      report({ ...state, stage: 'querying' });
      const r = await contracts!.query<{ count: number | bigint }>(account.signer, id, 'get_count');
      const c = u64Of(r?.count, 'count');
      setCount(c);
      return { message: `The count is now ${integer(c)} (read back with an encrypted query).` };
    });
  };

  return (
    <div class="stack">
      <div class="counter">
        <div class="muted small">count</div>
        <div class="big" data-testid="hw-count" data-count={count?.toString() ?? ''}>
          {count !== null ? integer(count) : read.phase === 'working' ? <Spinner label="Reading the count" /> : '—'}
        </div>
        <button type="button" class="secondary small" onClick={query} disabled={read.phase === 'working'} data-testid="hw-get">
          Read count (encrypted query)
        </button>
      </div>
      <ActionStatus state={read.phase === 'error' ? read : { ...read, phase: 'idle' }} testid="hw-get-status" />
      <form class="form row" onSubmit={increment}>
        <Field label="by">
          <input type="number" min="1" step="1" value={by} onInput={(e) => setBy((e.target as HTMLInputElement).value)} data-testid="hw-by" />
        </Field>
        <button type="submit" disabled={inc.phase === 'working'} data-testid="hw-increment">
          {inc.phase === 'working' ? 'Incrementing…' : 'Increment (encrypted command)'}
        </button>
      </form>
      <ActionStatus state={inc} testid="hw-increment-status" />
    </div>
  );
}

function SecretNote({ id, account }: Props) {
  const { contracts, accounts, token } = useApp();
  const [text, setText] = useState('');
  const [owner, setOwner] = useState('');
  const [note, setNote] = useAccountValue<string>(account.name);
  const [set, runSet] = useAction();
  const [get, runGet] = useAction();

  const save = (e: Event) => {
    e.preventDefault();
    void runSet('set_note', COMMAND_STEPS.slice(), async (report) => {
      if (new TextEncoder().encode(text).length > 4096) throw new Error('A note holds at most 4,096 bytes.');
      const { state } = await command(report, contracts!, account.signer, id, 'set_note', { text }, token);
      return { ...state, message: `Note saved for ${account.name}. Only ${account.name} can read it.` };
    });
  };
  const ownerAcc = accounts.find((a) => a.name === owner) ?? account;
  const read = (e: Event) => {
    e.preventDefault();
    const reader = account.name;
    setNote(reader, null);
    void runGet(
      `get_note${ownerAcc.name !== account.name ? ` of ${ownerAcc.name}` : ''} as ${account.name}`,
      ['querying'],
      async () => {
        try {
          const r = await contracts!.query<{ text: string }>(account.signer, id, 'get_note', { owner: ownerAcc.hex });
          setNote(reader, String(r?.text ?? ''));
          return { message: `Decrypted ${ownerAcc.name}'s note.` };
        } catch (err) {
          if (err instanceof ContractError && !isNotAuthorized(err) && /no note/.test(err.message))
            throw new Error(`${ownerAcc.name} has no note yet: set one first.`);
          throw err;
        }
      },
      {
        notAuthorized: `Only the owner can read this note: it belongs to ${ownerAcc.name}, and you are ${account.name}. The contract refused inside the TEE.`,
      },
    );
  };

  return (
    <div class="stack">
      <form class="form" onSubmit={save}>
        <Field label={`Your note (as ${account.name})`}>
          <textarea rows={3} maxLength={4096} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} data-testid="note-text" />
        </Field>
        <button type="submit" disabled={set.phase === 'working'} data-testid="note-set">
          Save note (encrypted command)
        </button>
      </form>
      <ActionStatus state={set} testid="note-set-status" />
      <form class="form row" onSubmit={read}>
        <Field label="Whose note">
          <select value={owner || account.name} onChange={(e) => setOwner((e.target as HTMLSelectElement).value)} data-testid="note-owner">
            {accounts.map((a) => (
              <option key={a.name} value={a.name}>
                {a.name === account.name ? `mine (${a.name})` : a.name}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" class="secondary" disabled={get.phase === 'working'} data-testid="note-get">
          Read note (encrypted query)
        </button>
      </form>
      <ActionStatus state={get} testid="note-get-status" />
      {note !== null && (
        <blockquote class="note" data-testid="note-result">
          {note}
        </blockquote>
      )}
    </div>
  );
}

function SecretWallet({ id, account }: Props) {
  const { contracts, client, token, accounts, head } = useApp();
  const [balance, holdBalance] = useAccountValue<bigint>(account.name);
  const setBalance = (v: bigint | null) => holdBalance(account.name, v);
  const [dep, setDep] = useState('');
  const [to, setTo] = useState('');
  const [amt, setAmt] = useState('');
  const [wd, setWd] = useState('');
  const [q, runQ] = useAction();
  const [d, runD] = useAction();
  const [t, runT] = useAction();
  const [w, runW] = useAction();
  const tick = useThrottled(head, 1500);
  const chainBal = useAsync(client ? () => client.account(account.address) : null, [client, account.address, tick]);
  const onChain = chainBal.data?.address === account.address ? chainBal.data.free : undefined;

  const refresh = () =>
    runQ(`Private balance of ${account.name}`, ['querying'], async () => {
      const r = await contracts!.query<{ balance: number | bigint }>(account.signer, id, 'balance');
      setBalance(u64Of(r?.balance, 'balance'));
      return {};
    });
  useEffect(() => {
    setBalance(null);
    void refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, account.name]);

  const u64 = (text: string, what: string) => {
    const v = parsePositive(text, token, what);
    if (v > U64_MAX) throw new Error(`${what} is too large: the wallet counts planck in 64 bits (at most ${amount(U64_MAX, token)}).`);
    return v;
  };

  const deposit = (e: Event) => {
    e.preventDefault();
    void runD(`Deposit ${dep.trim()} ${token.symbol}`, ['checking', 'submitted', 'included', 'executed'], async (report) => {
      const v = u64(dep, 'Deposit');
      const now = await client!.account(account.address);
      if (v > now.free) throw new Error(`Insufficient funds: ${account.name} has ${exactAmount(now.free, token)} free on chain; the deposit needs ${exactAmount(v, token)} plus the fee.`);
      report({ stage: 'submitted' });
      const r = await contracts!.deposit(account.signer, id, v);
      report({ stage: 'executed', txHash: toHex(r.result.hash), height: r.result.height, sequence: r.sequence });
      const receipt = await contracts!.waitReceipt(account.signer, id, r.sequence);
      report({ receipt });
      if (receipt.status !== 'ok') throw new Error(`The deposit was not credited: ${receipt.status} ${receipt.error ?? ''}`);
      const res = receipt.result as { balance?: number | bigint } | null | undefined;
      if (res?.balance !== undefined) setBalance(u64Of(res.balance, 'balance'));
      return { message: `Deposited ${exactAmount(v, token)}: public on chain, credited privately inside the TEE.` };
    });
  };

  const transfer = (e: Event) => {
    e.preventDefault();
    void runT(`Confidential transfer of ${amt.trim()} ${token.symbol}`, COMMAND_STEPS.slice(), async (report) => {
      const dest = parseRecipient(to, accounts, token);
      const v = u64(amt, 'Amount');
      if (balance !== null && v > balance)
        throw new Error(`Insufficient private balance: ${account.name} holds ${exactAmount(balance, token)} in the secret wallet; deposit first.`);
      const { result, state } = await command(report, contracts!, account.signer, id, 'transfer', { to: dest.hex, amount: v }, token);
      const left = (result.receipt?.result as { balance?: number | bigint } | null | undefined)?.balance;
      if (left !== undefined) setBalance(u64Of(left, 'balance'));
      return {
        ...state,
        message: `Sent ${exactAmount(v, token)} to ${dest.name ?? shortHex(dest.hex)} confidentially: the chain saw only ciphertext.`,
      };
    });
  };

  const withdraw = (e: Event) => {
    e.preventDefault();
    void runW(`Withdraw ${wd.trim()} ${token.symbol}`, COMMAND_STEPS.slice(), async (report) => {
      const v = u64(wd, 'Withdrawal');
      if (balance !== null && v > balance)
        throw new Error(`Insufficient private balance: ${account.name} holds ${exactAmount(balance, token)} in the secret wallet.`);
      const { result, state } = await command(report, contracts!, account.signer, id, 'withdraw', { amount: v }, token);
      const left = (result.receipt?.result as { balance?: number | bigint } | null | undefined)?.balance;
      if (left !== undefined) setBalance(u64Of(left, 'balance'));
      return {
        ...state,
        message: `Withdrawal of ${exactAmount(v, token)} executed; the chain pays it to ${account.name} when a worker reports the signed egress (a few blocks).`,
      };
    });
  };

  const busy = [d, t, w].some((s) => s.phase === 'working');
  return (
    <div class="stack">
      <div class="split">
        <div>
          <div class="muted small">Private balance of {account.name} (only visible to {account.name})</div>
          <div
            class="big"
            data-testid="sw-balance"
            data-account={account.name}
            data-planck={balance?.toString() ?? ''}
            title={balance !== null ? exactAmount(balance, token) : undefined}
          >
            {balance !== null ? amount(balance, token, 6) : q.phase === 'working' ? <Spinner label="Querying the balance" /> : '—'}
          </div>
          <button type="button" class="secondary small" onClick={refresh} disabled={q.phase === 'working'} data-testid="sw-refresh">
            Refresh (encrypted query)
          </button>
        </div>
        <div>
          <div class="muted small">On-chain free balance</div>
          <div
            class="big"
            data-testid="sw-chain-balance"
            data-account={account.name}
            data-planck={onChain?.toString() ?? ''}
            title={onChain !== undefined ? exactAmount(onChain, token) : undefined}
          >
            {onChain !== undefined ? amount(onChain, token) : '…'}
          </div>
        </div>
      </div>
      <ActionStatus state={q.phase === 'error' ? q : { ...q, phase: 'idle' }} testid="sw-balance-status" />
      <div class="grid3">
        <form class="form" onSubmit={deposit}>
          <h3>Deposit</h3>
          <AmountField value={dep} onInput={setDep} testid="sw-deposit-amount" hint="from your on-chain balance (public amount)" />
          <button type="submit" disabled={busy} data-testid="sw-deposit">
            Deposit
          </button>
          <ActionStatus state={d} testid="sw-deposit-status" />
        </form>
        <form class="form" onSubmit={transfer}>
          <h3>Transfer privately</h3>
          <RecipientField value={to} onInput={setTo} testid="sw-to" />
          <AmountField value={amt} onInput={setAmt} testid="sw-transfer-amount" />
          <button type="submit" disabled={busy} data-testid="sw-transfer">
            Transfer
          </button>
          <ActionStatus state={t} testid="sw-transfer-status" />
        </form>
        <form class="form" onSubmit={withdraw}>
          <h3>Withdraw to chain</h3>
          <AmountField value={wd} onInput={setWd} testid="sw-withdraw-amount" hint="paid to your on-chain account" />
          <button type="submit" disabled={busy} data-testid="sw-withdraw">
            Withdraw
          </button>
          <ActionStatus state={w} testid="sw-withdraw-status" />
        </form>
      </div>
    </div>
  );
}

function GuessNumber({ id, account }: Props) {
  const { contracts, token } = useApp();
  const [n, setN] = useState('50');
  const [answer, setAnswer] = useState<string | null>(null);
  const [secret, setSecret] = useAccountValue<bigint>(account.name);
  const [g, runG] = useAction();
  const [p, runP] = useAction();

  const guess = (e: Event) => {
    e.preventDefault();
    void runG(`guess ${n}`, COMMAND_STEPS.slice(), async (report) => {
      if (!/^\d+$/.test(n.trim())) throw new Error('Enter a whole number to guess.');
      setAnswer(null);
      const { result, state } = await command(report, contracts!, account.signer, id, 'guess', { n: BigInt(n.trim()) }, token);
      const a = (result.receipt?.result as { answer?: string } | undefined)?.answer ?? '?';
      setAnswer(a);
      const text =
        a === 'correct' ? `Correct! ${n} was the secret; a new one has been drawn.` : a === 'higher' ? `The secret is higher than ${n}.` : a === 'lower' ? `The secret is lower than ${n}.` : `Answer: ${a}`;
      return { ...state, message: text };
    });
  };
  const peek = () => {
    const by = account.name;
    return runP(
      'peek',
      ['querying'],
      async () => {
        // The game's range is a u64 chosen at deployment (100 by default).
        const r = await contracts!.query<{ n: number | bigint }>(account.signer, id, 'peek');
        const secretN = u64Of(r?.n, 'secret');
        setSecret(by, secretN);
        return { message: `The secret is ${secretN}.` };
      },
      { notAuthorized: `Only the game's owner (its deployer, //Alice on a dev network) may peek; you are ${account.name}.` },
    );
  };

  return (
    <div class="stack">
      <form class="form row" onSubmit={guess}>
        <Field label="Your guess (1–100)">
          <input type="number" min="1" step="1" value={n} onInput={(e) => setN((e.target as HTMLInputElement).value)} data-testid="gn-n" />
        </Field>
        <button type="submit" disabled={g.phase === 'working'} data-testid="gn-guess">
          Guess (encrypted command)
        </button>
      </form>
      {answer && (
        <p class="answer" data-testid="gn-answer">
          {answer}
        </p>
      )}
      <ActionStatus state={g} testid="gn-guess-status" />
      <div class="row">
        <button type="button" class="secondary" onClick={peek} disabled={p.phase === 'working'} data-testid="gn-peek">
          Peek at the secret (owner only)
        </button>
        {secret !== null && <span data-testid="gn-secret">secret = {secret.toString()}</span>}
      </div>
      <ActionStatus state={p} testid="gn-peek-status" />
    </div>
  );
}
