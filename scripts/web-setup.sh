#!/usr/bin/env bash
# Makes sure the browser side can be built and tested: Node.js 20.19+ with
# npm (from the system's package manager when missing or too old), the web
# workspace's npm dependencies exactly as locked, and — with --chromium —
# Debian's Chromium for the browser tests (Playwright's own browser download
# is not used). Idempotent and quiet when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

want_chromium=0
[ "${1:-}" = "--chromium" ] && want_chromium=1

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "error: $* missing and no apt-get here; install it with your package manager" >&2
    exit 1
  fi
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}
if ! node_ok; then
  echo "installing Node.js (20.19+ needed for Vite)…" >&2
  apt_install nodejs npm || apt_install nodejs
  if ! node_ok; then
    echo "error: Node.js 20.19 or later is needed to build the Web UI (found: $(node --version 2>/dev/null || echo none))." >&2
    echo "       Install it from https://nodejs.org or your distribution, then run this again." >&2
    exit 1
  fi
fi

# npm ci only when the lock file changed since the last install.
stamp=web/node_modules/.veil-lock.sha256
sum=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  echo "installing the web workspace's npm dependencies (npm ci)…" >&2
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$sum" >"$stamp"
fi

if [ "$want_chromium" = 1 ] && [ -z "${CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ]; then
  echo "installing Debian's Chromium for the browser tests…" >&2
  apt_install chromium
fi
