#!/usr/bin/env bash
# run.sh - build and run the winmem benchmarks (targets: bench/README.md) and print one table:
# the bare-Linux floor (bench_bare), bench.c against winmem (bench_winmem) and the same
# bench.c built with mingw-w64 under Wine, all measured in this one run.
#
#   bench/run.sh [--install] [--build-dir DIR] [--no-wine] [--rounds N] [--max-rounds M]
#                [--settle PCT] [--max-spread PCT] [--twice] [--agree PCT] [-- BENCH-OPTIONS...]
#
#   --install        apt-get install the tools first (mingw-w64, wine64, cmake, ninja,
#                    libmimalloc-dev for the heap rows' mimalloc comparison);
#                    without it nothing is ever installed
#   --build-dir DIR  where to build and keep the scratch WINEPREFIX and raw outputs
#                    (default: $WINMEM_BENCH_DIR or /tmp/winmem-bench)
#   --no-wine        skip the mingw-w64 / Wine column
#   --rounds N       run the round rows (system calls, faults, threads, scale, lookups, heap) at
#                    least N times, bare and winmem taking turns, and keep each one's best
#                    (default 3; the host's noise comes in phases of seconds that one
#                    process's best-of-reps cannot see past); Wine runs N rounds after them
#   --max-rounds M   then more rounds, of the rows not settled yet, up to M in all (default 5)
#   --settle PCT     a row is settled when its best two rounds agree within PCT% for bare and
#                    for winmem (default 2)
#   --max-spread PCT a system-call row whose best two rounds still differ by more than PCT%
#                    makes the run NOT TRUSTWORTHY: said loudly, exit status 4 (default 5)
#   --twice          two consecutive full runs (in DIR/run1, DIR/run2), each with its table,
#                    then both figures of every round row and their agreement; exit status 4
#                    when a system-call row's figures differ by more than --agree PCT
#                    (default 5) or either run is not trustworthy
#   --no-faultonly   skip bench_faultonly (the faults timed alone, run after the table)
#   BENCH-OPTIONS    passed to all three programs, e.g. -- --scale 0.5 --reps 5
#
# Environment: WINE (default /usr/lib/wine/wine64), MINGW_CC (x86_64-w64-mingw32-gcc).
set -euo pipefail
# Figures are for winmem untraced: a WINMEM_TRACE left in the environment would time the tracer.
unset WINMEM_TRACE WINMEM_TRACE_FILE

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${WINMEM_BENCH_DIR:-/tmp/winmem-bench}
install=0
use_wine=1
rounds=3
max_rounds=5
settle=2
max_spread=5
twice=0
agree=5
faultonly=1
bench_args=()

while [ $# -gt 0 ]; do
    case "$1" in
    --install) install=1 ;;
    --build-dir) build=$2; shift ;;
    --no-wine) use_wine=0 ;;
    --rounds) rounds=$2; shift ;;
    --max-rounds) max_rounds=$2; shift ;;
    --settle) settle=$2; shift ;;
    --max-spread) max_spread=$2; shift ;;
    --twice) twice=1 ;;
    --agree) agree=$2; shift ;;
    --no-faultonly) faultonly=0 ;;
    --) shift; bench_args=("$@"); break ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[ "$rounds" -ge 1 ] || rounds=1
[ "$max_rounds" -ge "$rounds" ] || max_rounds=$rounds

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
ninja -C "$build/native" bench_winmem bench_bare bench_faultonly >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }

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


# ---- the rows ----
# System-call rows: run every round, held to --max-spread (and to --agree by --twice).
checked="alloc_free_64k reserve_commit16_release protect_1page guard_fault av_fixup map_view_64k"
checked+=" alloc_free_cb0 alloc_free_cb1 alloc_free_cb16 refused_free secure_unsecure churn"
for t in 2 4; do # the 4-thread rows print a note instead where there are fewer than 4 CPUs
    checked+=" alloc_free_64k_${t}t protect_1page_${t}t guard_fault_${t}t map_view_64k_${t}t churn_${t}t"
done
for n in n10 n10k n1m; do
    checked+=" alloc_free_64k_$n protect_1page_$n guard_fault_$n"
