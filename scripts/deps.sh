#!/usr/bin/env bash
# deps.sh - install what building and testing winmem needs on Debian 12, if it is missing.
# Usage: [WINMEM_BENCH=1] scripts/deps.sh [extra-package ...]  (WINMEM_BENCH=1: the bench's too)
set -euo pipefail

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v ninja >/dev/null || need+=(ninja-build)
command -v gcc >/dev/null || need+=(gcc)
command -v clang >/dev/null || need+=(clang)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v clang-format >/dev/null || need+=(clang-format)
# The sanitizer runtimes ship with gcc (libasan/libubsan) and clang (libclang-rt).
if command -v clang >/dev/null; then
    rt=$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.asan-x86_64.a
    [ -e "$rt" ] || need+=("libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev")
fi
# The address-space picture is checked in a headless browser, and gdb's helper in gdb
# (tests/map/; docs/debugging.md).
command -v chromium >/dev/null || need+=(chromium)
command -v gdb >/dev/null || need+=(gdb)
# The benchmarks' heap rows compare with mimalloc (bench/README.md): only for them.
[ "${WINMEM_BENCH:-0}" = 1 ] && need+=(libmimalloc-dev)
need+=("$@")

missing=()
for p in "${need[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps.sh: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
