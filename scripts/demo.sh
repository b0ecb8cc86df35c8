#!/usr/bin/env bash
# demo.sh - build winmem and run the examples.  README.md's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DWINMEM_BUILD_TESTS=OFF \
    -DWINMEM_BUILD_BENCH=OFF >/dev/null
ninja -C build-demo >/dev/null
for ex in growbuf guardbuf prottour vqwalk regcache ringbuf magicring heaps; do
    echo "===== examples/$ex"
    "./build-demo/examples/$ex"
done
