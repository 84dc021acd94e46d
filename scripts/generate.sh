#!/usr/bin/env bash
# Regenerates all protobuf code (Go + Connect) from proto/. Reproducible: the
# plugins are pinned as tool dependencies in go.mod, protoc comes from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null; then
  echo "protoc not found; installing Debian's protobuf-compiler" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
fi
bin="$PWD/bin/tools"
mkdir -p "$bin"
GOBIN="$bin" go install google.golang.org/protobuf/cmd/protoc-gen-go connectrpc.com/connect/cmd/protoc-gen-connect-go
rm -rf gen
mkdir -p gen
mapfile -t files < <(find proto -name '*.proto' | sort)
protoc -I proto -I /usr/include \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --plugin=protoc-gen-connect-go="$bin/protoc-gen-connect-go" \
  --go_out=gen --go_opt=paths=source_relative \
  --connect-go_out=gen --connect-go_opt=paths=source_relative \
  "${files[@]}"
echo "generated $(find gen -name '*.go' | wc -l) files"

# TypeScript (protobuf-es v2: messages and service descriptors in one file
# per proto, used by Connect-Web) for the browser SDK, with the generator
# pinned in web/package-lock.json.
if ! command -v npm >/dev/null; then
  echo "npm not found: install Node.js 20.19+ to generate the TypeScript code" >&2
  exit 1
fi
(cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
es="$PWD/web/sdk/node_modules/.bin/protoc-gen-es"
[ -x "$es" ] || es="$PWD/web/node_modules/.bin/protoc-gen-es"
rm -rf web/sdk/src/gen
mkdir -p web/sdk/src/gen
protoc -I proto -I /usr/include \
  --plugin=protoc-gen-es="$es" \
  --es_out=web/sdk/src/gen --es_opt=target=ts,import_extension=js \
  "${files[@]}"
echo "generated $(find web/sdk/src/gen -name '*.ts' | wc -l) TypeScript files"
