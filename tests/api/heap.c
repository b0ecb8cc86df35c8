/*
 * heap.c - heap conformance: HeapCreate (growable and fixed), HeapAlloc / HeapReAlloc /
 * HeapFree / HeapSize with their flags and the errors Windows sets, large blocks, HeapWalk's
 * entries, the compatibility information, HeapLock, HEAP_GENERATE_EXCEPTIONS, executable
 * heaps, and HeapDestroy handing every page back.  The facts are Microsoft's documentation
 * and results recorded on Windows; the checks that a foreign pointer, a double free or an
 * overrun is reported (not a crash) are winmem's promise and run on Linux only.
 */
#include "apitest.h"

#ifndef _WIN32
#include <winternl.h>
#endif

#define BIG ((SIZE_T)0x8000 * sizeof(void *)) /* 256 KiB on 64-bit */

/* Sanitizers keep shadow memory resident for what the heap gives back (no RSS check), and
 * their runtimes map memory of their own, which may land where a heap was. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEAP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEAP_SANITIZED 1
#endif
#endif

/* p's pages went back to the system.  Under a sanitizer the runtime may have mapped the hole
 * again at once (it allocates while VirtualQuery reads /proc/self/maps): not checked there. */
static int gone(const void *p)
{
#ifdef HEAP_SANITIZED
    (void)p;
    return 1;
#else
    return at_state(p) == MEM_FREE;
#endif
}

static void test_create(void)
{
    HANDLE heaps[64];
    DWORD n0 = GetProcessHeaps(0, NULL);
    CHECK(n0 >= 1);
    HANDLE h1 = HeapCreate(0, 0, 0), h2 = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h1 && h2);
    CHECK_EQ((ULONG_PTR)h1 & 0xffff, 0);
    CHECK_EQ((ULONG_PTR)h2 & 0xffff, 0);
    CHECK_EQ(GetProcessHeaps(0, NULL), n0 + 2);
    CHECK_EQ(GetProcessHeaps(64, heaps), n0 + 2);
    CHECK_EQ(heaps[0], GetProcessHeap());
#ifndef _WIN32 /* Wine lists them in another order */
    CHECK_EQ(heaps[n0], h1);
    CHECK_EQ(heaps[n0 + 1], h2);
#endif
    CHECK(HeapDestroy(h2));
    CHECK(HeapDestroy(h1));
    CHECK_EQ(GetProcessHeaps(0, NULL), n0);
    CHECK(gone(h1));
}

static void test_border_cases(void)
{
    HANDLE h = HeapCreate(0, 0, 0);
    BYTE *p, *q;
    char stackbuf[256];
    REQUIRE_VOID(h);

    CHECK(HeapFree(h, 0, NULL));
    SetLastError(0xdeadbeef);
    CHECK(HeapReAlloc(h, 0, NULL, 1) == NULL);
#ifndef _WIN32 /* Windows clears it; Wine leaves it */
    CHECK_EQ(GetLastError(), NO_ERROR);
#endif
    SetLastError(0xdeadbeef);
    CHECK(HeapValidate(h, 0, NULL));
    CHECK_EQ(GetLastError(), 0xdeadbeef);
    SetLastError(0xdeadbeef);
    p = (BYTE *)(((ULONG_PTR)stackbuf + 63) & ~(ULONG_PTR)63);
    CHECK(!HeapValidate(h, 0, p));
    CHECK_EQ(GetLastError(), 0xdeadbeef);

    /* zero-size blocks: valid, distinct, size 0 */
    p = HeapAlloc(h, 0, 0);
    q = HeapAlloc(h, 0, 0);
    REQUIRE_VOID(p && q);
    CHECK(p != q);
    CHECK_EQ(HeapSize(h, 0, p), 0);
    CHECK(HeapValidate(h, 0, p));
    CHECK(!HeapReAlloc(h, 0, p, ~(SIZE_T)0 - 7));
    CHECK_FAILS(HeapReAlloc(h, 0, p, ~(SIZE_T)0), ERROR_NOT_ENOUGH_MEMORY);
    CHECK(HeapValidate(h, 0, p));
    CHECK(HeapFree(h, 0, p));
    CHECK(HeapFree(h, 0, q));
    SetLastError(0xdeadbeef);
    CHECK(!HeapValidate(h, 0, p));
    CHECK_EQ(GetLastError(), 0xdeadbeef);

    CHECK_FAILS(HeapAlloc(h, 0, ~(SIZE_T)0), ERROR_NOT_ENOUGH_MEMORY);
    /* HeapAlloc leaves the last error alone on success */
    SetLastError(0xdeadbeef);
    p = HeapAlloc(h, 0, 1);
    CHECK(p != NULL);
    CHECK_EQ(GetLastError(), 0xdeadbeef);
    q = HeapReAlloc(h, 0, p, 0);
    CHECK(q != NULL);
    CHECK_EQ(HeapSize(h, 0, q), 0);
    CHECK(HeapFree(h, 0, q));
    CHECK(HeapDestroy(h));
}

