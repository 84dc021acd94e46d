#!/usr/bin/env bash
# Runs every shell command of docs/tutorial.md, in the tutorial's order,
# against the running dev network that scripts/web-test.sh started with
# `make dev` (HOME points at its throwaway home, so the commands find the
# network at their default ~/.veil/dev/network.json, exactly as written).
#
# Usage: scripts/tutorial-test.sh WORKDIR — WORKDIR is a scratch directory
# inside the repository (the tutorial's `veil contract new counter` makes a
# package of the Veil module there); it is left with counter.wasm in it for
# the browser test's upload step.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:?usage: tutorial-test.sh WORKDIR}"
doc="$root/docs/tutorial.md"

# 1. The tutorial and this script agree: every command line of the
#    tutorial's sh blocks appears, verbatim, in a command of this script or
#    of web-test.sh (which runs `make dev`).
missing=0
while IFS= read -r line; do
  [ -z "$line" ] && continue
  if ! grep -qF -- "$line" <(grep -hv '^ *#' "$0" "$root/scripts/web-test.sh"); then
    echo "tutorial command not exercised by scripts/tutorial-test.sh: $line" >&2
    missing=1
  fi
done < <(awk '/^```sh$/{f=1;next} /^```/{f=0} f' "$doc" | sed 's/^ *//')
[ "$missing" = 0 ] || exit 1
#    And its TypeScript program is, verbatim, the example the SDK's
#    tutorial test runs (web/sdk/test/tutorial.test.ts).
if ! diff -u <(awk '/^```ts$/{f=1;next} /^```/{f=0} f' "$doc") "$root/web/sdk/examples/counter.ts"; then
  echo "docs/tutorial.md's TypeScript differs from web/sdk/examples/counter.ts" >&2
  exit 1
fi

expect() { # expect WHAT PATTERN OUTPUT
  if ! grep -qE -- "$2" <<<"$3"; then
    echo "tutorial step '$1': expected /$2/ in:" >&2
    echo "$3" >&2
    exit 1
  fi
}

cd "$root"
# 1. Start the network: `make dev` runs in scripts/web-test.sh.
export PATH="$PWD/bin:$PATH"
out=$(veil status)
expect "veil status" "height" "$out"

# 2. The same from the command line.
out=$(veil contract call hello-world increment '{"by":2}' --from //Alice --wait)
expect "hello-world increment" '"count"' "$out"
out=$(veil contract query hello-world get_count --from //Bob)
expect "hello-world get_count" '"count"' "$out"
out=$(veil contract call secret-note set_note '{"text":"meet at noon"}' --from //Alice --wait)
expect "secret-note set_note" "committed at height" "$out"
out=$(veil contract query secret-note get_note --from //Alice)
expect "secret-note get_note" "meet at noon" "$out"

# 3. Write a contract (in the scratch directory, a package of this module).
rm -rf "$work" && mkdir -p "$work" && cd "$work"
veil contract new counter
go test ./counter

# 4. Deploy it.
out=$(veil contract deploy ./counter --from //Alice --label counter)
expect "deploy counter" "contract id" "$out"
out=$(veil contract call counter increment '{"by":5}' --from //Alice --wait)
expect "counter increment" '"count": *5' "$out"
out=$(veil contract query counter get_count --from //Alice)
expect "counter get_count" '"count": *5' "$out"
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags="-s -w" -o counter.wasm ./counter
test -s counter.wasm
echo "tutorial commands passed"
