import { ContractError, toHex, type CallResult, type Contracts, type Signer } from '@veil-network/sdk';
import type { ActionState, Report } from './hooks';
import { amount, type Token } from './format';
import { U64_MAX } from './input';

/**
 * A u64 from a contract's answer as an exact bigint. The SDK parses
 * answers losslessly: integers up to 2^53−1 are numbers, larger ones
 * (10,000 VEIL is 10^16 planck) bigints; both are accepted here, anything
 * else (missing, negative, fractional, a number too large to be exact)
 * is an error naming the field instead of a wrong value on screen.
 */
export function u64Of(v: unknown, what: string): bigint {
  if (typeof v === 'bigint' && v >= 0n && v <= U64_MAX) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new Error(`The contract's answer has no valid ${what} (want a whole number from 0 to 2^64-1).`);
}

/** The steps of a contract command, as ActionStatus shows them. */
export const COMMAND_STEPS = ['sealing', 'submitted', 'included', 'executed'] as const;

/**
 * What the SDK reports with a stage: "submitted" {txHash, fee},
 * "included" {height, sequence}; "executed" carries the receipt, which
 * the final result has too.
 */
function detailOf(stage: string, detail: unknown, token: Token): Partial<ActionState> {
  if (stage === 'executed' || !detail || typeof detail !== 'object') return {};
  const d = detail as { txHash?: unknown; height?: unknown; sequence?: unknown; fee?: unknown };
  const out: Partial<ActionState> = {};
  if (d.txHash instanceof Uint8Array) out.txHash = toHex(d.txHash);
  if (typeof d.fee === 'bigint' || typeof d.fee === 'string') out.fee = amount(d.fee, token, 6);
  if (typeof d.height === 'bigint') out.height = d.height;
  if (typeof d.sequence === 'bigint') out.sequence = d.sequence;
  return out;
}

/**
 * command sends an encrypted contract command and reports its progress:
 * sealing (in this tab) → submitted (pending) → included (block, tx) →
 * executed (the TEE's receipt). The SDK's "included" means the block is
 * done, so the step in progress becomes "executed". A receipt that is not
 * ok is shown, then thrown as the SDK's ContractError.
 */
export async function command(
  report: Report,
  contracts: Contracts,
  signer: Signer,
  id: string,
  method: string,
  args: unknown,
  token: Token,
): Promise<{ result: CallResult; state: Partial<ActionState> }> {
  let r: CallResult;
  try {
    r = await contracts.call(signer, id, method, args, {
      wait: true,
      onStage: (stage, detail) => {
        report({ stage: stage === 'included' ? 'executed' : stage, ...detailOf(stage, detail, token) });
      },
    });
  } catch (e) {
    if (e instanceof ContractError && e.receipt) report({ receipt: e.receipt });
    throw e;
  }
  return {
    result: r,
    state: {
      stage: 'executed',
      txHash: toHex(r.txHash),
      height: r.height,
      sequence: r.sequence,
      envelopeBytes: r.envelope.length,
      fee: amount(r.fee, token, 6),
      receipt: r.receipt,
    },
  };
}
