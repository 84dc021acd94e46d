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

.PHONY: all build contracts dev test lint generate fuzz bench clean help

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

dev: build contracts ## build everything and run the local dev network with the example contracts (Ctrl-C to stop)
	./$(BIN) dev --home $(DEV_HOME) --contracts bin/contracts $(DEV_ARGS)

test: ## vet, format check, and every test (unit, integration, fuzz seeds)
	@$(MAKE) --no-print-directory lint
	$(GO) test -count=1 -timeout 25m ./...

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
	rm -rf bin