static void test_sizes_alignment(void)
{
    HANDLE h = HeapCreate(0, 0, 0);
    BYTE *ptrs[128];
    ULONG_PTR align = 0;
    REQUIRE_VOID(h);

    for (int i = 0; i < 128; i++) {
        ptrs[i] = HeapAlloc(h, 0, BIG);
        REQUIRE_VOID(ptrs[i]);
        CHECK_EQ(HeapSize(h, 0, ptrs[i]), BIG);
        align |= (ULONG_PTR)ptrs[i];
    }
    CHECK_EQ(align & (2 * sizeof(void *) - 1), 0);
    for (int i = 0; i < 128; i++)
        CHECK(HeapFree(h, 0, ptrs[i]));

    for (SIZE_T s = 0; s < 5000; s = s * 3 / 2 + 1) {
        BYTE *p = HeapAlloc(h, 0, s);
        REQUIRE_VOID(p);
        CHECK_EQ((ULONG_PTR)p & 15, 0);
        CHECK_EQ(HeapSize(h, 0, p), s);
        memset(p, 0xab, s);
        CHECK(HeapFree(h, 0, p));
    }

    /* large blocks are their own allocations: the data 64 bytes into a granule */
    align = 0;
    for (int i = 0; i < 8; i++) {
        ptrs[i] = HeapAlloc(h, 0, 4 * BIG);
        REQUIRE_VOID(ptrs[i]);
        align |= (ULONG_PTR)ptrs[i];
        CHECK_EQ(HeapSize(h, 0, ptrs[i]), 4 * BIG);
    }
#ifndef _WIN32 /* Windows' figure; Wine differs */
    CHECK_EQ(align & 0xffff, 8 * sizeof(void *));
#endif
    for (int i = 0; i < 8; i++)
        CHECK(HeapFree(h, 0, ptrs[i]));
    CHECK(HeapDestroy(h));
}

static int all_zero(const BYTE *p, SIZE_T n)
{
    for (SIZE_T i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void test_zero_realloc(void)
{
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    BYTE *p = HeapAlloc(h, HEAP_ZERO_MEMORY, 1);
    REQUIRE_VOID(p);
    CHECK(all_zero(p, 1));
    p = HeapReAlloc(h, 0, p, 100);
    REQUIRE_VOID(p);
    memset(p, 0x5a, 100);
    /* shrink, then grow with HEAP_ZERO_MEMORY: the kept bytes stay, the growth is zero */
    p = HeapReAlloc(h, 0, p, 10);
    REQUIRE_VOID(p);
    p = HeapReAlloc(h, HEAP_ZERO_MEMORY, p, 3000);
    REQUIRE_VOID(p);
    CHECK_EQ(HeapSize(h, 0, p), 3000);
    CHECK_EQ(p[9], 0x5a);
    CHECK(all_zero(p + 10, 2990));
    memset(p, 0x77, 3000);
    p = HeapReAlloc(h, HEAP_ZERO_MEMORY, p, 1 << 20);
    REQUIRE_VOID(p);
    CHECK_EQ(p[2999], 0x77);
    CHECK(all_zero(p + 3000, (1 << 20) - 3000));

    BYTE *q = HeapAlloc(h, HEAP_ZERO_MEMORY, 3 * BIG);
    REQUIRE_VOID(q);
    CHECK(all_zero(q, 3 * BIG));
    CHECK(HeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, q, BIG * 3 / 2) == q);
    CHECK(HeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, q, 2 * BIG) == q);
    CHECK_EQ(HeapSize(h, 0, q), 2 * BIG);
    CHECK(HeapFree(h, 0, q));

    /* a very large block shrunk in place gives its pages back and cannot grow in place */
    p = HeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, BIG * 3 / 2);
    REQUIRE_VOID(p);
