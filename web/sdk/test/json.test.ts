// parseJSON and stringifyJSON (src/json.ts): RFC 8259 exactly as
// JSON.parse reads it, except that integers beyond 2^53−1 keep every digit
// as bigints; errors say what and where, never the text. JSON.parse is the
// oracle: for documents without big integers the results must be equal,
// and both must refuse exactly the same texts.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_JSON_MAX_DEPTH, JSONParseError, parseJSON, stringifyJSON, VeilError, type JSONErrorKind } from '../src/index.js';

/** The JSONParseError parseJSON throws for text; a test failure if it parses. */
function parseError(text: string, maxDepth?: number): JSONParseError {
  try {
    parseJSON(text, maxDepth === undefined ? undefined : { maxDepth });
  } catch (e) {
    if (e instanceof JSONParseError) return e;
    throw e;
  }
  throw new Error(`parseJSON accepted ${JSON.stringify(text).slice(0, 80)}`);
}

/** A small deterministic PRNG (mulberry32), so a failing fuzz case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Our result with every bigint replaced by the number JSON.parse makes of the same digits. */
function asJsonParse(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(asJsonParse);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: asJsonParse(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

describe('parseJSON: valid documents', () => {
  it('reads every kind of value, nested, as JSON.parse does', () => {
    const text = ` { "a" : [ 1 , -2.5 , 3e2 , true , false , null , "x" , { } , [ ] ],
      "b" : { "c" : { "d" : [ [ [ "deep" ] ] ] } }, "e": "", "f": 0, "g": -1 }\r\n\t`;
    const v = parseJSON(text);
    expect(v).toStrictEqual(JSON.parse(text));
    expect(v).toStrictEqual({
      a: [1, -2.5, 300, true, false, null, 'x', {}, []],
      b: { c: { d: [[['deep']]] } },
      e: '',
      f: 0,
      g: -1,
    });
    for (const scalar of ['0', '"s"', 'true', 'false', 'null', '-7', '  42  ']) expect(parseJSON(scalar)).toStrictEqual(JSON.parse(scalar));
  });

  it('returns integers beyond ±(2^53−1) as exact bigints, safe ones as numbers', () => {
    expect(parseJSON('9007199254740991')).toBe(9007199254740991);
    expect(parseJSON('-9007199254740991')).toBe(-9007199254740991);
    expect(parseJSON('9007199254740992')).toBe(9007199254740992n);
    expect(parseJSON('9007199254740993')).toBe(9007199254740993n);
    expect(parseJSON('-9007199254740992')).toBe(-9007199254740992n);
    expect(parseJSON('10000000000000001')).toBe(10000000000000001n);
    expect(parseJSON('18446744073709551615')).toBe(18446744073709551615n); // u64 max
    expect(parseJSON('340282366920938463463374607431768211455')).toBe((1n << 128n) - 1n); // u128 max
    expect(parseJSON('-123456789012345678901234567890123456789')).toBe(-123456789012345678901234567890123456789n);
    expect(parseJSON('{"balance":10000000000000000,"n":[5,18446744073709551615]}')).toStrictEqual({
      balance: 10000000000000000n,
      n: [5, 18446744073709551615n],
    });
  });

  it('keeps fraction and exponent forms numbers, as JSON.parse does', () => {
    for (const t of ['1.0', '1e2', '1E+2', '-1.5e-3', '10000000000000001.0', '12345678901234567890e0', '1e400', '-1e400', '5e-400', '0.1']) {
      const v = parseJSON(t);
      expect(typeof v, t).toBe('number');
      expect(v, t).toBe(JSON.parse(t));
    }
    expect(parseJSON('1e400')).toBe(Infinity);
  });

  it('keeps -0', () => {
    expect(Object.is(parseJSON('-0'), -0)).toBe(true);
    expect(Object.is(parseJSON('-0.0'), -0)).toBe(true);
    expect(Object.is(parseJSON('0'), 0)).toBe(true);
    expect(Object.is((parseJSON('[-0]') as number[])[0], -0)).toBe(true);
  });

  it('decodes escapes, \\u escapes in either case and surrogate pairs', () => {
    const cases: [string, string][] = [
      ['"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\/\b\f\n\r\t'],
      ['"\\u00e9\\u00E9\\u20AC"', 'éé€'],
      ['"\\u0000\\u001f"', '\u0000\u001f'],
      ['"\\ud83d\\ude00"', '😀'],
      ['"\\uD834\\uDD1E clef"', '𝄞 clef'],
      ['"raw 😀 é ✓"', 'raw 😀 é ✓'],
      ['"a\\ud800b"', 'a\ud800b'], // a lone surrogate stays one, as in JSON.parse
      ['"\\ude00\\ud83d"', '\ude00\ud83d'], // reversed: two lone surrogates
      ['"\u007f\u2028\u2029"', '\u007f\u2028\u2029'], // not control characters in JSON's sense
    ];
    for (const [text, want] of cases) {
      expect(parseJSON(text), text).toBe(want);
      expect(parseJSON(text), text).toBe(JSON.parse(text));
    }
    expect(parseJSON('{"\\u0061b":1}')).toStrictEqual({ ab: 1 });
  });

  it('treats "__proto__" as an ordinary member, keeps the last of duplicate keys and JSON.parse’s key order', () => {
    const v = parseJSON('{"__proto__":{"polluted":true},"x":1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'x']);
    expect(v.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(v).toStrictEqual(JSON.parse('{"__proto__":{"polluted":true},"x":1}'));
    const dup = '{"b":1,"a":2,"b":3,"2":0,"1":0}';
    expect(Object.entries(parseJSON(dup) as object)).toEqual(Object.entries(JSON.parse(dup)));
  });

  it('nests up to maxDepth (default 1000) and no further', () => {
    expect(DEFAULT_JSON_MAX_DEPTH).toBe(1000);
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(parseJSON(nested(1000))).toStrictEqual(JSON.parse(nested(1000)));
    const e = parseError(nested(1001));
    expect([e.kind, e.position, e.line, e.column]).toEqual(['too_deep', 1000, 1, 1001]);
    expect(e.message).toMatch(/nested deeper than 1000 levels/);
    // Objects count as levels too, and a custom limit applies.
    expect(parseJSON('{"a":{"b":1}}', { maxDepth: 2 })).toStrictEqual({ a: { b: 1 } });
    expect(parseError('{"a":{"b":[]}}', 2)).toMatchObject({ kind: 'too_deep', position: 10 });
    expect(parseJSON('7', { maxDepth: 0 })).toBe(7);
    expect(parseError('[]', 0)).toMatchObject({ kind: 'too_deep', position: 0 });
    // The parser does not recurse: a huge depth, when allowed, is no stack overflow.
    expect(() => parseJSON(nested(200_000), { maxDepth: 1_000_000 })).not.toThrow();
  });

  it('refuses what is not a string or a bad limit', () => {
    expect(() => parseJSON(new Uint8Array([0x31]) as unknown as string)).toThrow(VeilError);
    expect(() => parseJSON(null as unknown as string)).toThrow(/must be a string, got null/);
    expect(() => parseJSON('1', { maxDepth: -1 })).toThrow(/maxDepth/);
    expect(() => parseJSON('1', { maxDepth: 1.5 })).toThrow(/maxDepth/);
  });
});

describe('parseJSON: errors', () => {
  // text, kind, position; line and column are checked where the text has lines.
  const cases: [string, JSONErrorKind, number][] = [
    ['', 'unexpected_end', 0],
    ['   ', 'unexpected_end', 3],
    ['[', 'unexpected_end', 1],
    ['[1', 'unexpected_end', 2],
    ['[1,', 'unexpected_end', 3],
    ['{', 'unexpected_end', 1],
    ['{"a"', 'unexpected_end', 4],
    ['{"a":', 'unexpected_end', 5],
    ['{"a":1', 'unexpected_end', 6],
    ['"abc', 'unexpected_end', 4],
    ['"ab\\', 'unexpected_end', 4],
    ['"\\u12', 'unexpected_end', 5],
    ['tru', 'unexpected_end', 3],
    ['-', 'unexpected_end', 1],
    ['1.', 'unexpected_end', 2],
    ['1e', 'unexpected_end', 2],
    ['1e+', 'unexpected_end', 3],
    ['[1,]', 'unexpected_character', 3],
    ['{"a":1,}', 'unexpected_character', 7],
    ['{"a" 1}', 'unexpected_character', 5],
    ['{a:1}', 'unexpected_character', 1],
    ["{'a':1}", 'unexpected_character', 1],
    ['[1 2]', 'unexpected_character', 3],
    ['{"a":1 "b":2}', 'unexpected_character', 7],
    ['[1}', 'unexpected_character', 2],
    ['{"a":1]', 'unexpected_character', 6],
    ['tRue', 'unexpected_character', 1],
    ['nul1', 'unexpected_character', 3],
    ['NaN', 'unexpected_character', 0],
    ['Infinity', 'unexpected_character', 0],
    ['+1', 'unexpected_character', 0],
    ['.5', 'unexpected_character', 0],
    ['\uFEFF1', 'unexpected_character', 0], // a BOM is not whitespace
    ['\u000b1', 'unexpected_character', 0], // nor is a vertical tab
    ['\u00a01', 'unexpected_character', 0], // nor a no-break space
    ['/* c */ 1', 'unexpected_character', 0],
    ['[1,// c\n2]', 'unexpected_character', 3],
    ['01', 'invalid_number', 1],
    ['-01', 'invalid_number', 2],
    ['00', 'invalid_number', 1],
    ['-a', 'invalid_number', 1],
    ['1.e5', 'invalid_number', 2],
    ['1e+a', 'invalid_number', 3],
    ['[1.x]', 'invalid_number', 3],
    ['"\\x"', 'invalid_escape', 1],
    ['"ab\\a"', 'invalid_escape', 3],
    ["\"\\'\"", 'invalid_escape', 1],
    ['"\\u12g4"', 'invalid_escape', 1],
    ['"\\U0041"', 'invalid_escape', 1],
    ['"a\u0000"', 'control_character', 2],
    ['"tab\there"', 'control_character', 4],
    ['"line\nbreak"', 'control_character', 5],
    ['"\u001f"', 'control_character', 1],
    ['1 2', 'trailing_data', 2],
    ['{} {}', 'trailing_data', 3],
    ['[]]', 'trailing_data', 2],
    ['"a""b"', 'trailing_data', 3],
    ['1x', 'trailing_data', 1],
    ['0x10', 'trailing_data', 1],
    ['true false', 'trailing_data', 5],
  ];

  it.each(cases)('%j: %s at %i', (text, kind, position) => {
    const e = parseError(text);
    expect(e).toBeInstanceOf(VeilError);
    expect(e.name).toBe('JSONParseError');
    expect([e.kind, e.position]).toEqual([kind, position]);
    expect(e.message).toMatch(new RegExp(`^invalid JSON at position ${position} \\(line 1, column ${position + 1}\\): `));
    // JSON.parse refuses it too: parseJSON is no stricter than the platform.
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('gives the line and column of an error on a later line', () => {
    const e = parseError('{\n  "a": 1,\n  "b": [1,\n    }\n}');
    expect([e.kind, e.position, e.line, e.column]).toEqual(['unexpected_character', 27, 4, 5]);
    expect(e.message).toBe("invalid JSON at position 27 (line 4, column 5): unexpected character, expected a value");
    const s = parseError('[\r\n"x\r\n"]');
    expect([s.kind, s.position, s.line, s.column]).toEqual(['control_character', 5, 2, 3]);
  });

  it('never repeats the text in the message', () => {
    const secrets = [
      '{"mnemonic":"bottom drive obey lake curtain smoke basket hold race lonely fit walk" x}',
      '{"seed":"0xsecretseed\\q"}',
      '{"secret":"hunter2\u0001"}',
      '{"secret":"hunter2"',
      '["hunter2"] hunter2',
      'hunter2',
      '{"hunter2":01}',
      '"hunter2',
    ];
    for (const t of secrets) {
      const e = parseError(t);
      for (const word of ['hunter2', 'secret', 'mnemonic', 'bottom', 'seed']) expect(e.message, t).not.toContain(word);
    }
  });
});

describe('parseJSON against JSON.parse (fuzz)', () => {
  const ALPHABET = ['a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', 'é', '€', '😀', '\ud800', '\udfff', '\u2028', '{', '}', '[', ']', ':', ','];

  function randomString(r: () => number): string {
    let s = '';
    const n = Math.floor(r() * 8);
    for (let i = 0; i < n; i++) s += r() < 0.6 ? String.fromCharCode(32 + Math.floor(r() * 95)) : ALPHABET[Math.floor(r() * ALPHABET.length)];
    return s;
  }

  function randomNumber(r: () => number): number {
    switch (Math.floor(r() * 6)) {
      case 0:
        return Math.floor((r() - 0.5) * 2 * Number.MAX_SAFE_INTEGER); // any safe integer
      case 1:
        return Math.floor((r() - 0.5) * 2000);
      case 2:
        // Fractions and small exponent forms, below 2^53: an integer-valued
        // float at or above it would print as plain digits and read as a bigint.
        return (r() - 0.5) * 10 ** Math.floor(r() * 35 - 20);
      case 3:
        return (r() < 0.5 ? -1 : 1) * 10 ** (21 + Math.floor(r() * 280)); // integer-valued floats JSON.stringify writes in e-form
      case 4:
        return r() < 0.5 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
      default:
        return r() < 0.5 ? 0 : 0.5;
    }
  }

  function randomValue(r: () => number, depth: number): unknown {
    const k = Math.floor(r() * (depth > 5 ? 4 : 7));
    switch (k) {
      case 0:
        return randomNumber(r);
      case 1:
        return randomString(r);
      case 2:
        return r() < 0.5 ? r() < 0.5 : null;
      case 3:
        return randomNumber(r);
      case 4:
      case 5:
        return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        const n = Math.floor(r() * 5);
        for (let i = 0; i < n; i++) {
          // defineProperty: an own "__proto__" member, not a new prototype.
          Object.defineProperty(o, r() < 0.1 ? '__proto__' : randomString(r), { value: randomValue(r, depth + 1), enumerable: true, writable: true, configurable: true });
        }
        return o;
      }
    }
  }

  /** Random JSON whitespace between tokens, so layout is fuzzed too. */
  function spaced(r: () => number, json: string): string {
    let out = '';
    let inString = false;
    for (let i = 0; i < json.length; i++) {
      const c = json[i];
      out += c;
      if (inString) {
        if (c === '\\') out += json[++i];
        else if (c === '"') inString = false;
      } else if (c === '"') {
        inString = true;
      }
      // After a structural character or a string: between tokens, never inside a number or literal.
      if (!inString && '{}[]:,"'.includes(c) && r() < 0.3) out += [' ', '\n', '\r', '\t', '  '][Math.floor(r() * 5)];
    }
    return out;
  }

  it('equals JSON.parse on random documents of safe numbers', () => {
    const r = rng(20240611);
    for (let i = 0; i < 3000; i++) {
      const text = spaced(r, JSON.stringify(randomValue(r, 0), null, r() < 0.3 ? 2 : undefined));
      const got = parseJSON(text);
      expect(got, text).toStrictEqual(JSON.parse(text));
    }
  });

  it('accepts and refuses exactly what JSON.parse does, on mutated documents', () => {
    const r = rng(7);
    const pieces = ['', '"', '\\', ',', ':', '[', ']', '{', '}', '0', '-', '.', 'e', '+', 'x', ' ', '\u0001', 'u', 'n', 't', '9', '\uFEFF'];
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const doc = JSON.stringify(randomValue(r, 2));
      const at = Math.floor(r() * (doc.length + 1));
      const cut = Math.floor(r() * 3);
      const text = doc.slice(0, at) + pieces[Math.floor(r() * pieces.length)] + doc.slice(at + cut);
      let want: unknown;
      let wantOk = true;
      try {
        want = JSON.parse(text);
      } catch {
        wantOk = false;
      }
      let got: unknown;
      try {
        got = parseJSON(text);
      } catch (e) {
        expect(e, text).toBeInstanceOf(JSONParseError);
        expect(wantOk, `parseJSON refused what JSON.parse reads: ${JSON.stringify(text)}`).toBe(false);
        const p = (e as JSONParseError).position;
        expect(p >= 0 && p <= text.length, text).toBe(true);
        refused++;
        continue;
      }
      expect(wantOk, `parseJSON read what JSON.parse refuses: ${JSON.stringify(text)}`).toBe(true);
      // A mutation can make a long digit run: a bigint here, the same digits rounded there.
      expect(asJsonParse(got), text).toStrictEqual(want);
    }
    expect(refused).toBeGreaterThan(500); // the mutations do produce errors
  });

  it('reads back big integers exactly, wherever they are (stringifyJSON round trip)', () => {
    const r = rng(99);
    const bigint = () => {
      let d = String(1 + Math.floor(r() * 9));
      const n = 16 + Math.floor(r() * 30);
      for (let i = 0; i < n; i++) d += Math.floor(r() * 10);
      return (r() < 0.3 ? -1n : 1n) * BigInt(d);
    };
    for (let i = 0; i < 1000; i++) {
      const doc = { amount: bigint(), list: [bigint(), Math.floor(r() * 1000), { nested: bigint() }], s: String(bigint()) };
      const text = stringifyJSON(doc)!;
      expect(parseJSON(text)).toStrictEqual(doc);
      expect(stringifyJSON(parseJSON(text))).toBe(text);
    }
  });
});

describe('stringifyJSON', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes bigints as numbers with every digit, everything else as JSON.stringify', () => {
    expect(stringifyJSON({ a: 18446744073709551615n, b: [-1n, 2], c: 'x' })).toBe('{"a":18446744073709551615,"b":[-1,2],"c":"x"}');
    expect(stringifyJSON(10000000000000001n)).toBe('10000000000000001');
    expect(stringifyJSON({ a: 1n, b: [2n] }, 2)).toBe('{\n  "a": 1,\n  "b": [\n    2\n  ]\n}');
    const plain = { d: new Date(0), u: undefined, f: () => 1, n: null, s: '"\\', x: [undefined] };
    expect(stringifyJSON(plain)).toBe(JSON.stringify(plain));
    expect(stringifyJSON(undefined)).toBeUndefined();
    expect(stringifyJSON(() => 1)).toBeUndefined();
  });

  it('is exact even when the input contains its marker', () => {
    // Force the first marker to be one the input contains; the second differs.
    const rand = vi.spyOn(Math, 'random');
    rand.mockReturnValueOnce(0.5).mockReturnValueOnce(0.25);
    const marker = `__veil_bigint_${(0.5).toString(36).slice(2)}_`;
    const v = { s: `${marker}5`, [`${marker}6`]: 1, b: 7n };
    expect(stringifyJSON(v)).toBe(`{"s":"${marker}5","${marker}6":1,"b":7}`);
    expect(rand).toHaveBeenCalledTimes(2);
  });
});
