#!/usr/bin/env bash
# install-check.sh BUILD_DIR - install winmem from BUILD_DIR into a scratch prefix (not
# /usr/local, so every path must be told, as README.md explains), then build and run programs
# against it: README.md's example with pkg-config and -Wall -Wextra -Werror, an example linked
# with pkg-config, the same linked statically, and a CMake project using find_package.
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
# The README's example exactly as the README says to build it (plus -Werror).
cmake -DREADME=README.md -DCC=cc -DCFLAGS="$(pkg-config --cflags winmem)" \
    -DLIBS="$(pkg-config --libs winmem) -Wl,-rpath,$libdir" -DOUT="$prefix/readme-example" \
    -P tests/readme/readme.cmake >/dev/null
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror examples/growbuf.c $(pkg-config --cflags winmem) "$libdir/libwinmem.a" \
    -pthread -o "$prefix/growbuf-static"
"$prefix/growbuf-static" >/dev/null
cmake -S tests/install -B "$prefix/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
ninja -C "$prefix/consumer" >/dev/null
"$prefix/consumer/consumer" >/dev/null
# The debugging tools: winmem-map draws a dump (docs/debugging.md's format); gdb's helper is
# installed beside it.
printf '%s\n' 'winmem-map 1' \
    'process 1 page 0x1000 granularity 0x10000 user 0x10000 0x7fffffffefff locked' \
    'alloc 0x10000 0x10000 private READWRITE' 'run 0x10000 0x10000 commit READWRITE' 'end' \
    >"$prefix/dump.txt"
"$prefix/bin/winmem-map" "$prefix/dump.txt" "$prefix/map.html"
grep -q 'id="a-10000"' "$prefix/map.html"
[ -f "$prefix/share/winmem/winmem-gdb.py" ]
echo "install check: README example, pkg-config (shared and static) and find_package consumers built and ran; winmem-map drew a dump"
