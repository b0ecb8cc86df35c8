#!/usr/bin/env bash
# install-check.sh BUILD_DIR - install winmem from BUILD_DIR into a scratch prefix, then build
# and run a program against it twice: with pkg-config, and with CMake's find_package.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
libdir=$(pkg-config --variable=libdir winmem)
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror examples/growbuf.c $(pkg-config --cflags --libs winmem) \
    -Wl,-rpath,"$libdir" -o "$prefix/growbuf-pc"
"$prefix/growbuf-pc" >/dev/null
cmake -S tests/install -B "$prefix/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
ninja -C "$prefix/consumer" >/dev/null
"$prefix/consumer/consumer" >/dev/null
echo "install check: pkg-config and find_package consumers built and ran"
