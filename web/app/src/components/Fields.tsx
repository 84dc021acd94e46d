import type { ComponentChildren } from 'preact';
import { useApp } from '../state';

/** A labelled form row. */
export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: ComponentChildren }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
      {hint && <span class="field-hint muted small">{hint}</span>}
    </label>
  );
}

interface RecipientProps {
  value: string;
  onInput(v: string): void;
  testid: string;
  label?: string;
  /** Leave the selected account out of the quick picks. */
  excludeSelf?: boolean;
}

/**
 * RecipientField: an address box with the known accounts as quick picks.
 * Anything can be typed; the form validates it when submitted
 * (lib/input.parseRecipient) and says what is wrong.
 */
export function RecipientField({ value, onInput, testid, label = 'To', excludeSelf = true }: RecipientProps) {
  const { accounts, account } = useApp();
  const picks = accounts.filter((a) => !excludeSelf || a.name !== account?.name);
  const picked = picks.find((a) => a.address === value)?.name ?? '';
  return (
    <div class="field">
      <span class="field-label">{label}</span>
      <div class="row tight">
        <select
          class="pick"
          aria-label={`${label}: known accounts`}
          data-testid={`${testid}-pick`}
          value={picked}
          onChange={(e) => {
            const a = picks.find((x) => x.name === (e.target as HTMLSelectElement).value);
            if (a) onInput(a.address);
          }}
        >
          <option value="">pick…</option>
          {picks.map((a) => (
            <option key={a.name} value={a.name}>
              {a.dev ? `//${a.name}` : a.name}
            </option>
          ))}
        </select>
        <input
          class="grow mono"
          type="text"
          spellcheck={false}
          autocomplete="off"
          placeholder="SS58 address, 0x account id, or a dev account name"
          aria-label={label}
          data-testid={testid}
          value={value}
          onInput={(e) => onInput((e.target as HTMLInputElement).value)}
        />
      </div>
    </div>
  );
}

interface AmountProps {
  value: string;
  onInput(v: string): void;
  testid: string;
  label?: string;
  hint?: ComponentChildren;
}

/** An amount in whole tokens with decimals ("1.5"), converted with the chain's decimals. */
export function AmountField({ value, onInput, testid, label = 'Amount', hint }: AmountProps) {
  const { token } = useApp();
  return (
    <Field label={label} hint={hint}>
      <div class="suffixed">
        <input
          type="text"
          inputMode="decimal"
          autocomplete="off"
          placeholder="0.0"
          data-testid={testid}
          value={value}
          onInput={(e) => onInput((e.target as HTMLInputElement).value)}
        />
        <span class="suffix">{token.symbol}</span>
      </div>
    </Field>
  );
}

/** A "you need an account / the network first" notice. */
export function Needs({ what }: { what: string }) {
  return <p class="muted">Waiting for {what}…</p>;
}
