import type { ComponentType } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { contractsForNetwork, encodeAddress, loadNetwork, toHex, validatePrefix, VeilClient, type DevNetwork } from '@veil-network/sdk';
import { AppCtx, type Account, type AppState } from './state';
import { useChain } from './lib/chain';
import { DEFAULT_TOKEN, normHex, shortAddr, type Token } from './lib/format';
import { explain } from './lib/errors';
import { href, useRoute } from './lib/route';
import type { RawAccount } from './lib/accounts';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Loading } from './components/Spinner';

/** What every page component receives: the route after its own segment. */
export interface PageProps {
  route: string[];
}

type PageModule = { default: ComponentType<PageProps> };

/**
 * Pages are separate chunks loaded on first visit: the shell (header,
 * chain head) paints without waiting for any page's code, and the
 * explorer's protobuf decoder or the staking forms cost nothing until used.
 */
const PAGES: Record<string, { title: string; load: () => Promise<PageModule> }> = {
  wallet: { title: 'Wallet', load: () => import('./pages/Wallet') },
  confidential: { title: 'Confidential', load: () => import('./pages/Confidential') },
  explorer: { title: 'Explorer', load: () => import('./pages/Explorer') },
  validators: { title: 'Validators & staking', load: () => import('./pages/Validators') },
  workers: { title: 'Workers', load: () => import('./pages/Workers') },
  contracts: { title: 'Contracts', load: () => import('./pages/Contracts') },
};

const loaded: Record<string, ComponentType<PageProps>> = {};

function Page({ name, route }: { name: string; route: string[] }) {
  const [, force] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (loaded[name]) return;
    let live = true;
    setError(null);
    PAGES[name]
      .load()
      .then((m) => {
        loaded[name] = m.default;
        if (live) force((n) => n + 1);
      })
      .catch((e) => live && setError(`Could not load the ${PAGES[name].title} page: ${explain(e)}`));
    return () => {
      live = false;
    };
  }, [name]);
  const C = loaded[name];
  if (error)
    return (
      <div class="card error-card" role="alert">
        <p class="error-text">{error}</p>
        <button type="button" onClick={() => location.reload()}>
          Reload
        </button>
      </div>
    );
  if (!C) return <Loading what={PAGES[name].title} />;
  return <C route={route} />;
}

/**
 * Where network.json comes from: `?network=URL` (another dev network) or
 * `?node=URL` (a bare node API, no workers known), else `/network.json`
 * as `veil dev --ui` serves it next to this app.
 */
function networkSource(): { url?: string; node?: string } {
  const q = new URLSearchParams(location.search);
  return { url: q.get('network') ?? undefined, node: q.get('node') ?? undefined };
}

function isValidPrefix(p: number): boolean {
  try {
    validatePrefix(p);
    return true;
  } catch {
    return false;
  }
}

const ACCOUNT_KEY = 'veil.account';

function usePersistedAccount(): [string, (n: string) => void] {
  const [name, setName] = useState(() => {
    try {
      return localStorage.getItem(ACCOUNT_KEY) ?? 'Alice';
    } catch {
      return 'Alice';
    }
  });
  const set = useCallback((n: string, persist = true) => {
    setName(n);
    try {
      if (persist) localStorage.setItem(ACCOUNT_KEY, n);
    } catch {
      /* private mode: the choice lasts for this page only */
    }
  }, []);
  return [name, set];
}

