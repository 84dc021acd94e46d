import { ContractError, NetworkError, TxError, TxTimeoutError, VeilError } from '@veil-network/sdk';

/**
 * Context for turning an error into a sentence the user can act on: what
 * was being done, and how a contract's refusal reads for this method (the
 * contract only says "not authorized"; the page knows what was refused).
 */
export interface ErrorContext {
  /** Replaces the message of a contract's access refusal. */
  notAuthorized?: string;
  /** Replaces the message of a contract that is not ready yet. */
  notReady?: string;
}

/** True when a contract refused the caller (receipt or owner-only method). */
export function isNotAuthorized(err: unknown): boolean {
  return err instanceof ContractError && (err.notAuthorized || /not authori[sz]ed/i.test(err.reason));
}

/**
 * explain turns anything thrown by the SDK (or a JSON parse) into one
 * human sentence; the UI never shows a bare stack trace or leaves the
 * explanation to the console.
 */
export function explain(err: unknown, ctx: ErrorContext = {}): string {
  if (err instanceof ContractError) {
    const why = err.reason || err.message;
    if (isNotAuthorized(err)) return ctx.notAuthorized ?? `Refused by the contract: ${why}`;
    switch (err.code) {
      case 'not_ready':
        return (
          ctx.notReady ??
          `The contract is not ready on its workers yet (keys not delivered, or a worker is catching up): ${why}. Try again in a few seconds.`
        );
      case 'pending':
        return `Not executed yet: ${why}`;
      case 'not_found':
        return `Not found: ${why}`;
      case 'reverted':
        return `The contract refused the call: ${why}`;
      case 'failed':
        return `The contract failed (trap, out of gas or a limit): ${why}`;
      case 'rejected':
        return `The workers rejected the command (envelope or nonce): ${why}`;
      case 'invalid':
        return `Invalid request: ${why}`;
    }
    return err.message;
  }
  if (err instanceof TxTimeoutError) return err.message;
  if (err instanceof TxError) {
    // The SDK's message is the chain's log made readable
    // ("insufficient funds: free balance … is below …").
    if (/insufficient/i.test(err.message)) return err.message.replace(/^insufficient funds/i, 'Insufficient funds');
    return `The chain refused the transaction (${err.codespace || 'tx'} code ${err.code}): ${err.message}`;
  }
  if (err instanceof NetworkError) return err.message;
  if (err instanceof VeilError) return err.message;
  if (err instanceof SyntaxError) return `Malformed JSON: ${err.message}`;
  if (err instanceof DOMException && err.name === 'AbortError') return 'Cancelled.';
  if (err instanceof Error) return err.message || String(err);
  return String(err);
}
