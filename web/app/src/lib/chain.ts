import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { NetworkError, type Block, type DevNetwork, type GetStatusResponse, type VeilClient } from '@veil-network/sdk';
import { explain } from './errors';

/** How many recent blocks the shell keeps for the header and explorer. */
export const RECENT_BLOCKS = 30;

export interface ChainState {
  status: GetStatusResponse | null;
  head: bigint | null;
  blocks: Block[];
  nodeError: string | null;
  /** The underlying error behind nodeError, for the curious. */
  nodeErrorDetail: string | null;
  /** 'stream' while StreamBlocks delivers, 'poll' when it fell back. */
  mode: 'stream' | 'poll' | null;
  retry(): void;
}

/** Resolves after ms, or at once when signal aborts (removing its listener either way: polls run for hours). */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** A stream that ends sooner than this after opening counts as a failed connection: the next waits (backoff). */
const STREAM_MIN_LIFE_MS = 10_000;

/** The banner for a node that cannot be used: a headline and the error behind it. */
export function nodeDownMessage(url: string, err: unknown): { text: string; detail: string } {
  if (err instanceof NetworkError) return { text: `Cannot reach node at ${url} — is \`veil dev\` running?`, detail: err.message };
  return { text: `The node at ${url} answered with an error.`, detail: explain(err) };
}

/**
 * useChain follows the node: GetStatus first (the header's chain id and
 * height, as fast as possible), then the live StreamBlocks feed from a few
 * blocks back so the explorer has history at once. A broken stream
 * reconnects from the next height (no gaps), after a backoff if it did
 * not last (a node or proxy closing streams at once is not hammered);
 * when the node is down the banner says so and the connection is retried
 * with backoff (or at once with retry()). A node whose stream is
 * unavailable but which answers GetStatus is followed by polling instead.
 */
export function useChain(client: VeilClient | null, network: DevNetwork | null): ChainState {
  const [status, setStatus] = useState<GetStatusResponse | null>(null);
  const [head, setHead] = useState<bigint | null>(null);
  const [blocks, setBlocks] = useState<Block[]>([]);
  const [nodeError, setNodeErrorState] = useState<{ text: string; detail: string | null } | null>(null);
  const setNodeError = (e: { text: string; detail: string | null } | string | null) =>
    setNodeErrorState(typeof e === 'string' ? { text: e, detail: null } : e);
  const [mode, setMode] = useState<'stream' | 'poll' | null>(null);
  const [attempt, setAttempt] = useState(0);
  const last = useRef<bigint>(0n);

  const add = useCallback((b: Block) => {
    if (b.height <= last.current) return;
    last.current = b.height;
    setHead(b.height);
    setBlocks((prev) => [b, ...prev].slice(0, RECENT_BLOCKS));
  }, []);

  useEffect(() => {
    if (!client) return;
    const ac = new AbortController();
    const { signal } = ac;
    let delay = 1000;
    const wrongNetwork = (st: GetStatusResponse) =>
      network?.chain_id && st.chainId !== network.chain_id
        ? `Wrong network: network.json describes chain "${network.chain_id}" but the node at ${client.nodeUrl} serves "${st.chainId}".`
        : null;

    const poll = async (until: number) => {
      setMode('poll');
      while (!signal.aborted && Date.now() < until) {
        const st = await client.status();
        if (signal.aborted) return;
        setStatus(st);
        setNodeError(wrongNetwork(st));
        const from = last.current > 0n ? last.current + 1n : st.latestHeight;
        for (let h = from > st.latestHeight - 10n ? from : st.latestHeight - 10n; h <= st.latestHeight && !signal.aborted; h++) {
          const r = await client.block(h);
          if (r.block) add(r.block);
        }
        await sleep(1000, signal);
      }
    };

    (async () => {
      while (!signal.aborted) {
        try {
          const st = await client.status();
          if (signal.aborted) return;
          setStatus(st);
          setNodeError(wrongNetwork(st));
          if (st.latestHeight > last.current) setHead(st.latestHeight);
          const from =
            last.current > 0n ? last.current + 1n : st.latestHeight > BigInt(RECENT_BLOCKS) ? st.latestHeight - BigInt(RECENT_BLOCKS) + 1n : 1n;
          const opened = Date.now();
          try {
            setMode('stream');
            for await (const b of client.blocks({ fromHeight: from, signal })) add(b);
            // The node ended the stream. One that lived is reopened at once;
            // one that ended right away waits, longer each time. (The delay
            // is not reset by a good GetStatus, or such a node would be
            // asked again without pause.)
            if (Date.now() - opened < STREAM_MIN_LIFE_MS) {
              await sleep(delay, signal);
              delay = Math.min(delay * 2, 8000);
            } else {
              delay = 1000;
            }
          } catch (e) {
            if (signal.aborted) return;
            // Is the node gone, or only the stream? A node that still
            // answers GetStatus is polled for a while, then the stream is
            // tried again.
            console.warn('block stream ended:', e);
            await poll(Date.now() + 30_000);
            delay = 1000;
          }
        } catch (e) {
          if (signal.aborted) return;
          setMode(null);
          setNodeError(nodeDownMessage(client.nodeUrl, e));
          await sleep(delay, signal);
          delay = Math.min(delay * 2, 8000);
        }
      }
    })();
    return () => ac.abort();
  }, [client, network, attempt, add]);

  const retry = useCallback(() => {
    setNodeError(null);
    setAttempt((a) => a + 1);
  }, []);

  return { status, head, blocks, nodeError: nodeError?.text ?? null, nodeErrorDetail: nodeError?.detail ?? null, mode, retry };
}
