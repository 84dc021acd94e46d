import { useState } from 'preact/hooks';
import { msgs, toHex } from '@veil-network/sdk';
import { useApp, type Account } from '../state';
import type { PageProps } from '../app';
import { useAction, useAsync, useThrottled } from '../lib/hooks';
import { amount, shortAddr } from '../lib/format';
import { parsePositive, parseRecipient } from '../lib/input';
import { explain } from '../lib/errors';
import { ActionStatus } from '../components/ActionStatus';
import { AmountField, Field, Needs, RecipientField } from '../components/Fields';
import { Copy } from '../components/Copy';
import { Spinner } from '../components/Spinner';

interface Balance {
  free: bigint;
  reserved: bigint;
  nonce: bigint;
}

/** Balances of every known account, refreshed as blocks arrive. */
function useBalances(accounts: Account[]) {
  const { client, head } = useApp();
  const tick = useThrottled(head, 1500);
  return useAsync<Record<string, Balance>>(
    client && accounts.length
      ? async () => {
          const list = await Promise.all(accounts.map((a) => client.account(a.address)));
          return Object.fromEntries(accounts.map((a, i) => [a.name, list[i]]));
        }
      : null,
    [client, accounts.map((a) => a.address).join(), tick],
  );
}

export default function Wallet(_: PageProps) {
  const app = useApp();
  const { account, accounts, token, client } = app;
  const balances = useBalances(accounts);
  const mine = account ? balances.data?.[account.name] : undefined;

  return (
    <div class="page">
      <h1>Wallet</h1>
      {!account ? (
        <Needs what="the dev accounts" />
      ) : (
        <section class="card" data-testid="wallet-account">
          <div class="split">
            <div>
              <div class="muted small">Selected account</div>
              <h2 class="account-name" data-testid="wallet-account-name">
                {account.dev ? `//${account.name}` : account.name}
              </h2>
              <div class="mono small wrap" data-testid="wallet-address">
                {account.address} <Copy text={account.address} />
              </div>
            </div>
            <div class="balance">
              <div class="muted small">Free balance</div>
              <div class="big" data-testid="balance-free" data-planck={mine?.free.toString() ?? ''}>
                {mine ? amount(mine.free, token) : balances.error ? '—' : <Spinner label="Loading balance" />}
              </div>
              {mine && (
                <div class="muted small">
                  reserved {amount(mine.reserved, token)} · next nonce {mine.nonce.toString()}
                </div>
              )}
            </div>
          </div>
          {balances.error && (
            <p class="error-text" role="alert" data-testid="balance-error">
              {balances.error}
            </p>
          )}
        </section>
      )}
      <div class="grid2">
        {account && client && <Transfer account={account} free={mine?.free} />}
        <AddAccount />
      </div>
      <section class="card">
        <h2>Accounts</h2>
        <p class="muted small">
          The Substrate dev accounts are funded in the dev genesis; //Alice is sudo. Pick one here or in the header.
        </p>
        <div class="table-wrap">
          <table class="table" data-testid="accounts-table">
            <thead>
              <tr>
                <th>Account</th>
                <th class="hide-sm">Address</th>
                <th class="num">Free</th>
                <th class="num hide-sm">Reserved</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {accounts.map((a) => {
                const b = balances.data?.[a.name];
                return (
                  <tr key={a.name} class={a.name === account?.name ? 'selected' : ''} data-testid={`account-row-${a.name}`}>
                    <td>{a.dev ? `//${a.name}` : a.name}</td>
                    <td class="mono hide-sm" title={a.address}>
                      {shortAddr(a.address, 8)} <Copy text={a.address} />
                    </td>
                    <td class="num" data-testid={`balance-${a.name}`} data-planck={b?.free.toString() ?? ''}>
                      {b ? amount(b.free, token) : '…'}
                    </td>
                    <td class="num hide-sm">{b ? amount(b.reserved, token) : '…'}</td>
                    <td>
                      {a.name !== account?.name && (
                        <button type="button" class="small secondary" onClick={() => app.selectAccount(a.name)} data-testid={`use-${a.name}`}>
                          Use
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}

function Transfer({ account, free }: { account: Account; free?: bigint }) {
  const { client, accounts, token } = useApp();
  const [to, setTo] = useState('');
  const [value, setValue] = useState('');
  const [state, run] = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    if (!client) return;
    void run(`Transfer ${value.trim() || '?'} ${token.symbol} from ${account.name}`, ['checking', 'submitted', 'included'], async (report) => {
      const dest = parseRecipient(to, accounts, token);
      const planck = parsePositive(value, token);
      if (dest.address === account.address) throw new Error('The recipient is the sending account itself; pick another account.');
      const now = await client.account(account.address);
      const built = await client.buildTx(account.signer, [msgs.transfer(dest.address, planck)]);
      const need = planck + built.fee;
      if (need > now.free)
        throw new Error(
          `Insufficient funds: ${account.name} has ${amount(now.free, token)} free, but sending ${amount(planck, token)} plus the fee ${amount(built.fee, token)} needs ${amount(need, token)}.`,
        );
      report({ stage: 'submitted', txHash: toHex(built.hash), fee: amount(built.fee, token, 6) });
      const res = await client.submit(built.bytes, true);
      return {
        stage: 'included',
        height: res.height,
        message: `Sent ${amount(planck, token)} to ${dest.name ?? shortAddr(dest.address)}.`,
      };
    });
  };

  return (
    <section class="card">
      <h2>Transfer</h2>
      <form onSubmit={submit} class="form" data-testid="transfer-form">
        <RecipientField value={to} onInput={setTo} testid="transfer-to" />
        <AmountField
          value={value}
          onInput={setValue}
          testid="transfer-amount"
          hint={free !== undefined ? `available ${amount(free, token)} (minus the fee)` : undefined}
        />
        <button type="submit" disabled={state.phase === 'working'} data-testid="transfer-submit">
          {state.phase === 'working' ? 'Sending…' : 'Send'}
        </button>
      </form>
      <ActionStatus state={state} testid="transfer-status" />
    </section>
  );
}

function AddAccount() {
  const { addAccount, token } = useApp();
  const [name, setName] = useState('');
  const [uri, setUri] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setMsg(null);
    try {
      const a = await addAccount(name, uri);
      setUri('');
      setName('');
      setMsg({ ok: true, text: `Added ${a.name} (${shortAddr(a.address)}) and selected it.` });
    } catch (err) {
      setMsg({ ok: false, text: explain(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card">
      <h2>Add account from secret URI</h2>
      <form class="form" onSubmit={submit} data-testid="add-account-form">
        <Field label="Name">
          <input type="text" placeholder="optional" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="add-account-name" />
        </Field>
        <Field label="Secret URI" hint={<>A mnemonic, 0x seed or //Path (sr25519). Kept in this tab's memory only: never stored or sent.</>}>
          <input
            type="password"
            autocomplete="off"
            spellcheck={false}
            placeholder="//Dave or twelve words…"
            value={uri}
            onInput={(e) => setUri((e.target as HTMLInputElement).value)}
            data-testid="add-account-uri"
          />
        </Field>
        <button type="submit" class="secondary" disabled={!uri.trim() || busy} data-testid="add-account-submit">
          {busy ? 'Deriving the key…' : 'Add account'}
        </button>
      </form>
      {msg && (
        <p class={msg.ok ? 'ok-text' : 'error-text'} role={msg.ok ? undefined : 'alert'} data-testid="add-account-message">
          {msg.text}
        </p>
      )}
      <p class="muted small">Balances are in {token.symbol} ({token.decimals} decimals).</p>
    </section>
  );
}
