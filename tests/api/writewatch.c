/*
 * writewatch.c - MEM_WRITE_WATCH, GetWriteWatch and ResetWriteWatch: written pages in
 * ascending order, reset (all, or only what a short array returned), protection round trips,
 * decommit, guard pages, kernel writes on the program's behalf, and Windows' errors for
 * unwatched memory, size 0, ranges past the allocation, bad flags and NULL outputs.  Run on
 * whichever path the process chose; ctest runs it again with WINMEM_WRITE_WATCH=fallback.
 */
#include "apitest.h"

#ifndef _WIN32
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* GetWriteWatch / ResetWriteWatch fail with a nonzero UINT and the last error. */
#define CHECK_WW_FAILS(call, err)                                                               \
    do {                                                                                        \
        SetLastError(0xdeadbeef);                                                               \
        UINT wmt_r = (call);                                                                    \
        DWORD wmt_e = GetLastError();                                                           \
        if (wmt_r != 0 && wmt_e == (DWORD)(err))                                                \
            wmt_passed++;                                                                       \
        else                                                                                    \
            WMT_FAIL("%s: returned %u, last error %lu, expected failure with %s", #call, wmt_r, \
                     (unsigned long)wmt_e, #err);                                               \
    } while (0)

#define WWSIZE (16 * PAGE)

static void *res[64];
static ULONG_PTR count;
static DWORD gran;

/* GetWriteWatch into res (room for max); the count, or -1 on failure. */
static long ww(DWORD flags, void *base, SIZE_T size, ULONG_PTR max)
{
    count = max;
    gran = 0;
    if (GetWriteWatch(flags, base, size, res, &count, &gran) != 0)
        return -1;
    CHECK_EQ(gran, PAGE);
    return (long)count;
}

static void test_basic(void)
{
    BYTE *p =
        VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    CHECK_REGION(p, p, p, PAGE_READWRITE, WWSIZE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
    /* Reading is not writing. */
    CHECK_EQ(((volatile BYTE *)p)[3 * PAGE], 0);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);

    p[PAGE + 1] = 0x44;
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + PAGE);
    CHECK_EQ(p[PAGE + 1], 0x44);
    CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + PAGE);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);

    /* Ascending order whatever the order of the writes; a sub-range sees its own. */
    p[4 * PAGE + 8] = 0x11;
    p[2 * PAGE + 3] = 0x11;
    CHECK_EQ(ww(0, p, WWSIZE, 64), 2);
    CHECK(res[0] == p + 2 * PAGE && res[1] == p + 4 * PAGE);
    CHECK_EQ(ww(0, p + 3 * PAGE, 2 * PAGE, 64), 1);
    CHECK(res[0] == p + 4 * PAGE);
    /* An unaligned base and size name every page they touch. */
    CHECK_EQ(ww(0, p + 4 * PAGE + 100, 1, 64), 1);

    CHECK_EQ(ResetWriteWatch(p, 3 * PAGE), 0);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 4 * PAGE);

    /* A write straddling two pages reports both. */
    volatile BYTE *q = p + 2 * PAGE - 2;
    q[0] = 1;
    q[1] = 2;
    q[2] = 3;
    q[3] = 4;
    CHECK_EQ(ww(0, p, WWSIZE, 64), 3);
    CHECK(res[0] == p + PAGE && res[1] == p + 2 * PAGE && res[2] == p + 4 * PAGE);

    /* A short array returns what fits and resets only that. */
    CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 1), 1);
    CHECK(res[0] == p + PAGE);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 2);
    CHECK(res[0] == p + 2 * PAGE && res[1] == p + 4 * PAGE);

    /* Protection round trips keep the record, and pages stay usable. */
    DWORD old;
    CHECK(VirtualProtect(p, 3 * PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_REGION(p, p, p, PAGE_READWRITE, 3 * PAGE, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    CHECK(VirtualProtect(p, 3 * PAGE, PAGE_READWRITE, &old));
    CHECK_EQ(old, PAGE_READONLY);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 2);
    CHECK(res[0] == p + 2 * PAGE && res[1] == p + 4 * PAGE);
    CHECK_REGION(p, p, p, PAGE_READWRITE, WWSIZE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_EQ(ResetWriteWatch(p, WWSIZE), 0);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
    /* Written again after a protection change: recorded. */
    CHECK(VirtualProtect(p, 3 * PAGE, PAGE_READONLY, &old));
    CHECK(VirtualProtect(p, 3 * PAGE, PAGE_EXECUTE_READWRITE, &old));
    p[PAGE] = 5;
    CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + PAGE);
    /* Locking pages in memory is not writing them. */
    CHECK_EQ(ResetWriteWatch(p, WWSIZE), 0);
    CHECK_EQ(((volatile BYTE *)p)[6 * PAGE], 0);
    if (VirtualLock(p, WWSIZE)) {
        CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
        p[6 * PAGE] = 1;
        CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
        CHECK(VirtualUnlock(p, WWSIZE));
    }
    /* Every page written. */
    memset(p, 0, WWSIZE);
    CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 16);
    for (int i = 0; i < 16; i++)
        CHECK(res[i] == p + i * PAGE);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_errors(void)
{
    BYTE *p =
        VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    BYTE *plain = VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL && plain != NULL);
    DWORD g;

    count = 64;
    CHECK_WW_FAILS(GetWriteWatch(0, NULL, WWSIZE, res, &count, &g), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(GetWriteWatch(0, plain, WWSIZE, res, &count, &g), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(ResetWriteWatch(plain, WWSIZE), ERROR_INVALID_PARAMETER);
    count = 0;
    CHECK_WW_FAILS(GetWriteWatch(0, p, WWSIZE, res, &count, &g), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(GetWriteWatch(0, p, WWSIZE, NULL, &count, &g), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(GetWriteWatch(0, p, WWSIZE, res, NULL, &g), ERROR_NOACCESS);
    count = 64;
    CHECK_WW_FAILS(GetWriteWatch(0, p, WWSIZE, res, &count, NULL), ERROR_NOACCESS);
    CHECK_WW_FAILS(GetWriteWatch(0, p, WWSIZE, NULL, &count, &g), ERROR_NOACCESS);
    CHECK_WW_FAILS(GetWriteWatch(0xdeadbeef, p, WWSIZE, res, &count, &g), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(GetWriteWatch(2, p, WWSIZE, res, &count, &g), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(GetWriteWatch(0, p, 0, res, &count, &g), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(GetWriteWatch(0, p, 2 * WWSIZE, res, &count, &g), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(GetWriteWatch(0, p + WWSIZE - PAGE, PAGE + 1, res, &count, &g),
                   ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(ResetWriteWatch(p, 0), ERROR_INVALID_PARAMETER);
    CHECK_WW_FAILS(ResetWriteWatch(p, 2 * WWSIZE), ERROR_INVALID_PARAMETER);
    CHECK_EQ(count, 64); /* failures leave the count alone */

    /* MEM_WRITE_WATCH needs MEM_RESERVE (Windows' tests: alone, 87). */
    CHECK_FAILS(VirtualAlloc(NULL, WWSIZE, MEM_WRITE_WATCH, PAGE_READWRITE),
                ERROR_INVALID_PARAMETER);
#ifndef _WIN32
    CHECK_FAILS(VirtualAlloc(NULL, 2 << 20,
                             MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES | MEM_WRITE_WATCH,
                             PAGE_READWRITE),
                ERROR_INVALID_PARAMETER);
    /* With MEM_COMMIT only, winmem follows the documentation ("you must also specify
     * MEM_RESERVE"); Wine 8 accepts both, and no test pins Windows (docs/compat.md). */
    CHECK_FAILS(VirtualAlloc(NULL, WWSIZE, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(VirtualAlloc(p, PAGE, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE),
                ERROR_INVALID_PARAMETER);
#endif
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK(VirtualFree(plain, 0, MEM_RELEASE));
    /* Released: no longer watched. */
    count = 64;
    CHECK_WW_FAILS(GetWriteWatch(0, p, WWSIZE, res, &count, &g), ERROR_INVALID_PARAMETER);
}

/* Reserved pages, a protection the allocation did not start with, and decommit. */
static void test_reserved_decommit(void)
{
    BYTE *p = VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_NOACCESS);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, WWSIZE, MEM_RESERVE, 0, MEM_PRIVATE);
    /* Reserved pages are watched too, and report nothing. */
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
    CHECK_EQ(ResetWriteWatch(p, WWSIZE), 0);
    CHECK(VirtualAlloc(p, WWSIZE, MEM_COMMIT, PAGE_NOACCESS) == p);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
    CHECK(VirtualProtect(p, 6 * PAGE, PAGE_READWRITE, &old));
    CHECK_EQ(old, PAGE_NOACCESS);
    p[5 * PAGE + 200] = 3;
    CHECK(VirtualProtect(p, 6 * PAGE, PAGE_NOACCESS, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 5 * PAGE);

    /* Decommitted pages go on being reported until reset. */
    CHECK(VirtualFree(p, WWSIZE, MEM_DECOMMIT));
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 5 * PAGE);
    /* Recommitted: zeros, still reported, and a new write is recorded too. */
    CHECK(VirtualAlloc(p, WWSIZE, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK_EQ(p[5 * PAGE + 200], 0);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    p[7 * PAGE] = 1;
    CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 2);
    CHECK(res[0] == p + 5 * PAGE && res[1] == p + 7 * PAGE);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
    p[5 * PAGE] = 1;
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 5 * PAGE);

    /* Written and decommitted with no GetWriteWatch in between: still reported. */
    p[10 * PAGE] = 1;
    CHECK(VirtualFree(p + 10 * PAGE, 2 * PAGE, MEM_DECOMMIT));
    CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 2);
    CHECK(res[0] == p + 5 * PAGE && res[1] == p + 10 * PAGE);
    CHECK(VirtualAlloc(p + 10 * PAGE, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p + 10 * PAGE);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
    p[5 * PAGE] = 1;

    /* MEM_RESET discards nothing written from the record. */
    CHECK(VirtualAlloc(p, WWSIZE, MEM_RESET, PAGE_READWRITE) == p);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 5 * PAGE);
    CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 1);
    p[9 * PAGE] = 1; /* the reset pages stay usable and watched */
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 9 * PAGE);
#ifndef _WIN32
    /* MEM_RESET_UNDO keeps pages by dirtying them in place, under winmem's lock: it must not
     * fault on the fallback's read-only pages (it did: an access violation inside winmem). */
    const char *mode = getenv("WINMEM_WRITE_WATCH");
    CHECK_EQ(ResetWriteWatch(p, WWSIZE), 0);
    p[9 * PAGE] = 2;
    VirtualAlloc(p, WWSIZE, MEM_RESET, PAGE_READWRITE);
    VirtualAlloc(p, WWSIZE, MEM_RESET_UNDO, PAGE_READWRITE); /* fails if a page was dropped */
    long n = ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64);
    if (mode && strcmp(mode, "fallback") == 0) {
        CHECK_EQ(n, 1);
        CHECK(res[0] == p + 9 * PAGE);
    } else {
        CHECK(n >= 1); /* the fast path counts the kept pages too (docs/compat.md) */
    }
    p[9 * PAGE] = 3; /* still watched */
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
#endif
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

static volatile int guard_hits; /* changed by the handler, inside the faulting store */

static LONG CALLBACK guard_handler(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode != EXCEPTION_GUARD_PAGE)
        return EXCEPTION_CONTINUE_SEARCH;
    guard_hits++;
    return EXCEPTION_CONTINUE_EXECUTION;
}

/* A guard page in watched memory: the guard exception first, then the write is recorded. */
static void test_guard(void)
{
    BYTE *p =
        VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualProtect(p + 3 * PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
    PVOID h = AddVectoredExceptionHandler(1, guard_handler);
    guard_hits = 0;
    ((volatile BYTE *)p)[3 * PAGE + 1] = 7;
    CHECK_EQ(guard_hits, 1);
    CHECK_EQ(p[3 * PAGE + 1], 7);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 3 * PAGE);
    CHECK_REGION(p + 3 * PAGE, p + 3 * PAGE, p, PAGE_READWRITE, WWSIZE - 3 * PAGE, MEM_COMMIT,
                 PAGE_READWRITE, MEM_PRIVATE);
    /* A guard page consumed by a read: the page was not written. */
    CHECK_EQ(ResetWriteWatch(p, WWSIZE), 0);
    CHECK(VirtualProtect(p + 6 * PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
    CHECK_EQ(((volatile BYTE *)p)[6 * PAGE], 0);
    CHECK_EQ(guard_hits, 2);
    CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
    p[6 * PAGE] = 1;
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 6 * PAGE);
    RemoveVectoredExceptionHandler(h);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

#ifndef _WIN32
/* The VMA holding p is marked MADV_NOHUGEPAGE ("nh" in /proc/self/smaps). */
static int no_huge_pages(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int in = 0, nh = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0)
            nh = strstr(line, " nh") != NULL;
    }
    fclose(f);
    return nh;
}
#endif

/* The kernel writing on the program's behalf (read(2) into the buffer) is a write.  Linux
 * only: winmem has no ReadFile; on Windows Wine's tests record the same for ReadFile. */
static void test_kernel_write(void)
{
#ifndef _WIN32
    BYTE *p =
        VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    int fd[2];
    REQUIRE_VOID(pipe(fd) == 0);
    static BYTE data[3 * 65536];
    memset(data, 0x5a, sizeof(data));
    size_t len = 2 * PAGE + 3;
    REQUIRE_VOID(len <= sizeof(data) && write(fd[1], data, len) == (ssize_t)len);
    const char *mode = getenv("WINMEM_WRITE_WATCH");
    int fallback = mode && strcmp(mode, "fallback") == 0;
    ssize_t got = read(fd[0], p + PAGE, 3 * PAGE);
    if (!fallback) {
        /* Recorded, and never EFAULT. */
        CHECK_EQ(got, len);
        CHECK_EQ(p[PAGE], 0x5a);
        CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 3);
        CHECK(res[0] == p + PAGE && res[1] == p + 2 * PAGE && res[2] == p + 3 * PAGE);
        /* The fast path keeps transparent huge pages out of watched memory: one write to a
         * huge page would report all of it. */
        CHECK(no_huge_pages(p));
    } else {
        /* The fallback maps clean pages read-only and the kernel does not fault into user
         * handlers: read(2) fails with EFAULT and nothing is written (docs/compat.md). */
        CHECK_EQ(got, -1);
        CHECK_EQ(errno, EFAULT);
        CHECK_EQ(ww(0, p, WWSIZE, 64), 0);
        /* Written by the program first, the pages take the read. */
        p[PAGE] = p[2 * PAGE] = p[3 * PAGE] = 0;
        CHECK_EQ(read(fd[0], p + PAGE, 3 * PAGE), len);
        CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 3);
    }
    close(fd[0]);
    close(fd[1]);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
#endif
}

/* fork(): the child's watched memory keeps working.  On the fast path the child's first
 * answer may include pages it did not write (the registration is per address space and the
 * child makes its own; docs/compat.md); after a reset it is exact. */
static void test_fork(void)
{
#ifndef _WIN32
    BYTE *p =
        VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    p[2 * PAGE] = 1;
    CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64), 1);
    p[3 * PAGE] = 1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        p[5 * PAGE] = 1;
        long n = ww(WRITE_WATCH_FLAG_RESET, p, WWSIZE, 64);
        int saw3 = 0, saw5 = 0;
        for (long i = 0; i < n; i++) {
            saw3 |= res[i] == p + 3 * PAGE;
            saw5 |= res[i] == p + 5 * PAGE;
        }
        bad |= (n < 2 || !saw3 || !saw5) << 0;
        bad |= (ww(0, p, WWSIZE, 64) != 0) << 1;
        p[7 * PAGE] = 1;
        bad |= (ww(0, p, WWSIZE, 64) != 1 || res[0] != p + 7 * PAGE) << 2;
        BYTE *q =
            VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
        bad |= (q == NULL) << 3;
        if (q) {
            q[PAGE] = 1;
            bad |= (ww(0, q, WWSIZE, 64) != 1 || res[0] != q + PAGE) << 4;
        }
        _exit(bad);
    }
    REQUIRE_VOID(pid > 0);
    int status = -1;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0); /* bits: which of the child's checks failed */
    /* The parent's record is its own. */
    CHECK_EQ(ww(0, p, WWSIZE, 64), 1);
    CHECK(res[0] == p + 3 * PAGE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
#endif
}

