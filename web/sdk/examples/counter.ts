import { VeilClient, contractsForNetwork, loadNetwork, signerFromUri } from '@veil-network/sdk';

export async function run(networkUrl: string, contract: string): Promise<number> {
  const network = await loadNetwork(networkUrl);
  const client = new VeilClient(network.node.api);
  const contracts = contractsForNetwork(client, network);
  const alice = signerFromUri('//Alice');

  // A command: sealed to the contract's key, ordered by the chain, executed
  // by the contract's workers; wait for its receipt.
  const call = await contracts.call(alice, contract, 'increment', { by: 1 }, { wait: true });
  console.log(`command ${call.sequence} executed in block ${call.height}`);

  // A query: sealed to a worker's registered key; only Alice can read the answer.
  const { count } = await contracts.query<{ count: number }>(alice, contract, 'get_count');
  return count;
}
