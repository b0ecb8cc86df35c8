#!/usr/bin/env bash
# run.sh - build and run the winmem benchmarks (targets: bench/README.md) and print one table:
# the bare-Linux floor (bench_bare), bench.c against winmem (bench_winmem) and the same
# bench.c built with mingw-w64 under Wine, all measured in this one run.
#
#   bench/run.sh [--install] [--build-dir DIR] [--no-wine] [--rounds N] [-- BENCH-OPTIONS...]
#
#   --install        apt-get install the tools first (mingw-w64, wine64, cmake, ninja,
#                    libmimalloc-dev for the heap rows' mimalloc comparison);
#                    without it nothing is ever installed
#   --build-dir DIR  where to build and keep the scratch WINEPREFIX and raw outputs
#                    (default: $WINMEM_BENCH_DIR or /tmp/winmem-bench)
#   --no-wine        skip the mingw-w64 / Wine column
#   --rounds N       run the system-call rows N times in all, bare and winmem taking turns
#                    (Wine after them), and keep each one's best (default 3; the host's
#                    noise comes in phases of seconds that one process's best-of-reps
#                    cannot see past)
#   BENCH-OPTIONS    passed to all three programs, e.g. -- --scale 0.5 --reps 5
#
# Environment: WINE (default /usr/lib/wine/wine64), MINGW_CC (x86_64-w64-mingw32-gcc).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${WINMEM_BENCH_DIR:-/tmp/winmem-bench}
install=0
use_wine=1
rounds=3
bench_args=()

while [ $# -gt 0 ]; do
    case "$1" in
    --install) install=1 ;;
    --build-dir) build=$2; shift ;;
    --no-wine) use_wine=0 ;;
    --rounds) rounds=$2; shift ;;
    --) shift; bench_args=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ "$install" = 1 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y gcc-mingw-w64-x86-64 wine64 cmake ninja-build libmimalloc-dev
fi

for tool in cmake ninja cc; do
    if ! command -v "$tool" >/dev/null; then
        echo "run.sh: $tool not found; install it or rerun with --install" >&2
        exit 1
    fi
done

mkdir -p "$build"
build=$(cd "$build" && pwd)
log=$build/build.log
: >"$log"

# ---- build ----
echo "building (Release) in $build ..." >&2
cmake -S "$repo" -B "$build/native" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DWINMEM_BUILD_TESTS=OFF -DWINMEM_BUILD_EXAMPLES=OFF -DWINMEM_BUILD_BENCH=ON >>"$log" 2>&1 ||
    { cat "$log" >&2; exit 1; }
ninja -C "$build/native" bench_winmem bench_bare >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }

mingw_cc=${MINGW_CC:-x86_64-w64-mingw32-gcc}
wine=${WINE:-/usr/lib/wine/wine64}
exe=""
wine_why=""
if [ "$use_wine" = 0 ]; then
    wine_why="--no-wine"
elif ! command -v "$mingw_cc" >/dev/null; then
    wine_why="$mingw_cc not found"
elif ! [ -x "$wine" ]; then
    wine_why="$wine not found"
else
    exe=$build/bench_win32.exe
    "$mingw_cc" -O2 -std=c11 -Wall -Wextra -static -o "$exe" "$here/bench.c" >>"$log" 2>&1 ||
        { cat "$log" >&2; exit 1; }
fi

