# framecast: the two commands a new machine needs are `make run` and `make test`.
CARGO ?= cargo
LISTEN ?= 0.0.0.0:8080

.PHONY: run test test-clients lint fmt bench fuzz deps deps-test deps-clients doc clean

## run: serve the sample gallery in assets/; the URLs to open are printed at start
run: deps
	$(CARGO) build --release
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
## then peak memory of large and hostile photos
bench:
	./scripts/deps.sh bench
	$(CARGO) bench --bench render
	./benches/vs_peers.sh
	$(CARGO) bench --bench stream
	$(CARGO) bench --bench memory

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

clean:
	$(CARGO) clean
