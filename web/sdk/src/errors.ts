// Error classes of the SDK. Every error the SDK throws on purpose is a
// VeilError, so an app can tell "the SDK refused / the chain refused" from a
// bug with one instanceof check, and the subclasses say which layer refused.
// Messages are written for people (they end up in UIs) and never contain
// secret material: key errors name positions, never words or seeds.

import type { TxResult } from './gen/veil/node/v1/node_pb.js';

/** Base class of every error the SDK throws deliberately. */
export class VeilError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A secret URI, phrase, seed or scheme that cannot make a key. */
export class KeyError extends VeilError {}

/** An SS58 address (or hex account id) that does not decode. */
export class AddressError extends VeilError {}

/** An amount the user typed that is not a valid token amount. */
export class AmountError extends VeilError {}

/**
 * A transaction the chain refused (CheckTx) or executed with a failure
 * code. `code` and `codespace` are the chain's (chain/types/errors.go),
 * `log` its explanation ("insufficient_funds: …").
 */
export class TxError extends VeilError {
  readonly code: number;
  readonly codespace: string;
  readonly log: string;
  readonly result?: TxResult;
  constructor(message: string, fields: { code: number; codespace: string; log: string; result?: TxResult }) {
    super(message);
    this.code = fields.code;
    this.codespace = fields.codespace;
    this.log = fields.log;
    this.result = fields.result;
  }
}

/**
 * A transaction submitted with wait that the node did not see committed
 * before its deadline (60 s). It may still commit: look it up by hash.
 */
export class TxTimeoutError extends TxError {}

/** Receipt status or query refusal code of a confidential contract. */
export type ContractErrorCode =
  | 'not_ready'
  | 'pending'
  | 'not_authorized'
  | 'not_found'
  | 'reverted'
  | 'failed'
  | 'invalid'
  | 'rejected'
  | (string & {});

/**
 * A contract-level refusal: a query or receipt answered
 * {"ok":false,"code":…,"error":…}, or a command whose receipt says it
 * reverted, failed or was rejected (then `receipt` is set). `reason` is the
 * contract's own text (e.g. "not authorized").
 */
export class ContractError extends VeilError {
  readonly code: ContractErrorCode;
  readonly reason: string;
  /** The receipt of a command that did not succeed. */
  receipt?: import('./contracts.js').Receipt;
  constructor(code: ContractErrorCode, reason: string) {
    super(reason ? `contract: ${code}: ${reason}` : `contract: ${code}`);
    this.code = code;
    this.reason = reason;
  }

  /**
   * An access refusal: code not_authorized (a receipt the caller may not
   * read), or a method that reverted with the contract SDK's
   * ErrNotAuthorized ("not authorized"), as owner-only reads do.
   */
  get notAuthorized(): boolean {
    return this.code === 'not_authorized' || (this.code === 'reverted' && this.reason === 'not authorized');
  }
}

/** A node or worker that could not be reached or did not answer in time. The URL is in the message. */
export class NetworkError extends VeilError {
  readonly url: string;
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.url = url;
  }
}

/**
 * A node or worker that answered a request with an error status (bad
 * argument, not found, internal error). `status` is the Connect code name,
 * e.g. "not_found", "invalid_argument".
 */
export class NodeError extends VeilError {
  readonly url: string;
  readonly status: string;
  constructor(url: string, status: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.url = url;
    this.status = status;
  }
}

/** What is wrong with a JSON text that parseJSON refuses. */
export type JSONErrorKind =
  /** The text ends where more is required (an empty text, an unterminated string or container). */
  | 'unexpected_end'
  /** A character that cannot stand here (the message says what was expected). */
  | 'unexpected_character'
  /** A malformed number: leading zeros, a "." or exponent without digits, a lone "-". */
  | 'invalid_number'
  /** A backslash escape other than \" \\ \/ \b \f \n \r \t \uXXXX. */
  | 'invalid_escape'
  /** A raw control character (U+0000–U+001F) inside a string; RFC 8259 requires it escaped. */
  | 'control_character'
  /** Anything but whitespace after the value. */
  | 'trailing_data'
  /** Arrays and objects nested deeper than the parser's limit. */
  | 'too_deep';

/**
 * A JSON text parseJSON refuses. The message says what is wrong and where
 * (`position`: the offset in UTF-16 code units from the start, 0-based;
 * `line` and `column`: 1-based), never the text itself: contract answers
 * are confidential, and an error message travels to logs and UIs.
 */
export class JSONParseError extends VeilError {
  readonly kind: JSONErrorKind;
  readonly position: number;
  readonly line: number;
  readonly column: number;
  constructor(kind: JSONErrorKind, message: string, where: { position: number; line: number; column: number }) {
    super(message);
    this.kind = kind;
    this.position = where.position;
    this.line = where.line;
    this.column = where.column;
  }
}

/**
 * Names of the envelope errors, the Go sentinels of crypto/envelope
 * (docs/envelopes.md "Checks when opening"), so a test or another
 * implementation can map one to the other.
 */
export type EnvelopeErrorKind =
  | 'ErrTruncated'
  | 'ErrTooLarge'
  | 'ErrUnsupportedVersion'
  | 'ErrWrongKind'
  | 'ErrUnknownSuite'
  | 'ErrWrongRecipient'
  | 'ErrDecrypt'
  | 'ErrMalformed'
  | 'ErrInvalidMethod'
  | 'ErrBadSignature'
  | 'ErrWrongContract'
  | 'ErrExpired'
  | 'ErrExpiryTooFar'
  | 'ErrInvalidKey';

/** An envelope that cannot be sealed or opened; `kind` names the check that failed. */
export class EnvelopeError extends VeilError {
  readonly kind: EnvelopeErrorKind;
  constructor(kind: EnvelopeErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}
