# aufsmount: build, test and demonstrate.
#   make demo    the tool at work on a sample store it builds itself
#   make test    every test (mounting tests need root and /dev/fuse)

GO       ?= go
FUZZTIME ?= 30s
BIN      := bin/aufsmount
# A static binary without urfave/cli's man-page generator starts about
# 10 ms sooner, and a mount starts it twice (the command and its server).
BUILD    := CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c

.PHONY: all build test demo bench fuzz stress clean

all: build

build:
	$(BUILD) -o $(BIN) ./cmd/aufsmount

test:
	$(GO) vet ./...
	$(GO) test ./...
	$(GO) test -race ./fs/ ./layerstore/...
	$(BUILD) -o $(BIN) ./cmd/aufsmount
	$(GO) run ./cmd/aufsbench --smoke --bin $(BIN)

demo: build
	$(GO) run ./cmd/aufsdemo

bench: build
	$(GO) run ./cmd/aufsbench --bin $(BIN) --json bench.json

# Runs every Go fuzz target of the module, one after the other, each for
# FUZZTIME (make fuzz FUZZTIME=5m). go test -list prints a package's
# targets before its "ok <package>" line.
fuzz:
	targets=$$($(GO) test -list '^Fuzz' ./... | \
		awk '/^Fuzz/ { f[n++] = $$1 } /^ok / { for (i = 0; i < n; i++) print $$2, f[i]; n = 0 }'); \
	if [ -z "$$targets" ]; then echo "no fuzz targets"; exit 0; fi; \
	while read -r pkg target; do \
		echo "== $$target ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done <<< "$$targets"

# TestLoad for a minute instead of the 5 seconds of make test: 16 readers
# over one mount, the daemon's memory watched.
stress:
	AUFSMOUNT_LOAD_SECONDS=60 $(GO) test -run TestLoad -v -timeout 10m ./integration/

clean:
	rm -rf bin