#ifndef _WIN32 /* Windows' behaviour; Wine grows it in place */
    CHECK_FAILS(HeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, 2 * BIG), ERROR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(HeapSize(h, 0, p), BIG * 3 / 2);
#endif
    CHECK(HeapFree(h, 0, p));
    CHECK(HeapDestroy(h));
}

static void test_fixed(void)
{
    HANDLE h = HeapCreate(0, BIG, BIG);
    REQUIRE_VOID(h);
    BYTE *p = HeapAlloc(h, 0, BIG - (0x400 + 0x100 * sizeof(void *)));
    CHECK(p != NULL);
    CHECK(HeapFree(h, 0, p));
    CHECK_FAILS(HeapAlloc(h, 0, BIG), ERROR_NOT_ENOUGH_MEMORY);
    CHECK(HeapDestroy(h));

    h = HeapCreate(0, 2 * BIG, 5 * BIG);
    REQUIRE_VOID(h);
    /* no large blocks in a fixed heap */
    CHECK_FAILS(HeapAlloc(h, 0, 4 * BIG), ERROR_NOT_ENOUGH_MEMORY);
    p = HeapAlloc(h, HEAP_ZERO_MEMORY, BIG);
    REQUIRE_VOID(p);
    p = HeapReAlloc(h, HEAP_ZERO_MEMORY, p, 2 * BIG);
    REQUIRE_VOID(p);
    CHECK(all_zero(p, 2 * BIG));
    CHECK(HeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, BIG * 3 / 2) == p);
    CHECK(HeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, 2 * BIG) == p);
    /* it runs out */
    int n = 0;
    while (HeapAlloc(h, 0, 4096) && n < 10000)
        n++;
    CHECK(n > 0 && n < 10000);
    CHECK_FAILS(HeapAlloc(h, 0, 4096), ERROR_NOT_ENOUGH_MEMORY);
    CHECK(HeapDestroy(h));
}

static int walk(HANDLE h, PROCESS_HEAP_ENTRY *out, int max)
{
    PROCESS_HEAP_ENTRY e;
    int n = 0;
    memset(&e, 0xcd, sizeof(e));
    e.lpData = NULL;
    SetLastError(0xdeadbeef);
    while (HeapWalk(h, &e)) {
        if (n < max)
            out[n] = e;
        n++;
    }
    CHECK_EQ(GetLastError(), ERROR_NO_MORE_ITEMS);
    return n;
}

