import { defineConfig, type Connect, type Plugin } from 'vite';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// The SDK is a workspace package consumed from source (web/sdk/src), so the
// app always builds against the SDK in the same checkout and tree-shakes it
// module by module instead of importing a prebuilt bundle.
const sdkSrc = fileURLToPath(new URL('../sdk/src', import.meta.url));

/**
 * devNetwork serves a `veil dev` network.json at /network.json during
 * `vite` (dev server and preview), the way `veil dev --ui` does in
 * production, so the app can be developed against a running dev network:
 * VEIL_NETWORK=~/.veil/dev/network.json npm run dev -w @veil-network/app
 */
function devNetwork(): Plugin {
  const file = process.env.VEIL_NETWORK;
  const serve: Connect.NextHandleFunction = (req, res, next) => {
    if (!file || req.url?.split('?')[0] !== '/network.json') return next();
    readFile(file)
      .then((b) => {
        res.setHeader('Content-Type', 'application/json');
        res.setHeader('Cache-Control', 'no-store');
        res.end(b);
      })
      .catch((e: Error) => {
        res.statusCode = 502;
        res.end(`cannot read VEIL_NETWORK=${file}: ${e.message}`);
      });
  };
  return {
    name: 'veil-dev-network',
    configureServer(server) {
      server.middlewares.use(serve);
    },
    configurePreviewServer(server) {
      server.middlewares.use(serve);
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [devNetwork()],
  resolve: {
    alias: [
      { find: /^@veil-network\/sdk$/, replacement: `${sdkSrc}/index.ts` },
    ],
  },
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    // The X-Wing/sr25519 crypto chunk is large by nature; the budget is
    // enforced on the whole app by scripts/web-test.sh instead.
    chunkSizeWarningLimit: 1200,
  },
});
