# framecast: the two commands a new machine needs are `make run` and `make test`.
CARGO ?= cargo
LISTEN ?= 0.0.0.0:8080

.PHONY: run test test-clients lint fmt bench deps deps-test deps-clients doc clean

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

## bench: criterion micro-benchmarks, framecast against libvips and Pillow, then 500 stream clients
bench:
	./scripts/deps.sh bench
	$(CARGO) bench --bench render
	./benches/vs_peers.sh
	$(CARGO) bench --bench stream

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