static void test_walk(void)
{
    PROCESS_HEAP_ENTRY e[64];
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    int n = walk(h, e, 64);
#ifndef _WIN32 /* as Windows enumerates; Wine's walk differs */
    CHECK_EQ(n, 3);
    CHECK_EQ(e[0].wFlags, PROCESS_HEAP_REGION);
    CHECK_EQ(e[0].lpData, h);
    CHECK(e[0].cbData <= 0x1000);
    CHECK_EQ(e[0].cbOverhead, 0);
    CHECK_EQ(e[0].iRegionIndex, 0);
    CHECK_EQ(e[0].Region.dwCommittedSize + e[0].Region.dwUnCommittedSize, 0x10000);
    CHECK_EQ((BYTE *)e[0].Region.lpFirstBlock, (BYTE *)e[0].lpData + e[0].cbData + 16);
    CHECK_EQ(e[0].Region.lpLastBlock, (BYTE *)e[2].lpData + e[2].cbData);
    CHECK_EQ(e[1].wFlags, 0);
    CHECK(e[1].cbData != 0 && e[1].cbOverhead != 0);
    CHECK_EQ(e[2].wFlags, PROCESS_HEAP_UNCOMMITTED_RANGE);
    CHECK_EQ(e[2].lpData, (BYTE *)e[0].lpData + e[0].Region.dwCommittedSize);
    CHECK_EQ(e[2].cbData, e[0].Region.dwUnCommittedSize);
#endif
    CHECK(n >= 1);

    BYTE *a = HeapAlloc(h, 0, 123), *b = HeapAlloc(h, 0, 456), *big = HeapAlloc(h, 0, 5 * BIG);
    REQUIRE_VOID(a && b && big);
    n = walk(h, e, 64);
    int seen_a = 0, seen_b = 0, seen_big = 0;
    for (int i = 0; i < n && i < 64; i++) {
        if (e[i].lpData == a) {
            seen_a++;
            CHECK_EQ(e[i].wFlags, PROCESS_HEAP_ENTRY_BUSY);
            CHECK_EQ(e[i].cbData, 123);
            CHECK(e[i].cbOverhead != 0);
            CHECK_EQ(e[i].iRegionIndex, 0);
        } else if (e[i].lpData == b) {
            seen_b++;
            CHECK_EQ(e[i].cbData, 456);
        } else if (e[i].lpData == big) {
            seen_big++;
            CHECK_EQ(e[i].wFlags & PROCESS_HEAP_ENTRY_BUSY, PROCESS_HEAP_ENTRY_BUSY);
            CHECK_EQ(e[i].cbData, 5 * BIG);
#ifndef _WIN32
            CHECK_EQ(e[i].iRegionIndex, 64);
            CHECK_EQ(i, n - 1);
#endif
        }
    }
    CHECK_EQ(seen_a, 1);
    CHECK_EQ(seen_b, 1);
    CHECK_EQ(seen_big, 1);
    CHECK(HeapFree(h, 0, big));
    CHECK(HeapFree(h, 0, a));
    CHECK(HeapFree(h, 0, b));
    CHECK(HeapDestroy(h));
}

static void test_information(void)
{
    ULONG info = 0xdeadbeef;
    SIZE_T size = 0;
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);

#ifndef _WIN32 /* Windows' results; Wine differs */
    CHECK_FAILS(HeapQueryInformation(0, HeapCompatibilityInformation, &info, sizeof(info), &size),
                ERROR_NOACCESS);
#endif
    CHECK_FAILS(HeapQueryInformation(h, HeapCompatibilityInformation, NULL, 0, &size),
                ERROR_INSUFFICIENT_BUFFER);
    CHECK_EQ(size, sizeof(ULONG));
    CHECK_FAILS(HeapQueryInformation(h, HeapCompatibilityInformation, NULL, 0, NULL),
                ERROR_INSUFFICIENT_BUFFER);
    CHECK(HeapQueryInformation(h, HeapCompatibilityInformation, &info, sizeof(info) + 1, NULL));
    CHECK_EQ(info, 0);
    info = 2;
    CHECK(HeapSetInformation(h, HeapCompatibilityInformation, &info, sizeof(info)));
#ifndef _WIN32
    CHECK(HeapQueryInformation(h, HeapCompatibilityInformation, &info, sizeof(info), &size));
    CHECK_EQ(info, 2);
    info = 0; /* cannot be undone */
    CHECK_FAILS(HeapSetInformation(h, HeapCompatibilityInformation, &info, sizeof(info)),
                ERROR_GEN_FAILURE);
    info = 1;
    CHECK_FAILS(HeapSetInformation(h, HeapCompatibilityInformation, &info, sizeof(info)),
                ERROR_GEN_FAILURE);
#endif
    CHECK(HeapDestroy(h));

    /* some allocation pattern turns the low-fragmentation heap on by itself */
    h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    void *ptrs[0x12];
    for (int i = 0; i < 0x12; i++)
        ptrs[i] = HeapAlloc(h, 0, 0);
    for (int i = 0; i < 0x12; i++)
        HeapFree(h, 0, ptrs[i]);
    CHECK(HeapQueryInformation(h, HeapCompatibilityInformation, &info, sizeof(info), &size));
#ifndef _WIN32
    CHECK_EQ(info, 2);
#endif
    CHECK(HeapDestroy(h));
}

