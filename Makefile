# The two commands of the README, and the pieces they are made of.
#   make run    installs what is missing, builds, and runs mproxyd with its defaults
#   make test   builds and runs every test: unit and integration (normal and ASan+UBSan builds),
#               then each fuzzer for FUZZ_SECONDS (20 s by default)

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 20
CMAKE_FLAGS ?=

.PHONY: deps test-deps configure build run test test-release test-sanitize fuzz bench clean

deps:
	@bash scripts/install-deps.sh

test-deps:
	@MPROXY_TEST_DEPS=1 bash scripts/install-deps.sh

configure: deps
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	ninja -C build -j $(JOBS) mproxyd

run: build
	./build/server/mproxyd $(ARGS)

test-release: test-deps configure
	ninja -C build -j $(JOBS)
	cd build && ctest --output-on-failure -j $(JOBS) --timeout 600

test-sanitize: test-deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPROXY_SANITIZE=ON $(CMAKE_FLAGS)
	ninja -C build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900

fuzz: deps
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

test: test-release test-sanitize fuzz

bench:
	bash bench/run.sh

clean:
	rm -rf build build-asan build-fuzz
