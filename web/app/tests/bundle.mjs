// The size of the built Web UI as served, gzipped: the one measurement of
// the 500 KB JavaScript budget, used by scripts/web-test.sh (which fails the
// build over budget) and by the browser test (which records it in
// perf.json).
//
//   node tests/bundle.mjs [--budget BYTES]   prints {"js": …, "css": …}
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Gzipped bytes of the built app's JavaScript and CSS (dist/assets); undefined when not built. */
export async function bundleGzipBytes() {
  const dir = path.join(APP_DIR, 'dist', 'assets');
  if (!existsSync(dir)) return undefined;
  const out = { js: 0, css: 0 };
  for (const f of await readdir(dir)) {
    const kind = f.endsWith('.js') ? 'js' : f.endsWith('.css') ? 'css' : null;
    if (kind) out[kind] += gzipSync(await readFile(path.join(dir, f)), { level: 9 }).length;
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--budget');
  const budget = i > 0 ? Number(process.argv[i + 1]) : undefined;
  if (budget !== undefined && !(budget > 0)) {
    console.error('--budget needs a positive number of bytes');
    process.exit(2);
  }
  const b = await bundleGzipBytes();
  if (!b) {
    console.error(`no build in ${path.join(APP_DIR, 'dist')}: run 'make web' first`);
    process.exit(1);
  }
  console.log(JSON.stringify(b));
  if (budget !== undefined && b.js > budget) {
    console.error(`the app's JavaScript is ${b.js} bytes gzipped, over the ${budget}-byte budget`);
    process.exit(1);
  }
}