static void test_lock_noserialize(void)
{
    HANDLE h = HeapCreate(HEAP_NO_SERIALIZE, 0, 0);
    REQUIRE_VOID(h);
    CHECK(HeapLock(h));
    void *p = HeapAlloc(h, 0, 100);
    CHECK(p != NULL);
    CHECK(HeapFree(h, 0, p));
    CHECK(HeapUnlock(h));
    CHECK(HeapDestroy(h));

    h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    CHECK(HeapLock(h));
    CHECK(HeapLock(h)); /* recursive, like a critical section */
    p = HeapAlloc(h, HEAP_NO_SERIALIZE, 100);
    CHECK(p != NULL);
    CHECK(HeapFree(h, 0, p));
    CHECK(HeapUnlock(h));
    CHECK(HeapUnlock(h));
    CHECK(HeapDestroy(h));
}

#ifndef _WIN32
static DWORD seen_code, seen_nparams;
static ULONG_PTR seen_param0;

static LONG CALLBACK on_no_memory(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode != (DWORD)0xC0000017)
        return EXCEPTION_CONTINUE_SEARCH;
    seen_code = ep->ExceptionRecord->ExceptionCode;
    seen_nparams = ep->ExceptionRecord->NumberParameters;
    seen_param0 = ep->ExceptionRecord->ExceptionInformation[0];
    return EXCEPTION_CONTINUE_EXECUTION;
}

/* Continuing from the handler makes HeapAlloc return NULL [I: the record is filled as Windows
 * does, flags 0]; Wine 8 spins when a handler continues from it, so this runs on Linux only. */
static void test_generate_exceptions(void)
{
    PVOID veh = AddVectoredExceptionHandler(1, on_no_memory);
    REQUIRE_VOID(veh);
    HANDLE h = HeapCreate(HEAP_GENERATE_EXCEPTIONS, 0x10000, 0x10000);
    REQUIRE_VOID(h);
    seen_code = 0;
    CHECK(HeapAlloc(h, 0, 0x20000) == NULL);
#ifndef _WIN32 /* documented for a heap created with the flag; Wine raises only per call */
    CHECK_EQ(seen_code, 0xC0000017);
    CHECK_EQ(seen_nparams, 1);
    CHECK_EQ(seen_param0, 0x20000);
#endif
    CHECK(HeapDestroy(h));

    /* per call, on a heap without the flag; without it, NULL and the last error */
    h = HeapCreate(0, 0x10000, 0x10000);
    REQUIRE_VOID(h);
    seen_code = 0;
    CHECK(HeapAlloc(h, HEAP_GENERATE_EXCEPTIONS, 0x30000) == NULL);
    CHECK_EQ(seen_code, 0xC0000017); /* Wine fills the record the same way */
    CHECK_EQ(seen_nparams, 1);
    CHECK_EQ(seen_param0, 0x30000);
    seen_code = 0;
    CHECK_FAILS(HeapAlloc(h, 0, 0x30000), ERROR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(seen_code, 0);
    CHECK(HeapDestroy(h));
    RemoveVectoredExceptionHandler(veh);
}

#endif

static void test_execute(void)
{
    HANDLE h = HeapCreate(HEAP_CREATE_ENABLE_EXECUTE, 0, 0);
    REQUIRE_VOID(h);
    BYTE *p = HeapAlloc(h, 0, 64);
    REQUIRE_VOID(p);
    CHECK_EQ(at_protect(p), PAGE_EXECUTE_READWRITE);
#if defined(__x86_64__) || defined(_M_X64)
    static const BYTE code[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 }; /* mov eax, 42; ret */
    memcpy(p, code, sizeof(code));
    int (*fn)(void);
    memcpy(&fn, &p, sizeof(fn));
    CHECK_EQ(fn(), 42);
#endif
    CHECK(HeapFree(h, 0, p));
    CHECK(HeapDestroy(h));
    h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    p = HeapAlloc(h, 0, 64);
    CHECK_EQ(at_protect(p), PAGE_READWRITE);
    CHECK(HeapDestroy(h));
}

/* HeapDestroy hands back every region and every large block. */
static void test_destroy_returns_pages(void)
{
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    void *big = HeapAlloc(h, 0, 4 * BIG);
    void *many[200];
    for (int i = 0; i < 200; i++)
        many[i] = HeapAlloc(h, 0, 16000); /* several regions */
    REQUIRE_VOID(big && many[199]);
    CHECK(HeapDestroy(h));
    CHECK(gone(h));
    CHECK(gone(big));
    for (int i = 0; i < 200; i++)
        if (!gone(many[i]))
            WMT_FAIL("block %d at %p still mapped", i, many[i]);
    CHECK_FAILS(HeapDestroy(GetProcessHeap()), ERROR_INVALID_HANDLE);
    void *p = HeapAlloc(GetProcessHeap(), 0, 10);
    CHECK(p != NULL);
    CHECK(HeapFree(GetProcessHeap(), 0, p));
}

#if !defined(_WIN32) && !defined(HEAP_SANITIZED)
static long rss_kib(void)
{
    long pages = 0, rss = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = -1;
        fclose(f);
    }
    return rss * 4; /* pages of 4 KiB: x86-64 and the usual arm64 kernels */
}

