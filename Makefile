# The two set-up commands from the README:
#   make cluster   build bin/ringkv and start a local 3-node cluster (ringkv dev up)
#   make test      run the whole test suite with the race detector
GO ?= go
BIN := bin/ringkv

.PHONY: build cluster down test vet fmt-check generate bench

build:
	$(GO) build -o $(BIN) ./cmd/ringkv

cluster: build
	./$(BIN) dev up --nodes 3

down: build
	./$(BIN) dev down

test:
	$(GO) test -race -timeout 12m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Regenerates api/ from the .proto files (buf runs through go run; the
# first run builds buf, about 2 minutes).
generate:
	$(GO) run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./vclock ./ring ./antientropy
	$(GO) test -run '^$$' -bench 'Store|Cluster' -benchmem ./node
