# Veil — the two commands a newcomer needs are `make dev` and `make test`.
GO       ?= go
BIN      := bin/veil
DEV_HOME ?= $(HOME)/.veil/dev
DEV_ARGS ?=
# Fuzz time per target for `make fuzz`.
FUZZTIME ?= 20s

# The example contracts 'make dev' deploys, and how a contract is built:
# a WASI reactor, reproducible paths, no symbol tables.
CONTRACTS      := hello-world secret-note secret-wallet guess-number
CONTRACT_FLAGS := -buildmode=c-shared -trimpath -ldflags="-s -w"

# The Web UI is rebuilt only when a source of the SDK or the app changed.
WEB_SRC := $(shell find web/sdk/src web/app/src web/app/public -type f 2>/dev/null) \
	$(wildcard web/app/index.html web/app/vite.config.ts web/package-lock.json web/sdk/package.json web/app/package.json)

.PHONY: all build contracts web dev test test-go test-web lint generate fuzz bench clean help

all: build

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/veil
	$(GO) build -o $(BIN) ./cmd/veil

contracts: ## build the example contracts into bin/contracts/*.wasm
	@mkdir -p bin/contracts
	@for c in $(CONTRACTS); do \
	  echo "contract $$c"; \
	  GOOS=wasip1 GOARCH=wasm $(GO) build $(CONTRACT_FLAGS) -o bin/contracts/$$c.wasm ./contracts/examples/$$c || exit 1; \
	done

web: web/app/dist/index.html ## build the Web UI into web/app/dist (installs Node.js/npm packages if missing)

web/app/dist/index.html: $(WEB_SRC)
	@./scripts/web-setup.sh
	cd web && npm run --silent build

dev: build contracts web ## build everything and run the local dev network with the example contracts and the Web UI (Ctrl-C to stop)
	./$(BIN) dev --home $(DEV_HOME) --contracts bin/contracts --ui web/app/dist $(DEV_ARGS)

test: ## vet, format check, and every test: Go (unit, integration, fuzz seeds), SDK, browser, tutorial
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-go
	@$(MAKE) --no-print-directory test-web

test-go: ## every Go test
	$(GO) test -count=1 -timeout 25m ./...

test-web: ## the SDK's tests (Go vectors), the UI build and budget, the browser tutorial path and the tutorial's commands against a real dev network
	./scripts/web-test.sh

lint: ## gofmt + go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

generate: ## regenerate protobuf/Connect code from proto/
	./scripts/generate.sh

fuzz: ## run every fuzz target for FUZZTIME each
	./scripts/fuzz.sh $(FUZZTIME)

bench: build ## run the benchmarks recorded in docs/benchmarks.md
	./$(BIN) bench transfers
	$(GO) test -run '^$$' -bench . -benchmem ./chain/... ./crypto/... ./npos/... ./attest/...

clean:
	rm -rf bin web/app/dist web/sdk/dist