/* The resident memory a heap took comes back with HeapDestroy, and with HeapCompact after
 * freeing everything. */
static void test_rss(void)
{
    enum { N = 32768 };
    static void *v[N];
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    for (int round = 0; round < 2; round++) {
        long before = rss_kib();
        for (int i = 0; i < N; i++) {
            v[i] = HeapAlloc(h, 0, 1000);
            REQUIRE_VOID(v[i]);
            memset(v[i], 1, 1000);
        }
        long full = rss_kib();
        CHECK(full - before > 25000); /* about 32 MiB touched */
        if (round == 0) {
            int freed = 0;
            for (int i = 0; i < N; i++)
                freed += HeapFree(h, 0, v[i]) != FALSE;
            CHECK_EQ(freed, N);
            HeapCompact(h, 0);
        } else {
            CHECK(HeapDestroy(h));
        }
        long after = rss_kib();
        if (after - before > 2048)
            WMT_FAIL("round %d: %ld KiB of %ld still resident", round, after - before,
                     full - before);
    }
}

#endif

#ifndef _WIN32
/* The Rtl layer beneath, with ntdll's conventions (no last error; RtlDestroyHeap returns NULL
 * on success, RtlSizeHeap (SIZE_T)-1 for a pointer that is not a busy block). */
static void test_rtl(void)
{
    PVOID h = RtlCreateHeap(HEAP_GROWABLE, NULL, 0, 0, NULL, NULL);
    REQUIRE_VOID(h);
    CHECK(RtlCreateHeap(HEAP_GROWABLE, (PVOID)0x10000, 0, 0, NULL, NULL) == NULL);
    BYTE *p = RtlAllocateHeap(h, HEAP_ZERO_MEMORY, 100);
    REQUIRE_VOID(p);
    CHECK_EQ(p[99], 0);
    CHECK_EQ(RtlSizeHeap(h, 0, p), 100);
    CHECK_EQ(RtlSizeHeap(h, 0, p + 16), (SIZE_T)-1);
    p = RtlReAllocateHeap(h, 0, p, 5000);
    REQUIRE_VOID(p);
    CHECK_EQ(RtlSizeHeap(h, 0, p), 5000);
    CHECK(RtlValidateHeap(h, 0, p));
    CHECK(RtlLockHeap(h));
    CHECK(RtlUnlockHeap(h));
    PVOID heaps[64];
    ULONG n = RtlGetProcessHeaps(64, heaps);
    CHECK(n >= 2 && heaps[0] == GetProcessHeap());
    CHECK(RtlFreeHeap(h, 0, p));
    CHECK(!RtlFreeHeap(h, 0, p));
    CHECK(RtlFreeHeap(h, 0, NULL));
    CHECK(RtlDestroyHeap(h) == NULL);
    CHECK(RtlDestroyHeap(GetProcessHeap()) == GetProcessHeap());
    /* a fixed heap of ReserveSize */
    h = RtlCreateHeap(0, NULL, 0x20000, 0x10000, NULL, NULL);
    REQUIRE_VOID(h);
    CHECK(RtlAllocateHeap(h, 0, 0x30000) == NULL);
    CHECK(RtlAllocateHeap(h, 0, 0x1000) != NULL);
    CHECK(RtlDestroyHeap(h) == NULL);
}

