// JSON that keeps big integers exact. Contracts and the chain speak u64
// (and u128) integers — a secret-wallet balance of 10,000 VEIL is 10^16
// planck — while JSON.parse turns every number into a float64, silently
// rounding anything above 2^53. parseJSON is a strict RFC 8259 parser that
// returns such integers as bigint and everything else exactly as JSON.parse
// does; stringifyJSON is JSON.stringify that writes bigints as plain
// numbers with all their digits (what Go's encoding/json reads into a u64).
//
// Errors never quote the text: what is parsed here is often a decrypted
// contract answer, and error messages end up in logs and on screens.

import { JSONParseError, VeilError, type JSONErrorKind } from './errors.js';

/** Options of parseJSON. */
export interface ParseJSONOptions {
  /**
   * The deepest nesting of arrays and objects accepted (default 1000).
   * The parser itself does not recurse, but code that walks the result
   * (JSON.stringify, renderers) does; a limit turns a hostile
   * 100,000-deep answer into a clear error instead of a stack overflow
   * somewhere else.
   */
  maxDepth?: number;
}

/** The default nesting limit of parseJSON: far above any real answer, far below a stack overflow. */
export const DEFAULT_JSON_MAX_DEPTH = 1000;

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const ESCAPES: Record<number, string> = {
  [QUOTE]: '"',
  [BACKSLASH]: '\\',
  [SLASH]: '/',
  0x62: '\b', // b
  0x66: '\f', // f
  0x6e: '\n', // n
  0x72: '\r', // r
  0x74: '\t', // t
};

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  if (c >= 0x61 && c <= 0x66) return c - 0x57; // a-f
  if (c >= 0x41 && c <= 0x46) return c - 0x37; // A-F
  return -1;
}

/** An open array or object while the parser descends (the parser keeps its own stack instead of recursing). */
type Frame = { array: unknown[] } | { object: Record<string, unknown>; key: string };

/**
 * Stores a member as JSON.parse does: an own, enumerable data property,
 * the last of duplicate keys winning. "__proto__" is defined, not
 * assigned — assignment would set the object's prototype instead.
 */
function setMember(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}

class Parser {
  private pos = 0;

  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
  ) {}

  private fail(kind: JSONErrorKind, what: string, position = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < position && i < this.s.length; i++) {
      if (this.s.charCodeAt(i) === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const column = position - lineStart + 1;
    throw new JSONParseError(kind, `invalid JSON at position ${position} (line ${line}, column ${column}): ${what}`, { position, line, column });
  }

  /** The error of a missing token: the end of the text, or a character that is not it. */
  private expected(what: string): never {
    if (this.pos >= this.s.length) this.fail('unexpected_end', `unexpected end of input, expected ${what}`);
    this.fail('unexpected_character', `unexpected character, expected ${what}`);
  }

  /** Skips JSON whitespace: space, tab, line feed, carriage return (nothing else, not even a BOM). */
  private ws(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  parse(): unknown {
    const s = this.s;
    const stack: Frame[] = [];
    this.ws();
    for (;;) {
      // A value starts at pos (whitespace skipped).
      let value: unknown;
      const c = s.charCodeAt(this.pos);
      if (c === LBRACE || c === LBRACKET) {
        if (stack.length >= this.maxDepth) this.fail('too_deep', `arrays and objects nested deeper than ${this.maxDepth} levels`);
        this.pos++;
        this.ws();
        if (c === LBRACE) {
          if (s.charCodeAt(this.pos) === RBRACE) {
            this.pos++;
            value = {};
          } else {
            stack.push({ object: {}, key: this.key() });
            continue;
          }
        } else if (s.charCodeAt(this.pos) === RBRACKET) {
          this.pos++;
          value = [];
        } else {
          stack.push({ array: [] });
          continue;
        }
      } else {
        value = this.scalar(c);
      }
      // A value is complete: hand it to the open containers, closing
      // those that end here, until one expects another element.
      for (;;) {
        const top = stack[stack.length - 1];
        this.ws();
        if (top === undefined) {
          if (this.pos < s.length) this.fail('trailing_data', 'unexpected data after the JSON value');
          return value;
        }
        const d = s.charCodeAt(this.pos);
        if ('array' in top) {
          top.array.push(value);
          if (d === COMMA) {
            this.pos++;
            this.ws();
            break;
          }
          if (d !== RBRACKET) this.expected("',' or ']'");
          this.pos++;
          value = top.array;
        } else {
          setMember(top.object, top.key, value);
          if (d === COMMA) {
            this.pos++;
            this.ws();
            top.key = this.key();
            break;
          }
          if (d !== RBRACE) this.expected("',' or '}'");
          this.pos++;
          value = top.object;
        }
        stack.pop();
      }
    }
  }

  /** A member's name and its colon; leaves pos at the value. */
  private key(): string {
    if (this.s.charCodeAt(this.pos) !== QUOTE) this.expected('a string (an object member name)');
    const k = this.string();
    this.ws();
    if (this.s.charCodeAt(this.pos) !== COLON) this.expected("':'");
    this.pos++;
    this.ws();
    return k;
  }

  private scalar(c: number): unknown {
    if (c === QUOTE) return this.string();
    if (c === MINUS || isDigit(c)) return this.number();
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    return this.expected('a value');
  }

  private literal<T>(word: string, value: T): T {
    for (let i = 1; i < word.length; i++) {
      const p = this.pos + i;
      if (p >= this.s.length) this.fail('unexpected_end', `unexpected end of input inside a literal, expected ${word}`, p);
      if (this.s.charCodeAt(p) !== word.charCodeAt(i)) this.fail('unexpected_character', `unexpected character, expected ${word}`, p);
    }
    this.pos += word.length;
    return value;
  }

  /**
   * A number: an integer (no fraction, no exponent) outside the safe range
   * ±(2^53−1) as an exact bigint, everything else as JSON.parse makes it
   * (-0 stays -0, 1e400 is Infinity, 1.0 and 1e2 are numbers).
   */
  private number(): number | bigint {
    const s = this.s;
    const start = this.pos;
    let p = start;
    if (s.charCodeAt(p) === MINUS) p++;
    const digits = (what: string): void => {
      if (p >= s.length) this.fail('unexpected_end', `unexpected end of input inside a number, expected ${what}`, p);
      if (!isDigit(s.charCodeAt(p))) this.fail('invalid_number', `invalid number: expected ${what}`, p);
      while (isDigit(s.charCodeAt(p))) p++;
    };
    if (s.charCodeAt(p) === ZERO) {
      p++;
      if (isDigit(s.charCodeAt(p))) this.fail('invalid_number', 'invalid number: leading zeros are not allowed', p);
    } else {
      digits('a digit');
    }
    let integer = true;
    if (s.charCodeAt(p) === DOT) {
      p++;
      digits('a digit after the decimal point');
      integer = false;
    }
    const e = s.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      p++;
      const sign = s.charCodeAt(p);
      if (sign === PLUS || sign === MINUS) p++;
      digits('a digit in the exponent');
      integer = false;
    }
    this.pos = p;
    const text = s.slice(start, p);
    const n = Number(text);
    // A decimal integer above 2^53−1 rounds to at least 2^53 (not a safe
    // integer), so this test is exact.
    return integer && !Number.isSafeInteger(n) ? BigInt(text) : n;
  }

  /** A string; pos at its opening quote. */
  private string(): string {
    const s = this.s;
    const open = this.pos;
    let p = open + 1;
    let out = '';
    let run = p; // start of the unescaped run not yet copied to out
    for (;;) {
      if (p >= s.length) this.fail('unexpected_end', `unexpected end of input inside the string that starts at position ${open}`, p);
      const c = s.charCodeAt(p);
      if (c === QUOTE) {
        this.pos = p + 1;
        return run === open + 1 ? s.slice(run, p) : out + s.slice(run, p);
      }
      if (c === BACKSLASH) {
        out += s.slice(run, p);
        if (p + 1 >= s.length) this.fail('unexpected_end', 'unexpected end of input inside an escape sequence', p + 1);
        const e = s.charCodeAt(p + 1);
        if (e === 0x75) {
          // \uXXXX: a UTF-16 code unit. A surrogate pair is two escapes in
          // a row and joins by itself; a lone surrogate stays one, as in
          // JSON.parse.
          let u = 0;
          for (let i = 2; i < 6; i++) {
            if (p + i >= s.length) this.fail('unexpected_end', 'unexpected end of input inside a \\u escape', p + i);
            const h = hexValue(s.charCodeAt(p + i));
            if (h < 0) this.fail('invalid_escape', 'invalid escape: \\u must be followed by four hex digits', p);
            u = (u << 4) | h;
          }
          out += String.fromCharCode(u);
          p += 6;
        } else {
          const r = ESCAPES[e];
          if (r === undefined) this.fail('invalid_escape', 'invalid escape: only \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX exist', p);
          out += r;
          p += 2;
        }
        run = p;
        continue;
      }
      if (c < 0x20) this.fail('control_character', 'a control character (U+0000 to U+001F) must be escaped inside a string', p);
      p++;
    }
  }
}

