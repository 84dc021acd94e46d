// Token amounts. On chain an amount is a u128 in the smallest unit
// ("planck", 10^-decimals of a token) written as a canonical decimal string;
// people read and type tokens ("1.5 VEIL"). These convert between the two
// exactly (bigint arithmetic, no floating point), as the Go CLI does
// (cmd/veil formatAmount, tokenAmount).

import { AmountError } from './errors.js';

/** The largest amount the chain represents (u128). */
export const MAX_AMOUNT = (1n << 128n) - 1n;

/**
 * Formats an amount of planck as tokens: "1.5 VEIL", "0.0003 VEIL", "12 VEIL".
 * Trailing fractional zeros are dropped. With maxFractionDigits, the
 * fraction is cut (rounded toward zero) to that many digits, so a displayed
 * balance never exceeds the real one.
 */
export function formatAmount(planck: bigint | string, decimals: number, symbol?: string, maxFractionDigits?: number): string {
  const v = toPlanck(planck);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 77) throw new AmountError(`invalid token decimals ${decimals}`);
  const digits = v.toString();
  let whole: string;
  let frac: string;
  if (decimals === 0) {
    whole = digits;
    frac = '';
  } else {
    const padded = digits.padStart(decimals + 1, '0');
    whole = padded.slice(0, padded.length - decimals);
    frac = padded.slice(padded.length - decimals);
  }
  if (maxFractionDigits !== undefined && maxFractionDigits >= 0 && frac.length > maxFractionDigits) {
    frac = frac.slice(0, maxFractionDigits);
  }
  frac = frac.replace(/0+$/, '');
  const num = frac ? `${whole}.${frac}` : whole;
  return symbol ? `${num} ${symbol}` : num;
}

function toPlanck(planck: bigint | string): bigint {
  if (typeof planck === 'bigint') {
    if (planck < 0n) throw new AmountError('amount is negative');
    return planck;
  }
  if (typeof planck !== 'string' || !/^(0|[1-9][0-9]*)$/.test(planck)) {
    throw new AmountError(`amount ${JSON.stringify(String(planck)).slice(0, 60)} is not a decimal integer of planck`);
  }
  return BigInt(planck);
}

/**
 * Parses a token amount typed by a person ("1.5", "0.001", "12", ".5")
 * into planck. Refuses, with an AmountError saying why: an empty string,
 * signs, exponents, separators, more fraction digits than the token has,
 * and values beyond u128.
 */
export function parseAmount(text: string, decimals: number): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 77) throw new AmountError(`invalid token decimals ${decimals}`);
  const s = typeof text === 'string' ? text.trim() : '';
  if (s === '') throw new AmountError('enter an amount');
  if (s.startsWith('-')) throw new AmountError('the amount must not be negative');
  const m = /^([0-9]*)(?:\.([0-9]*))?$/.exec(s);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
    throw new AmountError(`${JSON.stringify(s.slice(0, 40))} is not an amount: use digits and at most one decimal point, e.g. 1.5`);
  }
  const whole = m[1] || '0';
  const frac = m[2] ?? '';
  if (frac.length > decimals) {
    throw new AmountError(`${s} has more than the token's ${decimals} decimal places`);
  }
  const v = BigInt(whole + frac.padEnd(decimals, '0'));
  if (v > MAX_AMOUNT) throw new AmountError(`${s} is larger than the largest amount the chain can hold`);
  return v;
}
