// Token amounts: exact bigint conversions between planck and what people
// read and type, as the Go CLI formats and parses them.

import { describe, expect, it } from 'vitest';
import { AmountError, formatAmount, MAX_AMOUNT, parseAmount } from '../src/index.js';

describe('formatAmount', () => {
  it('formats like the CLI (trailing zeros dropped)', () => {
    expect(formatAmount(1_500_000_000_000n, 12, 'VEIL')).toBe('1.5 VEIL');
    expect(formatAmount('1000000000000', 12, 'VEIL')).toBe('1 VEIL');
    expect(formatAmount(343_000_000n, 12, 'VEIL')).toBe('0.000343 VEIL');
    expect(formatAmount(0n, 12, 'VEIL')).toBe('0 VEIL');
    expect(formatAmount(1n, 12)).toBe('0.000000000001');
    expect(formatAmount(123n, 0, 'X')).toBe('123 X');
    expect(formatAmount(MAX_AMOUNT, 12)).toBe('340282366920938463463374607.431768211455');
  });

  it('cuts the fraction toward zero with maxFractionDigits', () => {
    expect(formatAmount(1_999_999_999_999n, 12, 'VEIL', 4)).toBe('1.9999 VEIL');
    expect(formatAmount(1_000_090_000_000n, 12, 'VEIL', 4)).toBe('1 VEIL');
    expect(formatAmount(343_000_000n, 12, undefined, 2)).toBe('0');
    expect(formatAmount(1_250_000_000_000n, 12, undefined, 0)).toBe('1');
  });

  it('refuses what is not an amount', () => {
    expect(() => formatAmount(-1n, 12)).toThrow(AmountError);
    expect(() => formatAmount('12.5', 12)).toThrow(/not a decimal integer of planck/);
    expect(() => formatAmount('01', 12)).toThrow(AmountError);
    expect(() => formatAmount(1n, -1)).toThrow(/decimals/);
  });
});

describe('parseAmount', () => {
  it('parses token amounts into planck exactly', () => {
    expect(parseAmount('1.5', 12)).toBe(1_500_000_000_000n);
    expect(parseAmount('1', 12)).toBe(1_000_000_000_000n);
    expect(parseAmount(' 0.000000000001 ', 12)).toBe(1n);
    expect(parseAmount('.5', 12)).toBe(500_000_000_000n);
    expect(parseAmount('2.', 12)).toBe(2_000_000_000_000n);
    expect(parseAmount('007', 0)).toBe(7n);
    expect(parseAmount('340282366920938463463374607.431768211455', 12)).toBe(MAX_AMOUNT);
    // 0.1 + 0.2 style float traps do not exist here.
    expect(parseAmount('0.3', 12)).toBe(300_000_000_000n);
  });

  it('round-trips with formatAmount', () => {
    for (const s of ['1.5', '0.000343', '12', '340282366920938463463374607.431768211455', '0.000000000001']) {
      expect(formatAmount(parseAmount(s, 12), 12)).toBe(s);
    }
  });

  it('refuses bad input with a reason', () => {
    const cases: [string, RegExp][] = [
      ['', /enter an amount/],
      ['   ', /enter an amount/],
      ['-1', /negative/],
      ['1e3', /not an amount/],
      ['1,000', /not an amount/],
      ['1.2.3', /not an amount/],
      ['.', /not an amount/],
      ['abc', /not an amount/],
      ['0.0000000000001', /more than the token's 12 decimal places/],
      ['340282366920938463463374607.431768211456', /larger than the largest amount/],
    ];
    for (const [s, re] of cases) {
      expect(() => parseAmount(s, 12), s).toThrow(AmountError);
      expect(() => parseAmount(s, 12), s).toThrow(re);
    }
  });
});