/* Many watched regions and a large one: the record is per region. */
static void test_many(void)
{
    BYTE *a =
        VirtualAlloc(NULL, WWSIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    SIZE_T big = 4096 * PAGE;
    BYTE *b = VirtualAlloc(NULL, big, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    REQUIRE_VOID(a != NULL && b != NULL);
    a[0] = 1;
    for (SIZE_T i = 0; i < 4096; i += 7)
        b[i * PAGE] = 1;
    CHECK_EQ(ww(0, a, WWSIZE, 64), 1);
    /* Ranges spanning two allocations are refused. */
    count = 64;
    if (a + WWSIZE == b || b + big == a) {
        CHECK_WW_FAILS(GetWriteWatch(0, a < b ? a : b, WWSIZE + big, res, &count, &gran),
                       ERROR_INVALID_PARAMETER);
    }
    ULONG_PTR n = 0, total = 0;
    BYTE *pos = b;
    /* Read in short batches with reset: each page exactly once, ascending. */
    do {
        n = (ULONG_PTR)ww(WRITE_WATCH_FLAG_RESET, pos, (SIZE_T)(b + big - pos), 64);
        for (ULONG_PTR i = 0; i < n; i++) {
            CHECK_EQ(((BYTE *)res[i] - b) / PAGE, (total + i) * 7);
        }
        total += n;
        if (n)
            pos = (BYTE *)res[n - 1] + PAGE;
    } while (n == 64 && pos < b + big);
    CHECK_EQ(total, (4096 + 6) / 7);
    CHECK_EQ(ww(0, b, big, 64), 0);
    CHECK(VirtualFree(a, 0, MEM_RELEASE));
    CHECK(VirtualFree(b, 0, MEM_RELEASE));
}

int main(void)
{
    at_init();
    test_basic();
    test_errors();
    test_reserved_decommit();
    test_guard();
    test_kernel_write();
    test_fork();
    test_many();
    return wmt_report();
}