/* winmem's promise beyond Windows (where these are undefined and may crash): a pointer that
 * is not a busy block of the heap is refused, never followed. */
static void test_bad_pointers(void)
{
    HANDLE h = HeapCreate(0, 0, 0), other = HeapCreate(0, 0, 0);
    char stackbuf[256];
    REQUIRE_VOID(h && other);
    BYTE *s = (BYTE *)(((ULONG_PTR)stackbuf + 63) & ~(ULONG_PTR)63);
    void *m = malloc(64);

    CHECK_FAILS(HeapFree(h, 0, s), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(HeapFree(h, 0, m), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(HeapFree(h, 0, (void *)0xdeadbe00), ERROR_INVALID_PARAMETER);
    CHECK_EQ(HeapSize(h, 0, s), (SIZE_T)-1);
    CHECK(HeapReAlloc(h, 0, m, 10) == NULL);
    free(m);

    BYTE *p = HeapAlloc(h, 0, 100), *q = HeapAlloc(other, 0, 100);
    REQUIRE_VOID(p && q);
    CHECK_FAILS(HeapFree(h, 0, q), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(HeapFree(h, 0, p + 16), ERROR_INVALID_PARAMETER);
    CHECK(HeapFree(h, 0, p));
    CHECK_FAILS(HeapFree(h, 0, p), ERROR_INVALID_PARAMETER); /* double free */
    CHECK_EQ(HeapSize(h, 0, p), (SIZE_T)-1);
    CHECK(HeapReAlloc(h, 0, p, 10) == NULL);
    CHECK(HeapValidate(h, 0, NULL));

    /* the same once the front end is on (cached blocks) */
    void *v[40];
    for (int i = 0; i < 40; i++)
        v[i] = HeapAlloc(h, 0, 48);
    for (int i = 0; i < 40; i++)
        CHECK(HeapFree(h, 0, v[i]));
    CHECK_FAILS(HeapFree(h, 0, v[7]), ERROR_INVALID_PARAMETER);
    CHECK_EQ(HeapSize(h, 0, v[7]), (SIZE_T)-1);

    /* large blocks */
    BYTE *big = HeapAlloc(h, 0, 4 * BIG);
    REQUIRE_VOID(big);
    CHECK_FAILS(HeapFree(h, 0, big + 16), ERROR_INVALID_PARAMETER);
    CHECK(HeapFree(h, 0, big));
    CHECK_FAILS(HeapFree(h, 0, big), ERROR_INVALID_PARAMETER);

    /* an overrun into the next block's header is found */
    BYTE *a = HeapAlloc(other, 0, 40), *b = HeapAlloc(other, 0, 40);
    REQUIRE_VOID(a && b);
    CHECK(HeapValidate(other, 0, NULL));
    SIZE_T room = (SIZE_T)(b - a);
    if (room > 40 && room < 256) {
        memset(a, 0x41, room); /* up to b's header, included */
        CHECK(!HeapValidate(other, 0, NULL));
        CHECK(!HeapValidate(other, 0, a));
        CHECK_FAILS(HeapFree(other, 0, b), ERROR_INVALID_PARAMETER);
        CHECK_FAILS(HeapFree(other, 0, a), ERROR_INVALID_PARAMETER);
    } else {
        WMT_FAIL("blocks not adjacent: %p %p", (void *)a, (void *)b);
    }
    CHECK(HeapDestroy(h));
    CHECK(HeapDestroy(other));
}
#endif

int main(void)
{
    at_init();
    test_create();
    test_border_cases();
    test_sizes_alignment();
    test_zero_realloc();
    test_fixed();
    test_walk();
    test_information();
    test_lock_noserialize();
#ifndef _WIN32
    test_generate_exceptions();
#endif
    test_execute();
    test_destroy_returns_pages();
#ifndef _WIN32
    test_bad_pointers();
    test_rtl();
#ifndef HEAP_SANITIZED
    test_rss();
#endif
#endif
    return wmt_report();
}
