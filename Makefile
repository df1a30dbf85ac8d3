# framecast: the two commands a new machine needs are `make run` and `make test`.
CARGO ?= cargo
LISTEN ?= 8080

# Release builds name their commit in `framecast --version` (empty outside a git checkout).
# Only release builds: test builds stay the same from commit to commit.
RELEASE_ENV = FRAMECAST_COMMIT=$(shell git rev-parse --short=12 HEAD 2>/dev/null)

# Where `make install` puts things: PREFIX for the program and its data, SYSCONFDIR for the
# service's settings file; DESTDIR is prepended to both (staged installs, packaging).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man/man1
BASHDIR = $(PREFIX)/share/bash-completion/completions
ZSHDIR = $(PREFIX)/share/zsh/site-functions
FISHDIR = $(PREFIX)/share/fish/vendor_completions.d
UNITDIR = $(PREFIX)/lib/systemd/system
# The binary to install; the default is built first, another (BIN=...) is taken as it is.
BIN ?= target/release/framecast
MANPAGES = framecast.1 framecast-config.1 framecast-render.1 framecast-serve.1

AARCH64 = aarch64-unknown-linux-gnu
AARCH64_PKG_CONFIG_LIBDIR = /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
# Debian's cross compilers for every C/C++ build script and the linker: the cc crate reads
# CC_/CXX_/AR_<target>, and the cmake crate passes the same compilers to CMake together with
# CMAKE_SYSTEM_NAME and CMAKE_SYSTEM_PROCESSOR (libjpeg-turbo then builds its NEON code).
# pkg-config looks only in the arm64 multiarch folders (libraries of `dpkg --add-architecture
# arm64`, such as libde265-dev:arm64 for libheif): the pkg-config crate reads the <target>
# variables, CMake's FindPkgConfig the plain PKG_CONFIG_LIBDIR.
AARCH64_ENV = \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
	CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++ \
	AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
	PKG_CONFIG_ALLOW_CROSS=1 \
	PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=$(AARCH64_PKG_CONFIG_LIBDIR) \
	PKG_CONFIG_SYSROOT_DIR_aarch64_unknown_linux_gnu=/ \
	PKG_CONFIG_LIBDIR=$(AARCH64_PKG_CONFIG_LIBDIR)
# Runs an aarch64 program here (qemu-user). No -L prefix: the arm64 glibc, libstdc++, libde265
# and dav1d are installed by deps.sh (multiarch) where a Debian arm64 system has them, and the
# cross toolchain's loader that -L /usr/aarch64-linux-gnu would put first belongs to another
# glibc build than the multiarch libc.so.6 it then finds (see tests/aarch64.rs).
QEMU_AARCH64 = qemu-aarch64

.PHONY: run test test-clients lint fmt bench fuzz deps deps-test deps-clients doc clean release \
	install uninstall deb test-package aarch64 deb-aarch64 test-aarch64

## run: serve the sample gallery in assets/; the URLs to open are printed at start
run: deps
	$(RELEASE_ENV) $(CARGO) build --release
	RUST_LOG=$${RUST_LOG:-info} ./target/release/framecast serve assets --listen $(LISTEN)

## test: lint, then every test (unit, integration, CLI, real clients) and a compile check of the benches
test: lint
	@./scripts/deps.sh test
	$(CARGO) test --all-targets

## test-clients: every recipe of the README's "Screens and players" against the real server:
## the page in Chromium and Firefox ESR, VLC, mpv, ffmpeg, GStreamer, OpenCV, requests
test-clients: deps
	@./scripts/deps.sh test
	@./scripts/deps.sh clients
	$(CARGO) test --test players --test viewer_page --test real_clients -- --include-ignored

## lint: formatting and clippy, warnings are errors
lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: criterion micro-benchmarks, framecast against libvips and Pillow, 500 stream clients,
## then peak memory of large and hostile photos, then a library of 100,000 photos (first
## frame, index time, RSS; cold and restarted)
bench:
	./scripts/deps.sh bench
	$(CARGO) bench --bench render
	./benches/vs_peers.sh
	$(CARGO) bench --bench stream
	$(CARGO) bench --bench memory
	$(CARGO) bench --bench library

## soak: 1,000 stream clients for 5 minutes (SOAK_CLIENTS, SOAK_SECONDS) while photos come and
## go and one client in ten stalls or resets; peak RSS, CPU, frame gaps, open files and kernel
## socket memory before, during and after (about 6 minutes plus a release build)
soak:
	./scripts/deps.sh test
	$(CARGO) bench --bench soak

