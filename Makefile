# ferry — the README's two commands are ./run and ./test, which install what is missing
# (make included) and hand over to `make run` and `make test` here.
BUILD_TYPE ?= Release
PORT ?= 9001
JOBS ?= $(shell nproc)
# ctest's parallelism in make test (the tests wait on sockets and timers more than they compute:
# try CTEST_JOBS=3 on 2 cores); JOBS by default.
CTEST_JOBS ?= $(JOBS)
# make fuzz: seconds per fuzz target. make test runs each for FUZZ_SECONDS (CI's time budget),
# passed on every configure so that a build-asan configured earlier does not keep another value.
SECONDS ?= 60
FUZZ_SECONDS ?= 20

.PHONY: deps build run test bench bench-compare soak format clean fuzz fuzz-build install deb

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build build -j $(JOBS) --target ferry

run: build
	./build/ferry $(PORT)

# make install [PREFIX=/usr/local] [DESTDIR=]: $(PREFIX)/bin/ferry, its man page (gzip -9n),
# the unit in $(PREFIX)/lib/systemd/system (ExecStart names $(PREFIX)/bin/ferry), the
# logrotate file and /etc/ferry/ferry.toml (only when there is none; the example goes to
# $(PREFIX)/share/doc/ferry/examples). Installing as root into the running system
# (no DESTDIR) also creates the ferry user and /var/log/ferry, as the .deb's postinst does.
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
install: build
	@BINARY=build/ferry DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" SYSCONFDIR="$(SYSCONFDIR)" \
		scripts/install-files.sh
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		FERRY_SYSCONFDIR="$(SYSCONFDIR)" packaging/ferry-user.sh; \
	else \
		echo "ferry: then, as root: FERRY_SYSCONFDIR=$(SYSCONFDIR) packaging/ferry-user.sh" \
			"(the ferry user, /var/log/ferry)"; \
	fi

# build/ferry_VERSION_ARCH.deb from the release build, with dpkg-deb (scripts/make-deb.sh).
deb: build
	@scripts/make-deb.sh build/ferry build

# The libFuzzer targets (tests/fuzz), built with clang 14: CC/CXX count at the first configure.
fuzz-build: deps
	@CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
		-DFERRY_FUZZ=ON -DFERRY_TESTS=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

# Each fuzz target for SECONDS on a scratch copy of its seeds; a crash fails and is kept.
fuzz: fuzz-build
	@scripts/fuzz-run.sh build-fuzz $(SECONDS)

# AddressSanitizer + UndefinedBehaviorSanitizer build, every test, CTest's summary last.
# The fuzz smoke run is part of it: ctest's fuzz.<target> tests run the fuzzers of build-fuzz.
test: deps fuzz-build
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=ON \
		-DFERRY_FUZZ_DIR=$(CURDIR)/build-fuzz -DFERRY_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(CTEST_JOBS) --timeout 600

# Every proxy of the comparison. A second ferry joins in every scenario of the same rounds as
# ferry-old with FERRY_BASELINE=<git rev> (built once into build-baseline/ by bench/baseline.sh)
# or FERRY_OLD_BIN=<path>; the report then has a new ÷ old table. See the head of bench/run.sh.
bench: build
	@scripts/install-deps.sh --bench
	@bench/run.sh

# ferry against ferry-old only, 20 rounds of 3 s runs (~10-12 min): is new ÷ old within ±3 %?
# Needs FERRY_BASELINE=<git rev> or FERRY_OLD_BIN=<path>, e.g. make bench-compare FERRY_BASELINE=main
bench-compare: build
	@scripts/install-deps.sh --bench
	@BENCH_MODE=compare bench/run.sh

# Denial-of-service soak (slowloris, slow body and reader, connection flood, EMFILE) against
# the release build; results in bench/out/soak.md. See docs/security.md.
soak: build
	@scripts/install-deps.sh --bench
	@bench/soak.sh

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-asan build-fuzz
