import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Block, Contracts, DevNetwork, GetStatusResponse, Signer, VeilClient } from '@veil-network/sdk';
import type { Token } from './lib/format';

/** An account the UI can sign with. Secrets stay inside the signer. */
export interface Account {
  name: string;
  address: string;
  /** 64 lower-case hex digits: how contracts name accounts (sdk.Account JSON). */
  hex: string;
  signer: Signer;
  /** A well-known dev account (//Alice…), as opposed to one added by URI. */
  dev: boolean;
}

/** Everything the pages share: the network, the node connection, accounts. */
export interface AppState {
  network: DevNetwork | null;
  client: VeilClient | null;
  contracts: Contracts | null;
  status: GetStatusResponse | null;
  token: Token;
  /** Latest block height seen (stream or status); null until the node answers. */
  head: bigint | null;
  /** Recent blocks, newest first. */
  blocks: Block[];
  /** Why the node cannot be used right now (the banner), or null. */
  nodeError: string | null;
  accounts: Account[];
  account: Account | null;
  selectAccount(name: string): void;
  /** Derives an account from a secret URI, kept in memory only; throws KeyError. */
  addAccount(name: string, uri: string): Promise<Account>;
  /** Finds a known account by SS58 address. */
  accountByAddress(address: string): Account | undefined;
  /** Named example contracts from network.json: name → id (hex). */
  examples: Record<string, string>;
  /** Contract id → example name, for listings. */
  exampleName(id: string): string | undefined;
}

export const AppCtx = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppCtx);
  if (!s) throw new Error('useApp outside the app shell');
  return s;
}

/** The client, once network.json is loaded; pages render a notice before. */
export function useClient(): VeilClient | null {
  return useApp().client;
}