# ---- Wine prefix (once) ----
prefix=$build/wineprefix
wine_env=(env WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=")
if [ -n "$exe" ] && ! [ -f "$prefix/system.reg" ]; then
    echo "initialising WINEPREFIX $prefix (once) ..." >&2
    "${wine_env[@]}" "$wine" wineboot --init >>"$log" 2>&1 || true
    "${wine_env[@]}" "$(dirname "$wine")/wineserver" -w >>"$log" 2>&1 || true # let it exit
    if ! [ -f "$prefix/system.reg" ]; then
        wine_why="wineboot --init failed (see $log)"
        exe=""
    fi
fi

# ---- run, one after another (2 cores: running them side by side would skew all three) ----
out_bare=$build/bare.txt out_winmem=$build/winmem.txt out_wine=$build/wine.txt
: >"$out_bare"; : >"$out_winmem"; : >"$out_wine"
[ -n "$exe" ] || echo "info wine n/a: $wine_why" >"$out_wine"
# The system-call and fault rows: the noisy ones, run every round.
syscall_rows=alloc_free_64k,reserve_commit16_release,protect_1page,guard_fault,av_fixup
syscall_rows+=,map_view_64k
# The secured-memory rows (winmem only; the Wine build skips them with a note).
syscall_rows+=,alloc_free_cb0,alloc_free_cb1,alloc_free_cb16,refused_free,secure_unsecure
round_args() { # the rows of round $1: all of them first, then the system-call rows only
    [ "$1" = 1 ] || printf '%s\n' --only "$syscall_rows"
}
# bare and winmem take turns, so a slow phase of the host hits both alike.
for ((round = 1; round <= rounds; round++)); do
    mapfile -t only < <(round_args "$round")
    echo "round $round/$rounds: bench_bare ..." >&2
    "$build/native/bench/bench_bare" "${only[@]}" "${bench_args[@]}" >>"$out_bare"
    echo "round $round/$rounds: bench_winmem ..." >&2
    "$build/native/bench/bench_winmem" "${only[@]}" "${bench_args[@]}" >>"$out_winmem"
    if [ "$round" = 1 ]; then # write watches again on winmem's fallback path
        echo "round $round/$rounds: bench_winmem, write-watch fallback ..." >&2
        WINMEM_WRITE_WATCH=fallback "$build/native/bench/bench_winmem" \
            --only ww_first_write,ww_scan_256m,ww_scan_4g "${bench_args[@]}" >>"$out_winmem"
    fi
done
# Wine afterwards, under one persistent server: otherwise every launch boots Wine's services
# (explorer, svchost, plugplay ...) again, and they would compete with the native runs.
if [ -n "$exe" ]; then
    wineserver=$(dirname "$wine")/wineserver
    "${wine_env[@]}" "$wineserver" -p >>"$log" 2>&1 || true
    "${wine_env[@]}" "$wine" cmd /c exit >>"$log" 2>&1 || true
    sleep 2
    for ((round = 1; round <= rounds; round++)); do
        mapfile -t only < <(round_args "$round")
        echo "round $round/$rounds: bench_win32.exe under Wine ..." >&2
        if ! timeout 600 "${wine_env[@]}" "$wine" "$exe" "${only[@]}" "${bench_args[@]}" \
            2>>"$log" | tr -d '\r' >>"$out_wine"; then
            echo "run.sh: the Wine run failed or timed out; see $out_wine and $log" >&2
        fi
    done
    "${wine_env[@]}" "$wineserver" -k >/dev/null 2>&1 || true
fi

# ---- table ----
awk -v wine_why="$wine_why" '
function fmt(v) { return v == "" ? "n/a" : sprintf("%.1f", v) }
function ratio(a, b) {
    if (a == "" || b == "" || b == 0) return "n/a"
    return a / b < 0.1 ? sprintf("%.2gx", a / b) : sprintf("%.2fx", a / b)
}
FNR == 1 { src = (FILENAME ~ /bare\.txt$/) ? "bare" : (FILENAME ~ /winmem\.txt$/) ? "winmem" : "wine" }
# Several rounds: keep the best; noise is the worse of in-run median/best and round spread.
$1 == "row" {
    v = $3 + 0
    if (ns[src, $2] == "" || v < ns[src, $2]) ns[src, $2] = v
    if (hi[src, $2] == "" || v > hi[src, $2]) hi[src, $2] = v
}
$1 == "spread" { if ($3 > 0 && (mr[src, $2] == "" || $4 / $3 > mr[src, $2])) mr[src, $2] = $4 / $3 }
$1 == "info" && $2 ~ /_reservations$/ { n = $2; sub(/_reservations$/, "", n); count[src, n] = $3 }
# Paired per-round ratios of the callback rows (one median per program run).
$1 == "info" && $2 ~ /^alloc_free_cb[0-9]+_over_cb0$/ && src == "winmem" {
    n = $2; sub(/_over_cb0$/, "", n); paired[n] = paired[n] sprintf(" %.3fx", $3); prounds[n] = $4
}
$1 == "info" && $2 ~ /_bytes_per_reservation$/ {
    n = $2; sub(/_bytes_per_reservation$/, "", n)
    if (rbytes[src, n] == "" || $3 + 0 < rbytes[src, n]) rbytes[src, n] = $3 + 0
}
$1 == "info" && $2 ~ /^heap_(overhead|rss)/ { hinfo = hinfo sprintf("  %-6s %s\n", src ":", substr($0, index($0, $2))) }
($1 == "note" || $1 == "error") && !seen[src, $0]++ { notes = notes sprintf("  %-6s %s\n", src ":", substr($0, index($0, $2))) }
END {
    nrows = split("alloc_free_64k reserve_commit16_release protect_1page guard_fault av_fixup " \
        "map_view_64k query_20k query_1m alloc_free_cb0 alloc_free_cb1 alloc_free_cb16 refused_free " \
        "secure_unsecure heap_64b heap_random heap_random_2t ww_first_write ww_first_write_fallback " \
        "ww_scan_256m ww_scan_256m_fallback ww_scan_4g ww_scan_4g_fallback", rows, " ")
    first_secure = 9 # a rule above the secured-memory rows
    first_heap = 14  # and one above the heap rows
    first_ww = 17    # and one above the write-watch rows
    label["alloc_free_64k"] = "VirtualAlloc+VirtualFree 64 KiB"
    label["reserve_commit16_release"] = "reserve 1 MiB, commit 16x64 KiB, release"
    label["protect_1page"] = "VirtualProtect 1 page"
    label["guard_fault"] = "guard-page fault to handler and back"
    label["av_fixup"] = "access violation fixed up by VirtualProtect in the handler"
    label["map_view_64k"] = "CreateFileMapping+MapViewOfFile+Unmap 64 KiB"
    label["query_20k"] = "VirtualQuery, 20k reservations"
    label["query_1m"] = "VirtualQuery, 1M reservations"
    label["alloc_free_cb0"] = "alloc+free 64 KiB, 0 secure-cache callbacks"
    label["alloc_free_cb1"] = "alloc+free 64 KiB, 1 callback"
    label["alloc_free_cb16"] = "alloc+free 64 KiB, 16 callbacks"
    label["refused_free"] = "secure, VirtualFree refused, flush, retry"
    label["secure_unsecure"] = "MmSecure+MmUnsecureVirtualMemory 64 KiB"
    label["heap_64b"] = "HeapAlloc+HeapFree 64 B (bare: glibc)"
    label["heap_random"] = "random 16 B-4 KiB, 4096 live (bare: glibc)"
    label["heap_random_2t"] = "the same, 2 threads, one heap (ns/op)"
    label["ww_first_write"] = "first write to a watched page (+ its reset)"
    label["ww_first_write_fallback"] = "  the same, fallback path"
    label["ww_scan_256m"] = "GetWriteWatch+reset 256 MiB, 1 in 7 (ns/call)"
    label["ww_scan_256m_fallback"] = "  the same, fallback path"
    label["ww_scan_4g"] = "GetWriteWatch+reset 4 GiB, same pages written"
    label["ww_scan_4g_fallback"] = "  the same, fallback path"
    if (count["bare", "query_1m"] != "" && count["bare", "query_1m"] != 1000000)
        label["query_1m"] = "VirtualQuery, " count["bare", "query_1m"] " reservations"
    target["alloc_free_64k"] = 1.10; target["reserve_commit16_release"] = 1.10
    target["protect_1page"] = 1.10; target["query_20k"] = 1.00; target["query_1m"] = 1.00
    target["guard_fault"] = 1.15; target["av_fixup"] = 1.15; target["map_view_64k"] = 1.20
    # cb1 and cb16 are judged against cb0 of the same runs, not against bare; the others of
    # the secured-memory rows are reported only (no target).
    target["alloc_free_cb1"] = 1.02; target["alloc_free_cb16"] = 1.02
    target["heap_64b"] = 1.00; target["heap_random"] = 1.00
    target["ww_first_write"] = 1.10; target["ww_scan_256m"] = 1.20
    ref["alloc_free_cb1"] = "alloc_free_cb0"; ref["alloc_free_cb16"] = "alloc_free_cb0"
    lw = 41 # the operation column: as wide as the longest label
    for (i = 1; i <= nrows; i++) if (length(label[rows[i]]) > lw) lw = length(label[rows[i]])
    dashes = sprintf("%*s", lw + 2, ""); gsub(/ /, "-", dashes)
    line = "+" dashes "+----------+-----------+-----------+-------------+-------------+--------------+-----+"
    print line
    printf "| %-*s | %8s | %9s | %9s | %11s | %11s | %-12s | %-3s |\n", lw, "operation (ns per op, best of reps)", \
        "bare", "winmem", "wine", "winmem/bare", "wine/winmem", "target", "met"
    print line
    for (i = 1; i <= nrows; i++) {
        r = rows[i]
        if (i == first_secure || i == first_heap || i == first_ww) print line
        b = ns["bare", r]; w = ns["winmem", r]; x = ns["wine", r]
        # The ratio the target is about: to bare, or to the reference row (cbN / cb0).
        d = ref[r] == "" ? b : ns["winmem", ref[r]]
        wr = ratio(w, d)
        rn = ref[r]; sub(/^alloc_free_/, "", rn)
        if (rn != "" && wr != "n/a") wr = wr " " rn
        if (target[r] == "") { tg = "report"; met = "-" }
        else {
            tg = sprintf("<= %.2fx", target[r]) (rn == "" ? "" : " " rn)
            met = (d == "" || w == "") ? "n/a" : (w / d <= target[r] + 1e-9 ? "yes" : "NO")
        }
        # A variant that made fewer reservations than asked is not comparable: mark it.
        fw = fmt(w); fx = fmt(x); xr = ratio(x, w)
        if (count["winmem", r] != "" && count["winmem", r] != count["bare", r]) { fw = fw "*"; wr = wr "*"; met = met "*" }
        if (count["wine", r] != "" && count["wine", r] != count["winmem", r]) { fx = fx "*"; xr = xr "*" }
        printf "| %-*s | %8s | %9s | %9s | %11s | %11s | %-12s | %-3s |\n", lw, label[r], fmt(b), fw, \
            fx, wr, xr, tg, met
    }
    print line
    if (wine_why != "") print "wine column n/a: " wine_why
    print "secured-memory rows (winmem only; Wine 8.0 has no user-mode secured memory, so n/a):"
    print "  alloc_free_cb0/1/16: bare is the mmap+munmap floor; cb1 and cb16 are compared with cb0,"
    print "    measured in the same process in interleaved batches (\"x cb0\": best / best of cb0)"
    if (paired["alloc_free_cb1"] != "")
        printf "    paired: median over %d rounds of batch(cbN)/batch(cb0), one per run: cb1%s; cb16%s\n", \
            prounds["alloc_free_cb1"], paired["alloc_free_cb1"], paired["alloc_free_cb16"]
    print "  refused_free: bare is mmap+munmap (Linux has no refusal); winmem/bare is the whole price"
    print "  secure_unsecure: no Linux equivalent; bare is mlock+munlock of 64 KiB, the nearest analogue"
    print "heap rows: bare is glibc malloc+free; mimalloc is loaded by bench_bare when installed"
    mi = ns["bare", "heap_random_mi"]
    if (mi != "") {
        printf "  mimalloc: heap_64b %s, heap_random %s, heap_random_2t %s ns\n", fmt(ns["bare", "heap_64b_mi"]), \
            fmt(mi), fmt(ns["bare", "heap_random_2t_mi"])
        w = ns["winmem", "heap_random"]
        printf "  heap_random winmem/mimalloc %s (target <= 1.50x): %s\n", ratio(w, mi), \
            (w == "" ? "n/a" : (w / mi <= 1.5 + 1e-9 ? "yes" : "NO"))
    } else print "  mimalloc: not installed (libmimalloc-dev), no comparison"
    printf "  2-thread scaling, heap_random / heap_random_2t (target >= 1.70x for winmem):"
    for (s = 1; s <= 3; s++) {
        src = s == 1 ? "bare" : s == 2 ? "winmem" : "wine"
        printf " %s %s", src == "bare" ? "glibc" : src, ratio(ns[src, "heap_random"], ns[src, "heap_random_2t"])
    }
    if (mi != "") printf " mimalloc %s", ratio(mi, ns["bare", "heap_random_2t_mi"])
    sc = (ns["winmem", "heap_random_2t"] == "") ? "" : ns["winmem", "heap_random"] / ns["winmem", "heap_random_2t"]
    printf "; met: %s\n", sc == "" ? "n/a" : (sc >= 1.7 - 1e-9 ? "yes" : "NO")
    if (hinfo != "") printf "%s", hinfo
    if (rbytes["winmem", "query_1m"] != "")
        printf "resident memory per 64 KiB reservation (MEM_RESERVE only, %d of them): winmem %.0f bytes (target <= 128): %s\n", \
            count["winmem", "query_1m"], rbytes["winmem", "query_1m"], \
            rbytes["winmem", "query_1m"] <= 128 ? "yes" : "NO"
    if (ns["bare", "alloc_free_64k_plain"] != "")
        printf "bare mmap+munmap 64 KiB without MAP_NORESERVE (merges with neighbours): %.1f ns\n", \
            ns["bare", "alloc_free_64k_plain"]
    for (s = 1; s <= 3; s++) {
        src = s == 1 ? "bare" : s == 2 ? "winmem" : "wine"
        c = count[src, "query_1m"]
        if (c != "" && c != count["bare", "query_1m"])
            printf "* query_1m under %s used %d reservations, not %d: not comparable\n", src, c, \
                count["bare", "query_1m"]
    }
    printf "scale, query_1m / query_20k:"
    for (s = 1; s <= 3; s++) {
        src = s == 1 ? "bare" : s == 2 ? "winmem" : "wine"
        printf " %s %s", src, ratio(ns[src, "query_1m"], ns[src, "query_20k"])
    }
    printf "\n"
    printf "noise (worse of median/best in a run and worst/best across rounds; bare winmem wine):\n "
    for (i = 1; i <= nrows; i++) {
        r = rows[i]; printf " %s", r
        for (s = 1; s <= 3; s++) {
            src = s == 1 ? "bare" : s == 2 ? "winmem" : "wine"
            nz = (ns[src, r] == "" || ns[src, r] == 0) ? "" : hi[src, r] / ns[src, r]
            if (mr[src, r] != "" && (nz == "" || mr[src, r] > nz)) nz = mr[src, r]
            printf " %s", nz == "" ? "n/a" : sprintf("%.2fx", nz)
        }
        if (i < nrows) printf ";"
    }
    printf "\n"
    if (notes != "") printf "notes:\n%s", notes
}' "$out_bare" "$out_winmem" "$out_wine" | tee "$build/results.txt"
echo "raw outputs: $out_bare $out_winmem $out_wine" >&2