/**
 * Parses a JSON text (RFC 8259, strictly: no comments, trailing commas,
 * single quotes, leading zeros, BOM or unescaped control characters).
 * Integers outside Number.MIN_SAFE_INTEGER..Number.MAX_SAFE_INTEGER come
 * back as bigint with every digit; everything else is exactly what
 * JSON.parse returns (numbers with a fraction or exponent stay numbers,
 * -0 is -0, duplicate keys keep the last value, "__proto__" is an
 * ordinary own property). A text that is not JSON throws JSONParseError
 * with the kind and position of the problem and never any of the text.
 */
export function parseJSON(text: string, options?: ParseJSONOptions): unknown {
  if (typeof text !== 'string') throw new VeilError(`parseJSON: the input must be a string, got ${text === null ? 'null' : typeof text}`);
  const maxDepth = options?.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) throw new VeilError(`parseJSON: maxDepth must be a whole number ≥ 0, got ${String(maxDepth)}`);
  return new Parser(text, maxDepth).parse();
}

/**
 * JSON.stringify (toJSON, undefined and functions left out, the same
 * spacing) except that a bigint is written as a JSON number with all its
 * digits, where JSON.stringify throws. The inverse of parseJSON for big
 * integers; what contracts (Go's encoding/json) read into u64 fields.
 * Returns undefined where JSON.stringify does (undefined, a function).
 */
export function stringifyJSON(value: unknown, space?: string | number): string | undefined {
  for (;;) {
    // Bigints go through JSON.stringify as marked strings and lose the
    // quotes afterwards. A marker that occurs anywhere in the input (a
    // string or a member name) could be confused with one: then another
    // random marker is drawn, so the output is always exact.
    const marker = `__veil_bigint_${Math.random().toString(36).slice(2)}_`;
    let used = false;
    let clash = false;
    const json = JSON.stringify(
      value,
      (k, v: unknown) => {
        if (k.includes(marker) || (typeof v === 'string' && v.includes(marker))) clash = true;
        if (typeof v === 'bigint') {
          used = true;
          return marker + v.toString();
        }
        return v;
      },
      space,
    );
    if (clash) continue;
    if (json === undefined || !used) return json;
    return json.replace(new RegExp(`"${marker}(-?[0-9]+)"`, 'g'), '$1');
  }
}