## fuzz: every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (nightly; installs cargo-fuzz
## when missing). New inputs gather in fuzz/corpus/ (not committed); crashes land in
## fuzz/artifacts/ and belong in fuzz/regressions/ with a fix. `make test` runs the committed
## corpus once on stable (tests/fuzz_corpus.rs).
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= render exif icc containers
fuzz:
	@$(CARGO) +nightly fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	@# The fuzzers run the dependency versions framecast ships with; cargo adds libfuzzer-sys.
	cp Cargo.lock fuzz/Cargo.lock
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; \
	  cp -n fuzz/seeds/$$t/* fuzz/corpus/$$t/; \
	  if [ $$t = render ] || [ $$t = containers ]; then \
	    find tests/fixtures -type f -size -64k -exec cp -n {} fuzz/corpus/$$t/ \; ; \
	  fi; \
	done
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  (cd fuzz && $(CARGO) +nightly fuzz run $$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1) || exit 1; \
	done

## deps: install missing system packages from Debian (build tools; with the test clients: make deps-test)
deps:
	@./scripts/deps.sh

deps-test:
	@./scripts/deps.sh test

deps-clients:
	@./scripts/deps.sh clients

doc:
	$(CARGO) doc --no-deps

## release: the optimised binary, target/release/framecast
release: deps
	$(RELEASE_ENV) $(CARGO) build --release --locked
	@# Cargo leaves the binary alone when only package metadata changed: tell make it is current.
	@touch target/release/framecast

# Rebuilt only when a source is newer, so `make release && sudo make install` does not need
# cargo as root.
target/release/framecast: Cargo.toml Cargo.lock $(shell find src -type f)
	$(MAKE) release

## install: the binary, man pages, shell completions, the systemd unit and its settings file
install: $(BIN)
	@set -e; gen=$$(mktemp -d); trap 'rm -rf "$$gen"' EXIT; \
	"$(BIN)" generate --out "$$gen"; \
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)" "$(DESTDIR)$(BASHDIR)" \
		"$(DESTDIR)$(ZSHDIR)" "$(DESTDIR)$(FISHDIR)" "$(DESTDIR)$(UNITDIR)"; \
	install -m 0755 -s "$(BIN)" "$(DESTDIR)$(BINDIR)/framecast"; \
	for page in $(MANPAGES); do install -m 0644 "$$gen/man/$$page" "$(DESTDIR)$(MANDIR)/$$page"; done; \
	install -m 0644 "$$gen/completions/framecast.bash" "$(DESTDIR)$(BASHDIR)/framecast"; \
	install -m 0644 "$$gen/completions/_framecast" "$(DESTDIR)$(ZSHDIR)/_framecast"; \
	install -m 0644 "$$gen/completions/framecast.fish" "$(DESTDIR)$(FISHDIR)/framecast.fish"; \
	sed 's|/usr/bin/framecast|$(BINDIR)/framecast|' contrib/framecast.service > "$$gen/framecast.service"; \
	install -m 0644 "$$gen/framecast.service" "$(DESTDIR)$(UNITDIR)/framecast.service"; \
	if [ -e "$(DESTDIR)$(SYSCONFDIR)/default/framecast" ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/default/framecast as it is"; \
	else \
		install -D -m 0644 contrib/framecast.default "$(DESTDIR)$(SYSCONFDIR)/default/framecast"; \
	fi; \
	echo "installed framecast into $(DESTDIR)$(PREFIX); as a service: edit $(SYSCONFDIR)/default/framecast, then"; \
	echo "  systemctl daemon-reload && systemctl enable --now framecast"

## uninstall: removes what install put there (a settings file that was edited stays)
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/framecast" "$(DESTDIR)$(BASHDIR)/framecast" \
		"$(DESTDIR)$(ZSHDIR)/_framecast" "$(DESTDIR)$(FISHDIR)/framecast.fish" \
		"$(DESTDIR)$(UNITDIR)/framecast.service"
	for page in $(MANPAGES); do rm -f "$(DESTDIR)$(MANDIR)/$$page"; done
	@f="$(DESTDIR)$(SYSCONFDIR)/default/framecast"; \
	if [ -e "$$f" ]; then \
		if cmp -s "$$f" contrib/framecast.default; then rm -f "$$f"; \
		else echo "kept $$f: it was edited"; fi; \
	fi

## deb: a Debian package in target/debian/ (cargo-deb, installed from crates.io when missing)
deb: release
	@$(CARGO) deb --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-deb
	rm -rf target/generated
	target/release/framecast generate --out target/generated
	$(CARGO) deb --no-build --locked --strip --no-dbgsym --no-separate-debug-symbols

## test-package: installs the .deb on this machine, renders assets/ with it, purges it
test-package: deb
	./scripts/test-package.sh target/debian/framecast_*_amd64.deb

## aarch64: a release binary for 64-bit ARM (Raspberry Pi 3/4/5, most ARM home servers)
aarch64:
	@./scripts/deps.sh aarch64
	$(RELEASE_ENV) $(AARCH64_ENV) $(CARGO) build --release --locked --target $(AARCH64)
	@ls -l target/$(AARCH64)/release/framecast

## deb-aarch64: the Debian package for arm64 (Raspberry Pi OS, Debian on ARM) in target/debian/
deb-aarch64: aarch64
	@$(CARGO) deb --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-deb
	rm -rf target/generated
	$(QEMU_AARCH64) target/$(AARCH64)/release/framecast generate --out target/generated
	$(CARGO) deb --no-build --locked --strip --no-dbgsym --no-separate-debug-symbols \
		--target $(AARCH64)

## test-aarch64: runs that binary under qemu-user on assets/, a HEIC and an AVIF, frames
## compared with the x86-64 ones (one test at a time, so the qemu timings it prints are its own)
test-aarch64: aarch64
	FRAMECAST_AARCH64_BIN=target/$(AARCH64)/release/framecast \
		$(CARGO) test --locked --test aarch64 -- --ignored --nocapture --test-threads 1

clean:
	$(CARGO) clean
