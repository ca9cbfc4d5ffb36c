# ferry — the README's two commands are `make run` and `make test`.
BUILD_TYPE ?= Release
PORT ?= 9001
JOBS ?= $(shell nproc)

.PHONY: deps build run test bench soak format clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build build -j $(JOBS) --target ferry

run: build
	./build/ferry $(PORT)

# AddressSanitizer + UndefinedBehaviorSanitizer build, every test, CTest's summary last.
test: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS) --timeout 600

bench: build
	@scripts/install-deps.sh --bench
	@bench/run.sh

# Denial-of-service soak (slowloris, slow body and reader, connection flood, EMFILE) against
# the release build; results in bench/out/soak.md. See docs/security.md.
soak: build
	@scripts/install-deps.sh --bench
	@bench/soak.sh

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-asan