export function App() {
  const route = useRoute();
  const [network, setNetwork] = useState<DevNetwork | null>(null);
  const [networkError, setNetworkError] = useState<string | null>(null);
  const [netAttempt, setNetAttempt] = useState(0);
  const [navOpen, setNavOpen] = useState(false);

  useEffect(() => {
    const src = networkSource();
    if (src.node) {
      setNetwork({ chain_id: '', node: { api: src.node, rpc: '' }, workers: [] });
      return;
    }
    let live = true;
    const url = src.url ?? '/network.json';
    loadNetwork(url).then(
      (n) => {
        if (!live) return;
        setNetwork(n);
        setNetworkError(null);
      },
      (e) => live && setNetworkError(`Cannot load the network description ${url}: ${explain(e)} — is \`veil dev --ui\` serving this page?`),
    );
    return () => {
      live = false;
    };
  }, [netAttempt]);

  // A node URL from ?node= or network.json that is not http(s) is a banner, not a blank page.
  const [client, clientError] = useMemo((): [VeilClient | null, string | null] => {
    if (!network) return [null, null];
    try {
      return [new VeilClient(network.node.api, { timeoutMs: 15_000 }), null];
    } catch (e) {
      return [null, `Cannot use the node API address: ${explain(e)}`];
    }
  }, [network]);
  const contracts = useMemo(() => (client && network ? contractsForNetwork(client, network) : null), [client, network]);
  const chain = useChain(client, network);

  const token: Token = useMemo(
    () =>
      chain.status
        ? {
            symbol: chain.status.tokenSymbol || 'VEIL',
            decimals: chain.status.tokenDecimals,
            // Every address on the page is encoded with it: a prefix SS58 cannot use keeps the default.
            ss58: isValidPrefix(chain.status.ss58Prefix) ? chain.status.ss58Prefix : DEFAULT_TOKEN.ss58,
          }
        : DEFAULT_TOKEN,
    [chain.status],
  );

  // Accounts: the signing crypto loads after the first paint.
  const [raw, setRaw] = useState<RawAccount[]>([]);
  // The latest accounts for addAccount, which may run twice before a re-render.
  const rawRef = useRef(raw);
  rawRef.current = raw;
  const [accountsError, setAccountsError] = useState<string | null>(null);
  const [accountName, setAccountName] = usePersistedAccount();
  useEffect(() => {
    let live = true;
    import('./lib/accounts')
      .then((m) => {
        const dev = m.devAccounts();
        if (!live) return;
        setRaw((prev) => [...dev, ...prev.filter((a) => !a.dev)]);
      })
      .catch((e) => live && setAccountsError(`Cannot load the accounts (key derivation code): ${explain(e)}`));
    return () => {
      live = false;
    };
  }, []);
  const accounts: Account[] = useMemo(
    () =>
      raw.map((r) => ({
        name: r.name,
        signer: r.signer,
        dev: r.dev,
        address: encodeAddress(r.signer.publicKey, token.ss58),
        hex: toHex(r.signer.publicKey),
      })),
    [raw, token.ss58],
  );
  const account = accounts.find((a) => a.name === accountName) ?? accounts[0] ?? null;

  const addAccount = useCallback(
    async (name: string, uri: string) => {
      const m = await import('./lib/accounts');
      const current = rawRef.current;
      const taken = new Set(current.map((r) => r.name));
      let n = name.trim() || `Account ${current.filter((r) => !r.dev).length + 1}`;
      for (let i = 2; taken.has(n); i++) n = `${name.trim() || 'Account'} (${i})`;
      const r = m.accountFromUri(n, uri); // throws KeyError
      rawRef.current = [...current, r];
      setRaw((prev) => [...prev, r]);
      setAccountName(n);
      return {
        name: r.name,
        signer: r.signer,
        dev: false,
        address: encodeAddress(r.signer.publicKey, token.ss58),
        hex: toHex(r.signer.publicKey),
      };
    },
    [token.ss58, setAccountName],
  );

  const examples = useMemo(() => {
    const out: Record<string, string> = {};
    for (const [name, c] of Object.entries(network?.contracts ?? {})) out[name] = normHex(c.id);
    return out;
  }, [network]);

  const state: AppState = {
    network,
    client,
    contracts,
    status: chain.status,
    token,
    head: chain.head,
    blocks: chain.blocks,
    nodeError: chain.nodeError,
    accounts,
    account,
    selectAccount: setAccountName,
    addAccount,
    accountByAddress: (a) => accounts.find((x) => x.address === a),
    examples,
    exampleName: (id) => Object.entries(examples).find(([, v]) => v === normHex(id))?.[0],
  };

  // First meaningful paint: the header with the chain's latest height.
  const marked = useRef(false);
  useEffect(() => {
    if (marked.current || chain.head === null) return;
    marked.current = true;
    requestAnimationFrame(() => {
      performance.mark('veil-fmp');
      // Warm the two pages a newcomer opens first.
      PAGES.wallet.load().catch(() => undefined);
      PAGES.confidential.load().catch(() => undefined);
    });
  }, [chain.head]);

  const page = PAGES[route[0] ?? ''] ? route[0] : 'wallet';
  useEffect(() => {
    document.title = `${PAGES[page].title} · Veil`;
    setNavOpen(false);
  }, [page]);

  return (
    <AppCtx.Provider value={state}>
      <header class="topbar">
        <a class="brand" href={href('wallet')}>
          <span class="logo" aria-hidden="true">
            V
          </span>
          Veil
        </a>
        <span class="chip" title="chain id" data-testid="chain-id">
          {chain.status?.chainId || network?.chain_id || '…'}
        </span>
        <a
          class={`chip height ${chain.nodeError ? 'stale' : ''}`}
          href={href('explorer')}
          title={chain.mode === 'poll' ? 'latest block (polling)' : 'latest block (live)'}
          data-testid="latest-height"
          data-height={chain.head?.toString() ?? ''}
        >
          <span class={`live-dot ${chain.head !== null && !chain.nodeError ? 'on' : ''}`} key={chain.head?.toString()} aria-hidden="true" />#
          {chain.head?.toString() ?? '…'}
        </a>
        <span class="grow" />
        <label class="account-picker">
          <span class="sr-only">Account</span>
          <select
            data-testid="account-select"
            value={account?.name ?? ''}
            disabled={accounts.length === 0}
            onChange={(e) => setAccountName((e.target as HTMLSelectElement).value)}
          >
            {accounts.length === 0 && <option value="">loading accounts…</option>}
            {accounts.map((a) => (
              <option key={a.name} value={a.name}>
                {a.dev ? `//${a.name}` : a.name} · {shortAddr(a.address, 4)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          class="nav-toggle"
          aria-label="Menu"
          aria-expanded={navOpen}
          aria-controls="main-nav"
          data-testid="nav-toggle"
          onClick={() => setNavOpen(!navOpen)}
        >
          <span />
          <span />
          <span />
        </button>
      </header>
      <nav id="main-nav" class={`nav ${navOpen ? 'open' : ''}`} data-testid="nav">
        {Object.entries(PAGES).map(([k, p]) => (
          <a key={k} href={href(k)} class={k === page ? 'active' : ''} data-testid={`nav-${k}`} aria-current={k === page ? 'page' : undefined}>
            {p.title}
          </a>
        ))}
      </nav>
      {networkError && (
        <div class="banner bad" role="alert" data-testid="network-banner">
          <span>{networkError}</span>
          <button type="button" onClick={() => setNetAttempt((n) => n + 1)} data-testid="network-retry">
            Retry
          </button>
        </div>
      )}
      {clientError && (
        <div class="banner bad" role="alert" data-testid="network-banner">
          <span>{clientError}</span>
        </div>
      )}
      {accountsError && (
        <div class="banner bad" role="alert" data-testid="accounts-banner">
          <span>{accountsError}</span>
          {/* Reload, as for a page chunk: a browser may remember a failed import. */}
          <button type="button" onClick={() => location.reload()}>
            Reload
          </button>
        </div>
      )}
      {chain.nodeError && (
        <div class="banner bad" role="alert" data-testid="node-banner">
          <span>
            <strong>{chain.nodeError}</strong>
            {chain.nodeErrorDetail && (
              <span class="small banner-detail">
                {chain.nodeErrorDetail} <span class="muted">Retrying automatically.</span>
              </span>
            )}
          </span>
          <button type="button" onClick={chain.retry} data-testid="node-retry">
            Retry
          </button>
        </div>
      )}
      <main class="main">
        <ErrorBoundary where={`the ${PAGES[page].title} page`} resetKey={route.join('/')}>
          <Page name={page} route={route.slice(1)} />
        </ErrorBoundary>
      </main>
      <footer class="footer muted small">
        Veil dev UI · node {network?.node.api ?? '…'} · {chain.status ? `v${chain.status.version}` : ''}
      </footer>
    </AppCtx.Provider>
  );
}
