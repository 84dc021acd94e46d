import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Receipt } from '@veil-network/sdk';
import { explain, type ErrorContext } from './errors';

/**
 * The stages an action can go through. Plain transactions: submitted
 * (pending in the mempool) → included (committed in a block). Contract
 * commands add sealing (HPKE encryption, before anything is sent) and
 * executed (the TEE's receipt). Queries are a single "querying" step.
 */
export type Stage = 'checking' | 'sealing' | 'submitted' | 'included' | 'executed' | 'querying' | 'deploying';

export interface ActionState {
  phase: 'idle' | 'working' | 'done' | 'error';
  title?: string;
  steps: Stage[];
  stage?: Stage;
  txHash?: string;
  height?: bigint;
  fee?: string;
  sequence?: bigint;
  /** Size of the sealed command: the ciphertext the chain stores. */
  envelopeBytes?: number;
  receipt?: Receipt;
  result?: unknown;
  /** One-line summary of a success. */
  message?: string;
  error?: string;
  startedAt: number;
  finishedAt?: number;
}

const IDLE: ActionState = { phase: 'idle', steps: [], startedAt: 0 };

export type Report = (p: Partial<ActionState>) => void;

/**
 * useAction runs one user action at a time and tracks its progress for
 * ActionStatus. A newer run supersedes an older one's late reports, and
 * nothing is reported after the component unmounts.
 */
export function useAction(): [
  ActionState,
  (title: string, steps: Stage[], fn: (report: Report) => Promise<Partial<ActionState> | void>, ctx?: ErrorContext) => Promise<boolean>,
  () => void,
] {
  const [state, setState] = useState<ActionState>(IDLE);
  const gen = useRef(0);
  useEffect(
    () => () => {
      gen.current++;
    },
    [],
  );
  const run = useCallback(
    async (title: string, steps: Stage[], fn: (report: Report) => Promise<Partial<ActionState> | void>, ctx?: ErrorContext) => {
      const id = ++gen.current;
      const report: Report = (p) => {
        if (gen.current === id) setState((prev) => ({ ...prev, ...p }));
      };
      setState({ phase: 'working', title, steps, stage: steps[0], startedAt: performance.now() });
      try {
        const r = await fn(report);
        report({ ...(r ?? {}), phase: 'done', finishedAt: performance.now() });
        return true;
      } catch (e) {
        report({ phase: 'error', error: explain(e, ctx), finishedAt: performance.now() });
        return false;
      }
    },
    [],
  );
  const reset = useCallback(() => {
    gen.current++;
    setState(IDLE);
  }, []);
  return [state, run, reset];
}

export interface AsyncState<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/**
 * useAsync loads data for a page. The previous data stays on screen while
 * a refresh (deps change, e.g. a new block) runs, so live pages do not
 * flicker; errors are explained, never thrown into the render.
 */
export function useAsync<T>(fn: (() => Promise<T>) | null, deps: unknown[], ctx?: ErrorContext): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [nonce, setNonce] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    if (!fn) {
      setLoading(false);
      return;
    }
    const id = ++seq.current;
    setLoading(true);
    fn().then(
      (v) => {
        if (seq.current !== id) return;
        setData(v);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (seq.current !== id) return;
        setError(explain(e, ctx));
        setLoading(false);
      },
    );
    // On unmount (or new deps, which start a newer load anyway) a late answer is dropped.
    return () => {
      if (seq.current === id) seq.current++;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce, fn === null]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** Throttles a fast-changing value (block heights) to at most one change per ms. */
export function useThrottled<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const now = Date.now();
    const wait = last.current + ms - now;
    if (wait <= 0) {
      last.current = now;
      setV(value);
      return;
    }
    const t = setTimeout(() => {
      last.current = Date.now();
      setV(value);
    }, wait);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/**
 * Holds a value read as one account (a private note, a confidential
 * balance, a game's secret). Under any other account it reads as null, so
 * an answer that lands after the user switched accounts is never shown as
 * the new account's, not even for a frame. The setter names the account
 * the value belongs to.
 */
export function useAccountValue<T>(account: string): [T | null, (owner: string, value: T | null) => void] {
  const [held, setHeld] = useState<{ owner: string; value: T } | null>(null);
  const set = useCallback((owner: string, value: T | null) => setHeld(value === null ? null : { owner, value }), []);
  return [held?.owner === account ? held.value : null, set];
}
