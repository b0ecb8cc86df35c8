#!/bin/sh
# gdb.sh TARGET HELPER OUTDIR - gdb's helper (tools/winmem-gdb.py) in batch mode on
# tests/map/gdbtarget.c: stopped at the SIGSEGV of a guard-page read, "winmem region" must
# describe the guard page, the view and a library, and "winmem map" the summary; then, with
# SIGSEGV passed on, the program must handle the guard page and exit normally.
# Exit 77 (skipped) when gdb is absent or cannot trace a program here.
target=$1 helper=$2 out=$3
if ! command -v gdb >/dev/null 2>&1; then
    echo "SKIP: gdb is not installed (scripts/deps.sh installs it)"
    exit 77
fi
mkdir -p "$out"
probe=$(timeout 60 gdb -nx -batch -ex run --args /bin/true 2>&1)
case $probe in
*"exited normally"*) ;;
*)
    echo "SKIP: gdb cannot run a program here (is ptrace permitted?):"
    echo "$probe" | tail -3
    exit 77
    ;;
esac
log=$out/gdb.log
timeout 100 gdb -nx -batch -x "$helper" -ex 'set pagination off' -ex run \
    -ex 'winmem region guard_page' -ex 'winmem region $_siginfo._sifields._sigfault.si_addr' \
    -ex 'winmem region view_base' -ex 'winmem region &printf' \
    -ex 'winmem region 0x10000' -ex 'winmem map' -ex "winmem dump $out/dump.txt" \
    -ex 'handle SIGSEGV nostop noprint pass' -ex continue --args "$target" >"$log" 2>&1
cat "$log"
fail=0
expect() {
    if ! grep -q -- "$1" "$log"; then
        echo "FAIL: the gdb output lacks: $1"
        fail=1
    fi
}
expect "SIGSEGV"
# By the variable and by the fault's own address.
[ "$(grep -c "guard page        yes" "$log")" = 2 ] || { echo "FAIL: \$_siginfo's address"; fail=1; }
expect "is in a winmem allocation (Private Data)"
expect "Protect           READWRITE|GUARD"
expect "guard page        yes"
expect "State             MEM_COMMIT"
expect "is in a winmem allocation (Shareable)"
expect "pagefile section named .*winmem-gdb-test"
expect "is not winmem's: Image (.*libc"
expect "is free (MEM_FREE)"
expect "^Private Data "
expect "^Heap "
expect "^Stack "
expect "^Image "
expect "winmem: [0-9]* bytes written to"
expect "guard page handled"
expect "exited normally"
grep -q "^winmem-map 1" "$out/dump.txt" || { echo "FAIL: no dump saved"; fail=1; }
exit $fail
