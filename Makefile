# framecast: the two commands a new machine needs are `make run` and `make test`.
CARGO ?= cargo
LISTEN ?= 0.0.0.0:8080

.PHONY: run test lint fmt bench deps deps-test doc clean

## run: serve the sample gallery in assets/; the URLs to open are printed at start
run: deps
	$(CARGO) build --release
	RUST_LOG=$${RUST_LOG:-info} ./target/release/framecast serve assets --listen $(LISTEN)

## test: lint, then every test (unit, integration, CLI, real clients) and a compile check of the benches
test: lint
	@./scripts/deps.sh test
	$(CARGO) test --all-targets

## lint: formatting and clippy, warnings are errors
lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: criterion micro-benchmarks, framecast against libvips and Pillow, 500 stream clients,
## then a library of 100,000 photos (first frame, index time, RSS; cold and restarted)
bench:
	./scripts/deps.sh bench
	$(CARGO) bench --bench render
	./benches/vs_peers.sh
	$(CARGO) bench --bench stream
	$(CARGO) bench --bench library

## deps: install missing system packages from Debian (build tools; with the test clients: make deps-test)
deps:
	@./scripts/deps.sh

deps-test:
	@./scripts/deps.sh test

doc:
	$(CARGO) doc --no-deps

clean:
	$(CARGO) clean
