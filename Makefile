# framecast: the two commands a new machine needs are `make run` and `make test`.
CARGO ?= cargo
FRAMES ?= target/sample-frames

.PHONY: run test lint fmt bench deps doc clean

## run: render the sample gallery in assets/ and say where the frames are
run: deps
	$(CARGO) build --release
	./target/release/framecast render assets --out $(FRAMES)
	@echo "Frames of the sample gallery are in $(FRAMES)/ (open them with any image viewer)."

## test: lint, then every test (unit, integration, CLI) and a compile check of the benches
test: deps lint
	$(CARGO) test --all-targets

## lint: formatting and clippy, warnings are errors
lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: criterion micro-benchmarks, then framecast against libvips and Pillow on real photos
bench:
	./scripts/deps.sh bench
	$(CARGO) bench --bench render
	./benches/vs_peers.sh

## deps: install missing system packages (cmake, nasm) from Debian
deps:
	@./scripts/deps.sh

doc:
	$(CARGO) doc --no-deps

clean:
	$(CARGO) clean
