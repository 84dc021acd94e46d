import { useState } from 'preact/hooks';
import { toHex } from '@veil-network/sdk';
import { bytesSize } from '../lib/format';

interface Props {
  value: Uint8Array | string;
  /** Hex digits shown before "expand". */
  limit?: number;
  testid?: string;
  /** Show the size in bytes next to it. */
  size?: boolean;
}

/**
 * Hex shows bytes as hex, truncated with an expand toggle: envelopes are
 * kilobytes of ciphertext, which is exactly what the chain sees.
 */
export function Hex({ value, limit = 64, testid, size }: Props) {
  const [open, setOpen] = useState(false);
  const hex = typeof value === 'string' ? value.replace(/^0x/i, '') : toHex(value);
  const n = typeof value === 'string' ? hex.length / 2 : value.length;
  const long = hex.length > limit;
  return (
    <span class="hex-block">
      <code class={`hex ${open ? 'open' : ''}`} data-testid={testid} data-bytes={n}>
        {long && !open ? `${hex.slice(0, limit)}…` : hex}
      </code>
      {size && <span class="muted small"> ({bytesSize(n)})</span>}
      {long && (
        <button type="button" class="link small" onClick={() => setOpen(!open)} data-testid={testid ? `${testid}-toggle` : undefined}>
          {open ? 'collapse' : `expand all ${hex.length.toLocaleString('en-US')} hex digits`}
        </button>
      )}
    </span>
  );
}
