#!/usr/bin/env bash
# test.sh - build winmem and run every test: gcc (Debug, with the expensive checks: the model's
# invariants after every change) and clang (with the libFuzzer target, then again under a 2 GB
# ulimit -v and 64 descriptors) with -Werror, the whole suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and every threaded test under ThreadSanitizer (both with clang,
# then with gcc).  What README.md calls the test command, and what .ci/run calls.
# Installs its build dependencies first (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

jobs=$(nproc)
echo "=== format"
clang-format --dry-run -Werror $(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests examples bench -name '*.[ch]')
run() { # name, cmake args...
    local name=$1; shift
    echo "=== $name"
    cmake -S . -B "build-$name" -G Ninja -DWINMEM_WERROR=ON -DWINMEM_BUILD_BENCH=ON "$@" >/dev/null
    ninja -C "build-$name" >/dev/null
    (cd "build-$name" && ctest -j"$jobs" --output-on-failure --timeout 600)
}

run gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DWINMEM_CHECKS=expensive
# gcc's optimiser finds warnings (-Wmaybe-uninitialized) a Debug build does not: build a
# Release copy too (the benchmarks use one); its tests would repeat the gcc stage's.
echo "=== gcc-release (build only)"
cmake -S . -B build-gcc-release -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release \
    -DWINMEM_WERROR=ON -DWINMEM_BUILD_BENCH=ON >/dev/null
ninja -C build-gcc-release >/dev/null
# The headless-browser test of the address-space picture runs in the gcc stage only.
run clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWINMEM_FUZZ=ON \
    -DWINMEM_TEST_BROWSER=OFF
scripts/install-check.sh build-clang
# The same tests under ulimit -v (RLIMIT_AS) and ulimit -n (RLIMIT_NOFILE), as some shared
# machines set them: winmem reports the address space the limit leaves, and the tests that need
# more (1 TiB reservations, CFG's bitmap, chromium, hundreds of named sections) raise the soft
# limit where the hard one allows, or say they are skipped instead of failing.
echo "=== clang under ulimit -v 2000000 -n 64"
(cd build-clang && ulimit -v 2000000 -n 64 && ctest -j"$jobs" --output-on-failure --timeout 600 -LE browser)
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    run asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DWINMEM_SANITIZE=address,undefined \
    -DWINMEM_FUZZ=ON
# ThreadSanitizer on every test that starts threads (the "threads" label, which
# tests/CMakeLists.txt gives any test source calling pthread_create or CreateThread), with
# the stress tests at a size that runs quickly.  Any race reported fails the test.
echo "=== tsan"
cmake -S . -B build-tsan -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWINMEM_WERROR=ON -DWINMEM_SANITIZE=thread -DWINMEM_BUILD_BENCH=OFF \
    -DWINMEM_BUILD_EXAMPLES=OFF >/dev/null
ninja -C build-tsan >/dev/null
(cd build-tsan && WINMEM_STRESS_ITERATIONS=5000 TSAN_OPTIONS=halt_on_error=1 \
    ctest -j"$jobs" -L '^threads$' --output-on-failure --timeout 600)
# gcc's sanitizers too: its runtimes are shared libraries that meet winmem's C library door
# first, and its ThreadSanitizer refuses fences (docs/contributing.md).  Release-type builds,
# the threaded tests under TSan as above.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    run gcc-asan -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWINMEM_SANITIZE=address,undefined -DWINMEM_BUILD_EXAMPLES=OFF -DWINMEM_BUILD_BENCH=OFF
echo "=== gcc-tsan"
cmake -S . -B build-gcc-tsan -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWINMEM_WERROR=ON -DWINMEM_SANITIZE=thread -DWINMEM_BUILD_BENCH=OFF \
    -DWINMEM_BUILD_EXAMPLES=OFF >/dev/null
ninja -C build-gcc-tsan >/dev/null
(cd build-gcc-tsan && WINMEM_STRESS_ITERATIONS=5000 TSAN_OPTIONS=halt_on_error=1 \
    ctest -j"$jobs" -L '^threads$' --output-on-failure --timeout 600)
echo "=== all test configurations passed"
