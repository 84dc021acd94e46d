// Typed constructors of the transaction messages an app sends, so apps
// need not import the generated code. Addresses are SS58 or 0x hex;
// amounts are bigint planck (the chain's decimal u128 strings are made
// here). Pass the results to VeilClient.send / buildTx.

import { create, type Message } from '@bufbuild/protobuf';
import { MsgTransferSchema } from './gen/veil/bank/v1/bank_pb.js';
import {
  MsgDepositSchema,
  MsgInstantiateSchema,
  MsgPushCommandSchema,
  MsgReassignSchema,
  MsgUploadCodeSchema,
} from './gen/veil/contracts/v1/contracts_pb.js';
import {
  MsgBondExtraSchema,
  MsgBondSchema,
  MsgChillSchema,
  MsgNominateSchema,
  MsgSetPayeeSchema,
  MsgUnbondSchema,
  MsgValidateSchema,
  MsgWithdrawUnbondedSchema,
  PayeeKind,
  PayeeSchema,
  type Payee,
} from './gen/veil/staking/v1/staking_pb.js';
import { MAX_AMOUNT } from './amount.js';
import { AmountError, VeilError } from './errors.js';
import { accountId } from './ss58.js';
import { parseContractId } from './contracts.js';

/** Where staking rewards go: re-staked, to the stash's free balance, or to another account. */
export type RewardDestination = 'staked' | 'stash' | { account: string };

function amount(v: bigint, what: string, allowZero = false): string {
  if (typeof v !== 'bigint') throw new AmountError(`${what} must be a bigint amount of planck, got ${typeof v}`);
  if (v < 0n || (!allowZero && v === 0n) || v > MAX_AMOUNT) throw new AmountError(`${what} must be a positive planck amount within u128, got ${v}`);
  return v.toString();
}

function payee(p: RewardDestination): Payee {
  if (p === 'staked') return create(PayeeSchema, { kind: PayeeKind.STAKED });
  if (p === 'stash') return create(PayeeSchema, { kind: PayeeKind.STASH });
  if (p && typeof p === 'object' && typeof p.account === 'string') {
    return create(PayeeSchema, { kind: PayeeKind.ACCOUNT, account: accountId(p.account) });
  }
  throw new VeilError('reward destination must be "staked", "stash" or { account: address }');
}

function contractId(id: string | Uint8Array): Uint8Array {
  if (id instanceof Uint8Array) {
    if (id.length !== 32) throw new VeilError(`contract id is 32 bytes, got ${id.length}`);
    return id;
  }
  return parseContractId(id);
}

/** Message constructors (protobuf-es messages, packable by VeilClient.buildTx). */
export const msgs = Object.freeze({
  /** veil.bank.v1.MsgTransfer: send amount to an account. */
  transfer(to: string, value: bigint): Message {
    return create(MsgTransferSchema, { to: accountId(to), amount: amount(value, 'transfer amount') });
  },

  /** veil.staking.v1.MsgBond: bond value of free balance; the sender becomes a stash. */
  bond(value: bigint, rewardDestination: RewardDestination = 'staked'): Message {
    return create(MsgBondSchema, { value: amount(value, 'bond value'), payee: payee(rewardDestination) });
  },
  /** veil.staking.v1.MsgBondExtra: add free balance to the bond. */
  bondExtra(value: bigint): Message {
    return create(MsgBondExtraSchema, { value: amount(value, 'bond value') });
  },
  /** veil.staking.v1.MsgUnbond: start unbonding value (withdrawable after the bonding duration). */
  unbond(value: bigint): Message {
    return create(MsgUnbondSchema, { value: amount(value, 'unbond value') });
  },
  /** veil.staking.v1.MsgWithdrawUnbonded: move unlocked chunks back to the free balance. */
  withdrawUnbonded(): Message {
    return create(MsgWithdrawUnbondedSchema, {});
  },
  /**
   * veil.staking.v1.MsgValidate: intend to validate from the next election,
   * with commission in parts per billion (0..1e9) and the node's 32-byte
   * ed25519 consensus key.
   */
  validate(commissionPpb: number, consensusPubkey: Uint8Array): Message {
    if (!Number.isInteger(commissionPpb) || commissionPpb < 0 || commissionPpb > 1_000_000_000) {
      throw new VeilError(`commission must be parts per billion, 0..1000000000, got ${commissionPpb}`);
    }
    if (!(consensusPubkey instanceof Uint8Array) || consensusPubkey.length !== 32) {
      throw new VeilError('the consensus public key is 32 bytes (the node’s ed25519 key)');
    }
    return create(MsgValidateSchema, { commission: commissionPpb, consensusPubkey });
  },
  /** veil.staking.v1.MsgNominate: nominate validators (stash addresses). */
  nominate(targets: string[]): Message {
    if (!Array.isArray(targets) || targets.length === 0) throw new VeilError('nominate needs at least one validator');
    return create(MsgNominateSchema, { targets: targets.map((t) => accountId(t)) });
  },
  /** veil.staking.v1.MsgChill: stop validating or nominating. */
  chill(): Message {
    return create(MsgChillSchema, {});
  },
  /** veil.staking.v1.MsgSetPayee: change where rewards go. */
  setPayee(rewardDestination: RewardDestination): Message {
    return create(MsgSetPayeeSchema, { payee: payee(rewardDestination) });
  },

  /** veil.contracts.v1.MsgPushCommand: a sealed command (see sealCommand) for a contract. */
  pushCommand(id: string | Uint8Array, envelope: Uint8Array): Message {
    return create(MsgPushCommandSchema, { contractId: contractId(id), envelope });
  },
  /** veil.contracts.v1.MsgDeposit: pay amount into a contract (it is called with the sender as caller). */
  deposit(id: string | Uint8Array, value: bigint): Message {
    return create(MsgDepositSchema, { contractId: contractId(id), amount: amount(value, 'deposit amount') });
  },
  /** veil.contracts.v1.MsgUploadCode: store a module (raw or gzip). */
  uploadCode(code: Uint8Array): Message {
    return create(MsgUploadCodeSchema, { code });
  },
  /** veil.contracts.v1.MsgInstantiate: a new instance of stored code. */
  instantiate(options: { codeHash: Uint8Array; salt?: Uint8Array; initArgs?: Uint8Array; replicas?: number; label?: string }): Message {
    if (options.codeHash.length !== 32) throw new VeilError('code hash is 32 bytes');
    return create(MsgInstantiateSchema, {
      codeHash: options.codeHash,
      salt: options.salt ?? new Uint8Array(),
      initArgs: options.initArgs ?? new Uint8Array(),
      replicas: options.replicas ?? 0,
      label: options.label ?? '',
    });
  },
  /** veil.contracts.v1.MsgReassign: replace a contract's offline workers (deployer or sudo). */
  reassign(id: string | Uint8Array): Message {
    return create(MsgReassignSchema, { contractId: contractId(id) });
  },
});