done
# Lookups and heap calls: run every round too, their spread shown but not held to a bound
# (memory latency and code layout, not system calls: the 1M lookups move by 2x from run to
# run, bench/README.md; a heap call of 4-5 ns moves by 10-20% from one process to the next).
lookups="query_20k query_20k_2t query_20k_4t query_1m query_n10 query_n10k query_n1m"
lookups+=" heap_64b heap_random heap_random_2t"
round_rows=$(tr ' ' ',' <<<"$checked $lookups")
user_only="" # --only among the programs' options: it wins over the rounds' own
for ((i = 0; i + 1 < ${#bench_args[@]}; i++)); do
    [ "${bench_args[i]}" != --only ] || user_only=${bench_args[i + 1]}
done

# Shared by the table, the settling check and the comparison of two runs.  Files are read
# with a "round N" line before each program run; per (variant, row) the best of each round is
# kept, the best of all rounds is the figure, and the spread is the second-best round's over
# the best one's, minus 1: how far the figure could move with one round fewer.
awk_lib='
function src_of(f) { return f ~ /bare\.txt$/ ? "bare" : f ~ /winmem\.txt$/ ? "winmem" : "wine" }
function note_row(k, r, v) { # k: the variant key, r: row, v: ns
    if (!((k, r, rnd) in rv)) rl[k, r] = rl[k, r] " " rnd
    if (!((k, r, rnd) in rv) || v < rv[k, r, rnd]) rv[k, r, rnd] = v
    if (ns[k, r] == "" || v < ns[k, r]) ns[k, r] = v
}
function nrounds(k, r,   a) { return split(rl[k, r], a, " ") }
function spread(k, r,   a, n, i, v, v1, v2) {
    n = split(rl[k, r], a, " "); v1 = ""; v2 = ""
    for (i = 1; i <= n; i++) {
        v = rv[k, r, a[i]]
        if (v1 == "" || v < v1) { v2 = v1; v1 = v } else if (v2 == "" || v < v2) v2 = v
    }
    return (v2 == "" || v1 <= 0) ? "" : v2 / v1 - 1
}
function worse(a, b) { return a == "" ? b : b == "" ? a : (a > b ? a : b) }
function pct(x) { return x == "" ? "-" : sprintf("%.1f%%", 100 * x) }
'

# The rows whose best two rounds, bare or winmem, still differ by more than --settle.
unsettled() { # $1: output directory
    awk -v checked="$checked" -v settle="$settle" "$awk_lib"'
FNR == 1 { src = src_of(FILENAME); rnd = 0 }
$1 == "round" { rnd = $2 }
$1 == "row" { note_row(src, $2, $3 + 0) }
END {
    n = split(checked, c, " "); out = ""
    for (i = 1; i <= n; i++) {
        r = c[i]
        if (ns["bare", r] == "" && ns["winmem", r] == "") continue # not measured here
        s = worse(spread("bare", r), spread("winmem", r))
        if (s == "" || s > settle / 100) out = out (out == "" ? "" : ",") r
    }
    print out
}' "$1/bare.txt" "$1/winmem.txt"
}

# ---- run, one after another (2 cores: running them side by side would skew all three) ----
run_all() { # $1: output directory
    local out=$1 round=0 only=() left prog
    mkdir -p "$out"
    out_bare=$out/bare.txt out_winmem=$out/winmem.txt out_wine=$out/wine.txt
    : >"$out_bare"; : >"$out_winmem"; : >"$out_wine"
    [ -n "$exe" ] || echo "info wine n/a: $wine_why" >"$out_wine"
    # Round 1 runs every row; rounds 2..--rounds the round rows; then, up to --max-rounds,
    # only the rows not settled yet.  bare and winmem take turns, so a slow phase of the host
    # hits both alike.
    while :; do
        if [ "$round" -ge "$rounds" ]; then
            [ "$round" -lt "$max_rounds" ] || break
            left=$(unsettled "$out")
            [ -n "$left" ] || break
            only=(--only "$left")
            echo "$(tr ',' '\n' <<<"$left" | wc -l) rows not settled (best two rounds more than" \
                "$settle% apart): ${left//,/ }" >&2
        elif [ "$round" -ge 1 ]; then
            only=(--only "$round_rows")
        fi
        round=$((round + 1))
        echo "round $round" >>"$out_bare"
        echo "round $round" >>"$out_winmem"
        # Which goes first alternates, so a host slowing down or speeding up over a round
        # does not favour one side.
        for prog in $( ((round % 2)) && echo bare winmem || echo winmem bare); do
            echo "round $round: bench_$prog ..." >&2
            "$build/native/bench/bench_$prog" "${only[@]}" "${bench_args[@]}" >>"$out/$prog.txt"
        done
        # Write watches again on winmem's fallback path (unless the rows asked for after --
        # have none of them: the run would measure them a second time instead).
        if [ "$round" = 1 ] && { [ -z "$user_only" ] || [[ $user_only == *ww_* ]]; }; then
            echo "round $round: bench_winmem, write-watch fallback ..." >&2
            WINMEM_WRITE_WATCH=fallback "$build/native/bench/bench_winmem" "${bench_args[@]}" \
                --only ww_first_write,ww_scan_256m,ww_scan_4g >>"$out_winmem"
        fi
    done
    # Wine afterwards, --rounds rounds under one persistent server: otherwise every launch
    # boots Wine's services (explorer, svchost, plugplay ...) again, and they would compete
    # with the native runs.
    if [ -n "$exe" ]; then
        local wineserver
        wineserver=$(dirname "$wine")/wineserver
        "${wine_env[@]}" "$wineserver" -p >>"$log" 2>&1 || true
        "${wine_env[@]}" "$wine" cmd /c exit >>"$log" 2>&1 || true
        sleep 2
        for ((round = 1; round <= rounds; round++)); do
            only=()
            [ "$round" = 1 ] || only=(--only "$round_rows")
            echo "round $round" >>"$out_wine"
            echo "round $round/$rounds: bench_win32.exe under Wine ..." >&2
            if ! timeout 600 "${wine_env[@]}" "$wine" "$exe" "${only[@]}" "${bench_args[@]}" \
                2>>"$log" | tr -d '\r' >>"$out_wine"; then
                echo "run.sh: the Wine run failed or timed out; see $out_wine and $log" >&2
            fi
        done
        "${wine_env[@]}" "$wineserver" -k >/dev/null 2>&1 || true
    fi
}

# ---- table ----
table() { # $1: output directory; writes $1/results.txt, and $1/untrusted when a row is
    local out=$1
    rm -f "$out/untrusted"
    awk -v wine_why="$wine_why" -v checked="$checked" -v lookups="$lookups" \
        -v max_spread="$max_spread" -v untrusted="$out/untrusted" "$awk_lib"'
function fmt(v) { return v == "" ? "n/a" : sprintf("%.1f", v) }
function ratio(a, b) {
    if (a == "" || b == "" || b == 0) return "n/a"
    return a / b < 0.1 ? sprintf("%.2gx", a / b) : sprintf("%.2fx", a / b)
}
function have(r) { return ns["bare", r] != "" || ns["winmem", r] != "" || ns["wine", r] != "" }
FNR == 1 { src = src_of(FILENAME); rnd = 0 }
$1 == "round" { rnd = $2 }
$1 == "row" { note_row(src, $2, $3 + 0) }
$1 == "info" && $2 ~ /_reservations$/ { n = $2; sub(/_reservations$/, "", n); count[src, n] = $3 }
# Paired per-round ratios of the callback rows (one median per program run).
$1 == "info" && $2 ~ /^alloc_free_cb[0-9]+_over_cb0$/ && src == "winmem" {
    n = $2; sub(/_over_cb0$/, "", n); paired[n] = paired[n] sprintf(" %.3fx", $3); prounds[n] = $4
}
$1 == "info" && $2 ~ /_bytes_per_reservation$/ {
    n = $2; sub(/_bytes_per_reservation$/, "", n)
    if (rbytes[src, n] == "" || $3 + 0 < rbytes[src, n]) rbytes[src, n] = $3 + 0
}
$1 == "info" && $2 ~ /^heap_(overhead|rss)/ && !seen[src, $0]++ { hinfo = hinfo sprintf("  %-6s %s\n", src ":", substr($0, index($0, $2))) }
($1 == "note" || $1 == "error") && !seen[src, $0]++ { notes = notes sprintf("  %-6s %s\n", src ":", substr($0, index($0, $2))) }
END {
    nc = split(checked, cl, " "); for (i = 1; i <= nc; i++) ischecked[cl[i]] = 1
    # "-" draws a rule.  The 4-thread rows only where they ran.
    list = "alloc_free_64k reserve_commit16_release protect_1page guard_fault av_fixup " \
        "map_view_64k query_20k query_1m alloc2_near isbadreadptr - alloc_free_64k_2t protect_1page_2t query_20k_2t " \
        "guard_fault_2t map_view_64k_2t churn churn_2t"
    if (have("alloc_free_64k_4t") || have("churn_4t"))
        list = list " alloc_free_64k_4t protect_1page_4t query_20k_4t guard_fault_4t map_view_64k_4t churn_4t"
    list = list " - alloc_free_cb0 alloc_free_cb1 alloc_free_cb16 refused_free secure_unsecure " \
        "secure_unsecure_unwatched secure_event secure_event_raw munmap_secured " \
        "- heap_64b heap_random heap_random_2t - ww_first_write ww_first_write_fallback " \
        "ww_scan_256m ww_scan_256m_fallback ww_scan_4g ww_scan_4g_fallback"
    nrows = split(list, rows, " ")
    label["alloc_free_64k"] = "VirtualAlloc+VirtualFree 64 KiB"
    label["reserve_commit16_release"] = "reserve 1 MiB, commit 16x64 KiB, release"
    label["protect_1page"] = "VirtualProtect 1 page"
    label["guard_fault"] = "guard-page fault to handler and back"
    label["av_fixup"] = "access violation fixed up by VirtualProtect in the handler"
    label["map_view_64k"] = "CreateFileMapping+MapViewOfFile+Unmap 64 KiB"
    label["query_20k"] = "VirtualQuery, 20k reservations"
    label["query_1m"] = "VirtualQuery, 1M reservations"
    label["alloc2_near"] = "VirtualAlloc2 within 2 GiB + VirtualFree 64 KiB"
    label["isbadreadptr"] = "IsBadReadPtr of a page (bare: process_vm_readv)"
    label["churn"] = "rpmalloc-like span churn, 1 thread"
    for (t = 2; t <= 4; t += 2) {
        label["alloc_free_64k_" t "t"] = "VirtualAlloc+VirtualFree 64 KiB, " t " threads"
        label["protect_1page_" t "t"] = "VirtualProtect 1 page, " t " threads, own pages"
        label["query_20k_" t "t"] = "VirtualQuery, 20k reservations, " t " threads"
        label["guard_fault_" t "t"] = "guard-page fault, " t " threads, own pages"
        label["map_view_64k_" t "t"] = "CreateFileMapping+MapViewOfFile+Unmap, " t " threads"
        label["churn_" t "t"] = "rpmalloc-like span churn, " t " threads"
    }
    label["alloc_free_cb0"] = "alloc+free 64 KiB, 0 secure-cache callbacks"
    label["alloc_free_cb1"] = "alloc+free 64 KiB, 1 callback"
    label["alloc_free_cb16"] = "alloc+free 64 KiB, 16 callbacks"
    label["refused_free"] = "secure, VirtualFree refused, flush, retry"
    label["secure_unsecure"] = "MmSecure+MmUnsecureVirtualMemory 64 KiB"
    label["secure_unsecure_unwatched"] = "  the same, monitor off (no userfaultfd)"
    label["secure_event"] = "secure, madvise behind the API, callback run"
    label["secure_event_raw"] = "  the same, madvise as a raw system call"
    label["munmap_secured"] = "mmap+munmap 64 KiB, 16 ranges secured"
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
    # Threads: within 1.10x of bare on as many threads (the kernel serialises mutations on
    # its mmap lock; winmem must add no serialisation of its own).
    for (t = 2; t <= 4; t += 2) {
        target["alloc_free_64k_" t "t"] = 1.10; target["protect_1page_" t "t"] = 1.10
        target["query_20k_" t "t"] = 1.10; target["guard_fault_" t "t"] = 1.10
        target["map_view_64k_" t "t"] = 1.10; target["churn_" t "t"] = 1.10
    }
    # cb1 and cb16 are judged against cb0 of the same runs, not against bare; the others of
    # the secured-memory rows are reported only (no target).
    target["alloc_free_cb1"] = 1.02; target["alloc_free_cb16"] = 1.02
    target["heap_64b"] = 1.00; target["heap_random"] = 1.00
    target["ww_first_write"] = 1.10; target["ww_scan_256m"] = 1.20
    ref["alloc_free_cb1"] = "alloc_free_cb0"; ref["alloc_free_cb16"] = "alloc_free_cb0"
    lw = 41 # the operation column: as wide as the longest label
    for (i = 1; i <= nrows; i++) if (length(label[rows[i]]) > lw) lw = length(label[rows[i]])
    dashes = sprintf("%*s", lw + 2, ""); gsub(/ /, "-", dashes)
    line = "+" dashes "+----------+-----------+-----------+-------------+-------------+--------------+-----+--------+"
    print line
    printf "| %-*s | %8s | %9s | %9s | %11s | %11s | %-12s | %-3s | %6s |\n", lw, "operation (ns per op, best of rounds)", \
        "bare", "winmem", "wine", "winmem/bare", "wine/winmem", "target", "met", "spread"
    print line
    for (i = 1; i <= nrows; i++) {
        r = rows[i]
        if (r == "-") { print line; continue }
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
        sp = pct(worse(spread("bare", r), spread("winmem", r)))
        if (ischecked[r] && worse(spread("bare", r), spread("winmem", r)) > max_spread / 100) sp = sp "!"
        printf "| %-*s | %8s | %9s | %9s | %11s | %11s | %-12s | %-3s | %6s |\n", lw, label[r], fmt(b), fw, \
            fx, wr, xr, tg, met, sp
    }
    print line
    if (wine_why != "") print "wine column n/a: " wine_why
    print "threads: ns per operation per thread (the common interval, first start to last finish, over one"
    print "  thread'"'"'s operations; 1 thread'"'"'s figure = perfect scaling). Serialisation, per-thread cost on"
    printf "  N threads / on 1 thread (1.00x: none; N.00x: fully serialised):\n"
    split("alloc_free_64k protect_1page query_20k guard_fault map_view_64k churn", fam, " ")
    for (t = 2; t <= 4; t += 2) {
        if (t == 4 && !have("alloc_free_64k_4t") && !have("churn_4t")) continue
        printf "  %d threads:", t
        for (f = 1; f <= 6; f++) {
            printf "%s %s bare %s winmem %s", (f > 1 ? ";" : ""), fam[f], ratio(ns["bare", fam[f] "_" t "t"], ns["bare", fam[f]]), \
                ratio(ns["winmem", fam[f] "_" t "t"], ns["winmem", fam[f]])
        }
        printf "\n"
    }
    print "secured-memory rows (winmem only; Wine 8.0 has no user-mode secured memory, so n/a):"
    print "  alloc_free_cb0/1/16: bare is the mmap+munmap floor; cb1 and cb16 are compared with cb0,"
    print "    measured in the same process in interleaved batches (\"x cb0\": best / best of cb0)"
    if (paired["alloc_free_cb1"] != "")
        printf "    paired: median over %d rounds of batch(cbN)/batch(cb0), one per run: cb1%s; cb16%s\n", \
            prounds["alloc_free_cb1"], paired["alloc_free_cb1"], paired["alloc_free_cb16"]
    print "  refused_free: bare is mmap+munmap (Linux has no refusal); winmem/bare is the whole price"
    print "  secure_unsecure: no Linux equivalent; bare is mlock+munlock of 64 KiB, the nearest analogue"
    print "    (_unwatched: with WINMEM_SECURE_MONITOR=off; the difference is the cost of watching one range)"
    print "  secure_event: bare is the write + madvise(MADV_DONTNEED) alone; winmem adds the secure and the"
    print "    callback, run before the zap by winmem looking at the C library madvise; _raw: the zap is a"
    print "    raw system call, so the event goes through the monitor thread (docs/secure-memory.md)"
    print "  munmap_secured: the C library mmap+munmap with 16 ranges secured elsewhere: the price of the look"
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
    # ---- cost at scale ----
    split("alloc_free_64k protect_1page query guard_fault", sf, " ")
    slabel["alloc_free_64k"] = "VirtualAlloc+VirtualFree 64 KiB"; slabel["protect_1page"] = "VirtualProtect 1 page"
    slabel["query"] = "VirtualQuery, a random page"; slabel["guard_fault"] = "guard-page fault"
    split("n10 n10k n1m", lv, " ")
    n1m = count["bare", "scale_n1m"] == "" ? "1M" : count["bare", "scale_n1m"] == 1000000 ? "1M" : count["bare", "scale_n1m"]
    sline = "+---------------------------------+---------+---------+---------+---------+---------+---------+---------+---------+-----+--------+"
    printf "cost at scale: ns per op with 10, 10k and %s live 64 KiB reservations; target: winmem max/min <= 1.10x\n", n1m
    print sline
    printf "| %-31s | %7s | %7s | %7s | %7s | %7s | %7s | %7s | %7s | %-3s | %6s |\n", "operation", "bare 10", \
        "10k", n1m, "winm 10", "10k", n1m, "bare", "winmem", "met", "spread"
    printf "| %-31s | %7s | %7s | %7s | %7s | %7s | %7s | %7s | %7s | %-3s | %6s |\n", "", "", "", "", "", "", "", \
        "max/min", "max/min", "", ""
    print sline
    for (f = 1; f <= 4; f++) {
        printf "| %-31s |", slabel[sf[f]]
        mm = ""; sp = ""
        for (s = 1; s <= 2; s++) {
            src = s == 1 ? "bare" : "winmem"; lo[src] = ""; hi[src] = ""
            for (l = 1; l <= 3; l++) {
                r = sf[f] "_" lv[l]; v = ns[src, r]
                if (v != "") {
                    if (lo[src] == "" || v < lo[src]) lo[src] = v
                    if (hi[src] == "" || v > hi[src]) hi[src] = v
                }
                if (sf[f] != "query") sp = worse(sp, spread(src, r))
                mark = (l == 3 && count[src, "scale_n1m"] != count["bare", "scale_n1m"]) ? "*" : ""
                printf " %7s |", fmt(v) mark
            }
        }
        for (s = 1; s <= 2; s++) {
            src = s == 1 ? "bare" : "winmem"
            printf " %7s |", ratio(hi[src], lo[src])
        }
        met = lo["winmem"] == "" ? "n/a" : (hi["winmem"] / lo["winmem"] <= 1.10 + 1e-9 ? "yes" : "NO")
        spt = sf[f] == "query" ? "-" : pct(sp)
        if (sf[f] != "query" && sp != "" && sp > max_spread / 100) spt = spt "!"
        printf " %-3s | %6s |\n", met, spt
    }
    print sline
    print "  (the lookups are memory-latency bound: the bare search of a sorted array grows with the"
    print "  reservations too, from cache to DRAM; compare winmem'"'"'s growth with bare'"'"'s)"
    # ---- trust ----
    nchk = 0; worst = ""; wrow = ""; bad = 0
    for (i = 1; i <= nc; i++) {
        r = cl[i]
        if (ns["bare", r] == "" && ns["winmem", r] == "") continue
        nchk++
        sb = spread("bare", r); sw = spread("winmem", r); s = worse(sb, sw)
        if (s == "" || worst == "" || s > worst) { if (s != "") { worst = s; wrow = r } }
        if (s == "" || s > max_spread / 100) {
            msg = sprintf("NOT TRUSTWORTHY: row %s spread %s (bare %s over %d rounds, winmem %s over %d)", r, \
                s == "" ? "unknown" : pct(s), pct(sb), nrounds("bare", r), pct(sw), nrounds("winmem", r))
            bad++; badmsg = badmsg msg "\n"
            print msg > untrusted
        }
    }
    printf "spread: per row the second-best round over the best, minus 1, the worse of bare and winmem;\n"
    printf "  %d system-call rows, worst %s (%s); target <= %s%% for every one: %s\n", nchk, pct(worst), \
        wrow == "" ? "-" : wrow, max_spread, bad ? "NO" : "yes"
    if (bad) printf "%s", badmsg
    if (notes != "") printf "notes:\n%s", notes
}' "$out/bare.txt" "$out/winmem.txt" "$out/wine.txt" | tee "$out/results.txt"
    echo "raw outputs: $out/bare.txt $out/winmem.txt $out/wine.txt" >&2
}

# ---- two runs compared (--twice) ----
compare() { # $1, $2: the two runs' output directories
    awk -v checked="$checked" -v lookups="$lookups" -v agree="$agree" \
        -v bad_file="$build/disagree" "$awk_lib"'
FNR == 1 { src = src_of(FILENAME); run = (FILENAME ~ /run1\//) ? 1 : 2; rnd = 0 }
$1 == "round" { rnd = $2 }
$1 == "row" && src != "wine" { note_row(src run, $2, $3 + 0) }
function ag(a, b) { return (a == "" || b == "" || a <= 0 || b <= 0) ? "" : (a > b ? a / b : b / a) - 1 }
function f1(v) { return v == "" ? "n/a" : sprintf("%.1f", v) }
function rt(a, b) { return (a == "" || b == "" || b == 0) ? "n/a" : sprintf("%.2fx", a / b) }
END {
    n = split(checked " " lookups, rows, " "); nc = split(checked, cl, " ")
    for (i = 1; i <= nc; i++) ischecked[cl[i]] = 1
    line = "+----------------------------+----------+----------+--------+----------+----------+--------+----------+----------+--------+"
    print "two consecutive full runs: each figure the best of its run'"'"'s rounds (ns per op);"
    printf "agree = the larger over the smaller, minus 1; target <= %s%% on every system-call row\n", agree
    print line
    printf "| %-26s | %8s | %8s | %6s | %8s | %8s | %6s | %8s | %8s | %6s |\n", "row", "bare 1", "bare 2", "agree", \
        "winmem 1", "winmem 2", "agree", "w/b 1", "w/b 2", "agree"
    print line
    bad = 0
    for (i = 1; i <= n; i++) {
        r = rows[i]
        if (ns["bare1", r] == "" && ns["winmem1", r] == "" && ns["bare2", r] == "" && ns["winmem2", r] == "") continue
        if (r == "query_20k") print line # the lookups and heap calls: shown, not judged
        ab = ag(ns["bare1", r], ns["bare2", r]); aw = ag(ns["winmem1", r], ns["winmem2", r])
        r1 = ns["bare1", r] ? ns["winmem1", r] / ns["bare1", r] : ""; r2 = ns["bare2", r] ? ns["winmem2", r] / ns["bare2", r] : ""
        ar = ag(r1, r2)
        flag = ""
        if (ischecked[r] && (worse(ab, aw) == "" || worse(ab, aw) > agree / 100)) {
            flag = "!"; bad++
            msg = sprintf("RUNS DISAGREE: row %s by %s (bare %s, winmem %s)", r, pct(worse(ab, aw)), pct(ab), pct(aw))
            badmsg = badmsg msg "\n"; print msg > bad_file
        }
        printf "| %-26s | %8s | %8s | %6s | %8s | %8s | %6s | %8s | %8s | %6s |\n", r flag, f1(ns["bare1", r]), \
            f1(ns["bare2", r]), pct(ab), f1(ns["winmem1", r]), f1(ns["winmem2", r]), pct(aw), rt(ns["winmem1", r], ns["bare1", r]), \
            rt(ns["winmem2", r], ns["bare2", r]), pct(ar)
    }
    print line
    printf "system-call rows whose two runs agree within %s%%: %s\n", agree, bad ? "NO" : "all"
    if (bad) printf "%s", badmsg
}' "$1/bare.txt" "$1/winmem.txt" "$2/bare.txt" "$2/winmem.txt" | tee "$build/compare.txt"
}

# One loud line on stderr, the rows and their figures from the list in $2 (each "...: row X
# spread|by Y ...").
loud() {
    local n
    n=$(wc -l <"$2")
    echo "run.sh: $1: $n system-call row$([ "$n" = 1 ] || echo s):" \
        "$(awk '{ for (i = 1; i < NF; i++) if ($i == "row") printf "%s%s %s", n++ ? ", " : "", $(i + 1), $(i + 3) }' "$2")" \
        "(exit status 4; see the table)" >&2
}

status=0
if [ "$twice" = 1 ]; then
    rm -f "$build/disagree"
    for k in 1 2; do
        echo "==== run $k of 2 ====" >&2
        run_all "$build/run$k"
        echo "== run $k of 2"
        table "$build/run$k"
    done
    echo
    compare "$build/run1" "$build/run2"
    for k in 1 2; do
        if [ -s "$build/run$k/untrusted" ]; then
            loud "run $k: NOT TRUSTWORTHY" "$build/run$k/untrusted"
            status=4
        fi
    done
    if [ -s "$build/disagree" ]; then
        loud "RUNS DISAGREE" "$build/disagree"
        status=4
    fi
else
    run_all "$build"
    table "$build"
    if [ -s "$build/untrusted" ]; then
        loud "NOT TRUSTWORTHY" "$build/untrusted"
        status=4
    fi
fi
# The exception path alone (faultonly.c): the faults timed without the VirtualProtect that
# arms them, bare and winmem taking turns in one process; targets <= 1.10x.
if [ "$faultonly" = 1 ]; then
    echo
    echo "faults alone (bench_faultonly: best of rounds, ratio winmem/bare, target <= 1.10x):"
    "$build/native/bench/bench_faultonly" 9 20000 | tee "$build/faultonly.txt"
fi
exit "$status"
