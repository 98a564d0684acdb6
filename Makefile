# aufsmount: build, test, install and demonstrate.
#   make            the binary, its man page and shell completions, in bin/
#   make install    installs them (PREFIX=/usr/local, DESTDIR for packages)
#   make demo       the tool at work on a sample store it builds itself
#   make test       every test (mounting tests need root and /dev/fuse)

GO       ?= go
FUZZTIME ?= 30s
OUT      ?= bin
BIN      := $(OUT)/aufsmount
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION)
# A static binary without urfave/cli's man-page generator starts about
# 10 ms sooner, and a mount starts it twice (the command and its server).
BUILD    := CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs -ldflags "$(LDFLAGS)"

# Where make install puts things. mount(8) looks for its helpers in /sbin
# (mount.fuse.aufsmount, for mount -t fuse.aufsmount and fstab), whatever
# the prefix; on a merged-/usr system /sbin is /usr/sbin.
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DATADIR  ?= $(PREFIX)/share
SBINDIR  ?= /sbin
DESTDIR  ?=

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c

.PHONY: all build docs install uninstall test demo bench fuzz stress clean

all: build docs

build:
	$(BUILD) -o $(BIN) ./cmd/aufsmount

# The man page comes from the commands' own help, through urfave/cli's
# generator, which the installed binary leaves out: a second build keeps
# it (its hidden command gen-man). The completion scripts come from the
# binary itself (aufsmount completion SHELL).
docs: build
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(OUT)/aufsmount-gen ./cmd/aufsmount
	$(OUT)/aufsmount-gen gen-man > $(OUT)/aufsmount.1
	rm -f $(OUT)/aufsmount-gen
	mkdir -p $(OUT)/completion
	$(BIN) completion bash > $(OUT)/completion/aufsmount
	$(BIN) completion zsh > $(OUT)/completion/_aufsmount
	$(BIN) completion fish > $(OUT)/completion/aufsmount.fish

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(DATADIR)/bash-completion/completions \
		$(DESTDIR)$(DATADIR)/zsh/site-functions \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/aufsmount
	install -m 0644 $(OUT)/aufsmount.1 $(DESTDIR)$(MANDIR)/man1/aufsmount.1
	install -m 0644 $(OUT)/completion/aufsmount $(DESTDIR)$(DATADIR)/bash-completion/completions/aufsmount
	install -m 0644 $(OUT)/completion/_aufsmount $(DESTDIR)$(DATADIR)/zsh/site-functions/_aufsmount
	install -m 0644 $(OUT)/completion/aufsmount.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/aufsmount.fish
	ln -sfn $(BINDIR)/aufsmount $(DESTDIR)$(SBINDIR)/mount.fuse.aufsmount

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/aufsmount $(DESTDIR)$(MANDIR)/man1/aufsmount.1 \
		$(DESTDIR)$(SBINDIR)/mount.fuse.aufsmount \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/aufsmount \
		$(DESTDIR)$(DATADIR)/zsh/site-functions/_aufsmount \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/aufsmount.fish

test:
	$(GO) vet ./...
	$(GO) test -timeout 25m ./...
	$(GO) test -race ./fs/ ./layerstore/ ./internal/storetest/
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
	rm -rf $(OUT)
