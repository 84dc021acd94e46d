# Veil — the two commands a newcomer needs are `make dev` and `make test`.
GO       ?= go
BIN      := bin/veil
DEV_HOME ?= $(HOME)/.veil/dev
DEV_ARGS ?=
# Fuzz time per target for `make fuzz`.
FUZZTIME ?= 20s

.PHONY: all build dev test lint generate fuzz bench clean help

all: build

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/veil
	$(GO) build -o $(BIN) ./cmd/veil

dev: build ## build everything and run the local dev network (Ctrl-C to stop)
	./$(BIN) dev --home $(DEV_HOME) $(DEV_ARGS)

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
