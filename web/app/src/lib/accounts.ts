// Key derivation (sr25519 and its dependencies) lives in this module, which
// the shell imports dynamically after its first paint: the header and the
// chain head never wait for the signing crypto to download and parse.
import { DEV_ACCOUNTS, signerFromUri, type Signer } from '@veil-network/sdk';

export interface RawAccount {
  name: string;
  signer: Signer;
  dev: boolean;
}

/** Signers of the well-known dev accounts (//Alice … //Ferdie). */
export function devAccounts(): RawAccount[] {
  return DEV_ACCOUNTS.map((a) => ({ name: a.name, signer: signerFromUri(a.uri), dev: true }));
}

/**
 * An account from a secret URI ("//Dave", a mnemonic, 0x seed, with
 * derivation paths). The URI is used once and not kept: only the signer is.
 * Throws the SDK's KeyError, whose message says what is wrong.
 */
export function accountFromUri(name: string, uri: string): RawAccount {
  return { name, signer: signerFromUri(uri.trim()), dev: false };
}
