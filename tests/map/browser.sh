#!/bin/sh
# browser.sh MAPSTATE WINMEM-MAP OUTDIR - the address-space picture in a real browser: run
# tests/map/mapstate.c (which writes OUTDIR/map.html and the text dump, with WINMEM_MAP set
# so the exit-time picture is written too), draw the dump with the winmem-map tool, load the
# pictures in Debian's headless chromium, check from the DOM it built (--dump-dom, after the
# page's script ran) that every kind of element is drawn with a size, and keep a screenshot
# at OUTDIR/map.png.  Exit 77 (skipped) only when chromium is not installed or cannot start:
# under ulimit -v (RLIMIT_AS) its JavaScript engine cannot reserve what it needs (the map_state
# test still checks the dump).
state=$1 tool=$2 out=$3
browser=
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        browser=$b
        break
    fi
done
if [ -z "$browser" ]; then
    echo "SKIP: chromium is not installed (scripts/deps.sh installs it: apt-get install chromium)"
    exit 77
fi
if [ "$(ulimit -v)" != unlimited ]; then
    echo "SKIP: chromium does not start under ulimit -v ($(ulimit -v) KiB of address space)"
    exit 77
fi
mkdir -p "$out"
rm -f "$out"/map.png "$out"/atexit-*.html
fail=0
WINMEM_MAP="$out/atexit-%p.html" "$state" "$out" || fail=1
pid=$(sed -n 's/^pid //p' "$out/expect.txt")
[ -s "$out/atexit-$pid.html" ] || { echo "FAIL: WINMEM_MAP wrote no $out/atexit-$pid.html"; fail=1; }
[ "$(ls "$out"/atexit-*.html 2>/dev/null | wc -l)" = 1 ] ||
    { echo "FAIL: a child process wrote a picture too"; fail=1; }
"$tool" "$out/map.txt" "$out/tool.html" || fail=1
"$tool" "$out/expect.txt" "$out/bad.html" 2>/dev/null && { echo "FAIL: winmem-map took a non-dump"; fail=1; }

# chromium as root needs --no-sandbox; a private profile keeps runs apart.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
run_browser() {
    timeout 60 "$browser" --headless --disable-gpu --no-sandbox --user-data-dir="$profile" \
        --no-first-run --disable-extensions --hide-scrollbars "$@" 2>"$out/chromium.err"
}
for page in map.html tool.html; do
    run_browser --virtual-time-budget=3000 --dump-dom "file://$out/$page" >"$out/$page.dom"
    dom=$out/$page.dom
    if ! grep -q 'id="status"[^>]*data-ready="1"' "$dom"; then
        echo "FAIL: $page: the page's script did not finish (no data-ready on #status)"
        tail -5 "$out/chromium.err"
        fail=1
        continue
    fi
    for kind in alloc run guard written secured view heapseg foreign free; do
        if ! grep -q "id=\"status\"[^>]*data-drawn-$kind=\"[1-9]" "$dom"; then
            echo "FAIL: $page: no $kind element drawn with a size"
            fail=1
        fi
    done
    while read -r kind addr; do
        case $kind in
        alloc) pat="id=\"a-$addr\"" ;;
        pid) continue ;;
        *) pat="data-kind=\"$kind\" data-base=\"0x$addr\"" ;;
        esac
        grep -q "$pat" "$dom" || { echo "FAIL: $page: no $kind at 0x$addr"; fail=1; }
    done <"$out/expect.txt"
    for row in image heap private shareable mapped stack brk free; do
        grep -q "<tr data-type=\"$row\"" "$dom" || { echo "FAIL: $page: no $row row in the summary"; fail=1; }
    done
done
run_browser --screenshot="$out/map.png" --window-size=1280,1600 "file://$out/map.html" >/dev/null
if [ -s "$out/map.png" ]; then
    echo "screenshot: $out/map.png"
else
    echo "FAIL: no screenshot"
    tail -5 "$out/chromium.err"
    fail=1
fi
exit $fail
