// The TypeScript program of docs/tutorial.md ("Call it from TypeScript"),
// web/sdk/examples/counter.ts, run against the dev network the tutorial
// uses: scripts/web-test.sh starts it with `make dev`, runs the tutorial's
// shell commands (which deploy the `counter` contract), then this test.
// Runs only when VEIL_NETWORK names that network's network.json.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run } from '../examples/counter.js';
import { contractsForNetwork, signerFromUri, VeilClient, type DevNetwork } from '../src/index.js';

const NETWORK = process.env.VEIL_NETWORK;
if (!NETWORK) {
  console.warn('SKIP tutorial test: set VEIL_NETWORK to the network.json of the dev network the tutorial ran against');
}

describe.skipIf(!NETWORK)('tutorial: call the counter from TypeScript', () => {
  it('increments the counter deployed with the CLI and reads it back', async () => {
    const n = JSON.parse(readFileSync(NETWORK!, 'utf8')) as DevNetwork;
    expect(n.ui, 'veil dev serves the UI and its network.json').toBeTruthy();
    const client = new VeilClient(n.node.api);
    const contracts = contractsForNetwork(client, n);
    const counter = (await contracts.list()).filter((c) => c.label === 'counter');
    expect(counter, 'exactly one contract labelled "counter" (deployed by the tutorial)').toHaveLength(1);
    const id = counter[0].id;
    const before = await contracts.query<{ count: number }>(signerFromUri('//Alice'), id, 'get_count');

    // As the tutorial shows it: from the network.json served next to the UI.
    const count = await run(new URL('network.json', n.ui).toString(), id);
    expect(count).toBe(before.count + 1);
  });
});
