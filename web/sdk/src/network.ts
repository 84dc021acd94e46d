// Dev network discovery: `veil dev` writes network.json (client.Network in
// Go) and serves it to the UI at /network.json, so a page needs no
// configuration to find the node, the workers and the example contracts.

import type { VeilClient } from './client.js';
import { Contracts, type ContractsOptions } from './contracts.js';
import { NetworkError, VeilError } from './errors.js';

/** The network.json of a `veil dev` network (fields the browser needs). */
export interface DevNetwork {
  chain_id: string;
  node: { api: string; rpc: string };
  workers: { name: string; api: string; identity?: string; tee?: string }[];
  ui?: string;
  /** Contracts `veil dev` deployed, by name (e.g. "hello-world"). */
  contracts?: Record<string, { id: string; address: string; code_hash: string }>;
}

/** Fetches and checks a network.json (default '/network.json', where `veil dev` serves it). */
export async function loadNetwork(url = '/network.json', options?: { fetch?: typeof fetch }): Promise<DevNetwork> {
  const f = options?.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(url, { headers: { accept: 'application/json' } });
  } catch (e) {
    throw new NetworkError(url, `network file ${url} unreachable: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok) throw new NetworkError(url, `network file ${url}: HTTP ${res.status} (is this page served by 'veil dev'?)`);
  let n: DevNetwork;
  try {
    n = (await res.json()) as DevNetwork;
  } catch (e) {
    throw new VeilError(`network file ${url} is not JSON`, { cause: e });
  }
  if (!n || typeof n !== 'object' || !n.node || typeof n.node.api !== 'string' || !n.node.api) {
    throw new VeilError(`network file ${url} has no node.api endpoint`);
  }
  // Entries the SDK reads are checked here, so a malformed file is one
  // clear error (or an ignored entry) instead of a TypeError later.
  const str = (v: unknown) => typeof v === 'string';
  n.workers = (Array.isArray(n.workers) ? n.workers : []).filter(
    (w) => w && typeof w === 'object' && str(w.api) && (w.identity === undefined || str(w.identity)),
  );
  if (n.contracts != null) {
    const ok =
      typeof n.contracts === 'object' &&
      !Array.isArray(n.contracts) &&
      Object.values(n.contracts).every((c) => c && typeof c === 'object' && str(c.id));
    if (!ok) throw new VeilError(`network file ${url}: "contracts" must map names to {"id": …}`);
  }
  return n;
}

/** A contract client reaching the network's workers (mapped by identity; Contracts normalises the hex). */
export function contractsForNetwork(client: VeilClient, n: DevNetwork, options?: Omit<ContractsOptions, 'workers'>): Contracts {
  const workers: Record<string, string> = {};
  for (const w of n.workers ?? []) {
    if (w.identity && w.api) workers[w.identity] = w.api;
  }
  return new Contracts(client, { ...options, workers });
}
