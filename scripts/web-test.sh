#!/usr/bin/env bash
# The browser side of `make test`:
#   1. the SDK's type check and unit tests (incl. the Go side's published
#      envelope and transaction vectors: Go↔TS interop),
#   2. the production build of the Web UI and its bundle budget,
#   3. against a real `veil dev` network (free loopback ports, a throwaway
#      HOME): the SDK's integration tests, the Playwright tutorial path in
#      Debian's Chromium (screenshots and perf.json in web/app/test-results/),
#      and every command of docs/tutorial.md (scripts/tutorial-test.sh).
# Bounded: every wait has a timeout; the network is stopped on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

./scripts/web-setup.sh --chromium

echo "== SDK: type check and unit tests (Go vectors)"
(cd web && npm run --silent typecheck)
(cd web/sdk && npx vitest run --reporter=dot)

echo "== SDK: publishable build (tsc → web/sdk/dist)"
(cd web && npm run --silent build -w @veil-network/sdk)

echo "== Web UI: production build"
make --no-print-directory web
mkdir -p web/app/test-results
# Fails over the 500 KB gzipped budget for the app's JavaScript.
node web/app/tests/bundle.mjs --budget $((500 * 1024)) | tee web/app/test-results/bundle.json

echo "== dev network: make dev, as the tutorial starts it"
# Go's and npm's caches stay where they are; only HOME moves, so that
# `make dev` and the tutorial's commands use a throwaway network at their
# default ~/.veil/dev, exactly as written.
export GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" GOPATH="$(go env GOPATH)"
export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
tmp=$(mktemp -d /tmp/veil-web-test.XXXXXX)
export HOME="$tmp"
work="$root/_tutorial-test"
log="$tmp/dev.log"
# Its own process group, so that stopping it stops make and veil alike.
setsid make dev DEV_ARGS="--port-base 0" >"$log" 2>&1 &
dev_pid=$!
cleanup() {
  kill -TERM -- "-$dev_pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$dev_pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
  rm -rf "$tmp" "$work"
}
trap cleanup EXIT
for _ in $(seq 1 360); do
  if grep -q "Veil dev network" "$log" 2>/dev/null; then break; fi
  if ! kill -0 "$dev_pid" 2>/dev/null; then
    echo "error: make dev exited:" >&2; tail -50 "$log" >&2; exit 1
  fi
  sleep 0.5
done
if ! grep -q "Veil dev network" "$log"; then
  echo "error: make dev not ready after 180 s:" >&2; tail -50 "$log" >&2; exit 1
fi
export VEIL_NETWORK="$tmp/.veil/dev/network.json"
grep -E "Web UI|Node API" "$log" || true

echo "== SDK against the dev network"
(cd web/sdk && npx vitest run --reporter=dot test/devnet.test.ts)

echo "== Tutorial: the shell commands"
./scripts/tutorial-test.sh "$work"

echo "== Tutorial: the TypeScript program"
(cd web/sdk && npx vitest run --reporter=dot test/tutorial.test.ts)

echo "== Browser: the tutorial path in Chromium"
VEIL_CONTRACT_WASM="$work/counter.wasm" node web/app/tests/browser.mjs

echo "web tests passed"
