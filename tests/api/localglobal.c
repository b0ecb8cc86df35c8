/*
 * localglobal.c - LocalAlloc ... LocalHandle and the Global* twins: fixed blocks (the handle
 * is the address), moveable blocks behind a handle with a lock count, discarded blocks,
 * LocalReAlloc / GlobalReAlloc with and without LMEM_MODIFY, the 65,536-handle table, and
 * the errors for stale handles and pointers that are no block.  The facts are Microsoft's
 * documentation and results recorded on Windows (where Local and Global differ, both are
 * checked).
 */
#include "apitest.h"

/* Windows' handle layout: a moveable handle is the address of the second word of a
 * {flags, pointer} entry, 16-byte aligned on 64-bit. */
struct mem_entry {
    ULONG_PTR flags;
    void *ptr;
};

static int is_entry(HLOCAL h)
{
    return ((ULONG_PTR)h & ((sizeof(void *) << 1) - 1)) == sizeof(void *);
}

static struct mem_entry *entry_of(HLOCAL h)
{
    return (struct mem_entry *)((char *)h - sizeof(ULONG_PTR));
}

static void test_fixed(void)
{
    CHECK(LocalFree(NULL) == NULL);
    CHECK(GlobalFree(NULL) == NULL);

    BYTE *p = LocalAlloc(LMEM_FIXED | LMEM_ZEROINIT, 100);
    REQUIRE_VOID(p);
    CHECK(!is_entry(p));
    CHECK_EQ((ULONG_PTR)p & 15, 0);
    CHECK_EQ(LocalSize(p), 100);
    CHECK_EQ(LocalFlags(p), 0);
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= p[i] == 0;
    CHECK(zero);
    CHECK(LocalLock(p) == p);
    CHECK_FAILS(LocalUnlock(p), ERROR_NOT_LOCKED);
    CHECK(LocalHandle(p) == p);
    /* LMEM_MODIFY on a fixed block: the same block, nothing changes, never moveable. */
    CHECK(LocalReAlloc(p, 10, LMEM_MODIFY) == p);
    CHECK(LocalReAlloc(p, 0, LMEM_MODIFY | LMEM_MOVEABLE) == p);
    CHECK_EQ(LocalSize(p), 100);
    CHECK(LocalFree(p) == NULL);

    /* A 0-byte fixed block: Local gives 0 bytes, Global 1. */
    p = LocalAlloc(LMEM_FIXED, 0);
    REQUIRE_VOID(p);
    CHECK_EQ(LocalSize(p), 0);
    CHECK(LocalFree(p) == NULL);
    p = GlobalAlloc(GMEM_FIXED, 0);
    REQUIRE_VOID(p);
    CHECK_EQ(GlobalSize(p), 1);
    CHECK(GlobalFree(p) == NULL);

    /* GlobalUnlock of a fixed block succeeds (it was never locked). */
    p = GlobalAlloc(GMEM_FIXED, 100);
    REQUIRE_VOID(p);
    CHECK(GlobalUnlock(p));
    CHECK(GlobalHandle(p) == p);
    CHECK(GlobalLock(p) == p);
    CHECK(GlobalFree(p) == NULL);

    /* A plain heap block is a fixed block too. */
    void *hp = HeapAlloc(GetProcessHeap(), 0, 16);
    REQUIRE_VOID(hp);
    CHECK(LocalHandle(hp) == hp);
    CHECK(GlobalHandle(hp) == hp);
    CHECK(HeapFree(GetProcessHeap(), 0, hp));
}

static void test_fixed_realloc(void)
{
    /* Without LMEM_MOVEABLE a fixed block may only change in place. */
    BYTE *p = LocalAlloc(LMEM_FIXED, 12);
    REQUIRE_VOID(p);
    memset(p, 0x5a, 12);
    BYTE *q = LocalReAlloc(p, 4096, LMEM_MOVEABLE);
    REQUIRE_VOID(q);
    CHECK(!is_entry(q));
    CHECK_EQ(LocalSize(q), 4096);
    CHECK_EQ(q[11], 0x5a);
    CHECK(LocalFree(q) == NULL);

    /* A resize that asks for LMEM_DISCARDABLE is refused and changes nothing. */
    p = LocalAlloc(LMEM_FIXED, 64);
    REQUIRE_VOID(p);
    SetLastError(0xdeadbeef);
    CHECK(LocalReAlloc(p, 128, LMEM_MOVEABLE | LMEM_DISCARDABLE) == NULL);
    CHECK_EQ(LocalSize(p), 64);
    CHECK(LocalFree(p) == NULL);

    /* LMEM_ZEROINIT zeroes what a resize adds. */
    p = LocalAlloc(LMEM_FIXED, 100);
    REQUIRE_VOID(p);
    memset(p, 0xff, 100);
    q = LocalReAlloc(p, 200000, LMEM_MOVEABLE | LMEM_ZEROINIT);
    REQUIRE_VOID(q);
    int ok = q[99] == 0xff;
    for (int i = 100; i < 200000; i++)
        ok &= q[i] == 0;
    CHECK(ok);
    CHECK(LocalFree(q) == NULL);

    /* GlobalReAlloc(GMEM_MODIFY | GMEM_MOVEABLE) makes a fixed block moveable, contents and
     * size kept. */
    p = GlobalAlloc(GMEM_FIXED, 100);
    REQUIRE_VOID(p);
    memset(p, 0x33, 100);
    HGLOBAL g = GlobalReAlloc(p, 0, GMEM_MODIFY | GMEM_MOVEABLE);
    REQUIRE_VOID(g);
    CHECK(g != p);
    CHECK(is_entry(g));
    CHECK_EQ(GlobalSize(g), 100);
    BYTE *gp = GlobalLock(g);
    REQUIRE_VOID(gp);
    CHECK(gp != (BYTE *)g);
    CHECK_EQ(gp[0], 0x33);
    CHECK_EQ(gp[99], 0x33);
    CHECK_FAILS(GlobalUnlock(g), ERROR_SUCCESS);
    CHECK(GlobalFree(g) == NULL);
}

static void test_moveable(void)
{
    HLOCAL h = LocalAlloc(LMEM_MOVEABLE, 256);
    REQUIRE_VOID(h);
    CHECK(is_entry(h));
    CHECK_EQ(entry_of(h)->flags, 3);
    CHECK_EQ(LocalSize(h), 256);
    CHECK_EQ(LocalFlags(h), 0);
    BYTE *p = LocalLock(h);
    REQUIRE_VOID(p);
    CHECK(p != (BYTE *)h);
    CHECK(entry_of(h)->ptr == p);
    CHECK_EQ(entry_of(h)->flags, 0x10003);
    CHECK(LocalHandle(p) == h);
    CHECK_EQ(LocalFlags(h), 1);
    CHECK(LocalLock(h) == p);
    CHECK_EQ(LocalFlags(h), 2);
    CHECK(LocalUnlock(h));
    CHECK_EQ(LocalFlags(h), 1);
    /* The last unlock returns FALSE and says ERROR_SUCCESS; one more is ERROR_NOT_LOCKED. */
    CHECK_FAILS(LocalUnlock(h), ERROR_SUCCESS);
    CHECK_EQ(LocalFlags(h), 0);
    CHECK_FAILS(LocalUnlock(h), ERROR_NOT_LOCKED);
    CHECK(LocalFree(h) == NULL);

    /* The lock count stops at 255. */
    HGLOBAL g = GlobalAlloc(GMEM_MOVEABLE, 16);
    REQUIRE_VOID(g);
    for (int i = 0; i < 300; i++)
        GlobalLock(g);
    CHECK_EQ(GlobalFlags(g), 0xff);
    CHECK_EQ(entry_of(g)->flags, 0xff0003);
    int still = 1;
    for (int i = 0; i < 254; i++)
        still &= GlobalUnlock(g) != 0;
    CHECK(still);
    CHECK_FAILS(GlobalUnlock(g), ERROR_SUCCESS);
    CHECK_FAILS(GlobalUnlock(g), ERROR_NOT_LOCKED);
    /* A locked block is freed all the same. */
    GlobalLock(g);
    CHECK(GlobalFree(g) == NULL);

    /* Flags reported: the discardable attribute (each family its own bit), GMEM_DDESHARE. */
    h = LocalAlloc(LMEM_MOVEABLE | LMEM_DISCARDABLE, 4);
    REQUIRE_VOID(h);
    CHECK_EQ(LocalFlags(h), LMEM_DISCARDABLE);
    CHECK_EQ(entry_of(h)->flags, 7);
    CHECK(LocalFree(h) == NULL);
    g = GlobalAlloc(GMEM_MOVEABLE | GMEM_DISCARDABLE | GMEM_DDESHARE, 1);
    REQUIRE_VOID(g);
    CHECK_EQ(GlobalFlags(g), GMEM_DISCARDABLE | GMEM_DDESHARE);
    CHECK_EQ(entry_of(g)->flags, 0x8007);
    CHECK(GlobalFree(g) == NULL);
    h = LocalAlloc(LMEM_FIXED | LMEM_DISCARDABLE, 4);
    REQUIRE_VOID(h);
    CHECK(!is_entry(h));
    CHECK_EQ(LocalFlags(h), 0);
    CHECK(LocalFree(h) == NULL);
}

static void test_discarded(void)
{
    /* A moveable block of 0 bytes has no memory behind it. */
    HGLOBAL g = GlobalAlloc(GMEM_MOVEABLE | GMEM_DISCARDABLE, 0);
    REQUIRE_VOID(g);
    CHECK_EQ(entry_of(g)->flags, 0xf);
    CHECK(entry_of(g)->ptr == NULL);
    CHECK_EQ(GlobalSize(g), 0);
    CHECK_EQ(GlobalFlags(g), GMEM_DISCARDED | GMEM_DISCARDABLE);
    CHECK(GlobalFree(g) == NULL);

    HLOCAL h = LocalAlloc(LMEM_MOVEABLE | LMEM_ZEROINIT, 0);
    REQUIRE_VOID(h);
    CHECK_EQ(entry_of(h)->flags, 0xb);
    CHECK_FAILS(LocalLock(h), ERROR_DISCARDED);
    CHECK_EQ(LocalFlags(h), LMEM_DISCARDED);
    /* Resizing brings memory back; resizing to 0 with LMEM_MOVEABLE discards it again. */
    CHECK(LocalReAlloc(h, 10, LMEM_MOVEABLE) == h);
    CHECK_EQ(LocalSize(h), 10);
    CHECK_EQ(LocalFlags(h), 0);
    CHECK(LocalReAlloc(h, 0, LMEM_MOVEABLE) == h);
    CHECK_EQ(LocalSize(h), 0);
    CHECK(entry_of(h)->ptr == NULL);
    CHECK_EQ(entry_of(h)->flags, 0xb);
    CHECK(LocalReAlloc(h, 10, LMEM_MOVEABLE) == h);
    /* A locked block cannot be discarded. */
    BYTE *p = LocalLock(h);
    REQUIRE_VOID(p);
    CHECK(LocalDiscard(h) == NULL);
    CHECK(entry_of(h)->ptr == p);
    CHECK_FAILS(LocalUnlock(h), ERROR_SUCCESS);
    CHECK(LocalDiscard(h) == h);
    CHECK(GlobalDiscard(h) == h);
    CHECK(LocalFree(h) == NULL);
    CHECK_EQ(LocalSize(h), 0);
}

static void test_moveable_realloc(void)
{
    /* LMEM_MODIFY changes attributes only: same handle, same block, same size. */
    HLOCAL h = LocalAlloc(LMEM_MOVEABLE, 12);
    REQUIRE_VOID(h);
    void *before = entry_of(h)->ptr;
    CHECK(LocalReAlloc(h, 512, LMEM_MODIFY | LMEM_MOVEABLE | LMEM_DISCARDABLE) == h);
    CHECK(entry_of(h)->ptr == before);
    CHECK_EQ(entry_of(h)->flags, 7);
    CHECK_EQ(LocalSize(h), 12);
    /* Without LMEM_MODIFY, LMEM_DISCARDABLE refuses the resize. */
    CHECK(LocalReAlloc(h, 512, LMEM_MOVEABLE | LMEM_DISCARDABLE) == NULL);
    CHECK_EQ(LocalSize(h), 12);
    CHECK(LocalFree(h) == NULL);

    /* Unlocked, a moveable block is resized (and may move) whatever the flags. */
    h = LocalAlloc(LMEM_MOVEABLE, 12);
    REQUIRE_VOID(h);
    BYTE *p = LocalLock(h);
    REQUIRE_VOID(p);
    memset(p, 0x42, 12);
    LocalUnlock(h);
    CHECK(LocalReAlloc(h, 5000, 0) == h);
    CHECK_EQ(LocalSize(h), 5000);
    p = LocalLock(h);
    REQUIRE_VOID(p);
    CHECK_EQ(p[11], 0x42);
    /* Locked: only in place without LMEM_MOVEABLE (a shrink is in place). */
    CHECK(LocalReAlloc(h, 10, 0) == h);
    CHECK(entry_of(h)->ptr == p);
    CHECK_EQ(LocalSize(h), 10);
    /* Locked, with LMEM_MOVEABLE: may move, and LocalLock's count is kept. */
    CHECK(LocalReAlloc(h, 100000, LMEM_MOVEABLE | LMEM_ZEROINIT) == h);
    CHECK_EQ(LocalSize(h), 100000);
    CHECK_EQ(LocalFlags(h), 1);
    p = entry_of(h)->ptr;
    CHECK_EQ(p[9], 0x42);
    CHECK_EQ(p[99999], 0);
    /* Locked, size 0: refused whatever the flags (except LMEM_MODIFY). */
    CHECK(LocalReAlloc(h, 0, LMEM_MOVEABLE) == NULL);
    CHECK(LocalReAlloc(h, 0, 0) == NULL);
    CHECK(entry_of(h)->ptr == p);
    CHECK(LocalFree(h) == NULL);

    /* Unlocked, size 0 without LMEM_MOVEABLE: refused. */
    h = LocalAlloc(LMEM_MOVEABLE, 12);
    REQUIRE_VOID(h);
    CHECK(LocalReAlloc(h, 0, 0) == NULL);
    CHECK_EQ(LocalSize(h), 12);
    CHECK(LocalFree(h) == NULL);
}

static void test_invalid(void)
{
    /* A freed handle is caught by every call. */
    HLOCAL h = LocalAlloc(LMEM_MOVEABLE, 256);
    REQUIRE_VOID(h);
    CHECK(LocalFree(h) == NULL);
    SetLastError(0xdeadbeef);
    CHECK(LocalFree(h) == h);
    CHECK_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    SetLastError(0xdeadbeef);
    CHECK_EQ(LocalFlags(h), LMEM_INVALID_HANDLE);
    CHECK_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    CHECK_FAILS(LocalSize(h), ERROR_INVALID_HANDLE);
    CHECK_FAILS(LocalLock(h), ERROR_INVALID_HANDLE);
    CHECK_FAILS(LocalUnlock(h), ERROR_INVALID_HANDLE);
    CHECK_FAILS(LocalReAlloc(h, 0, LMEM_MOVEABLE), ERROR_INVALID_HANDLE);
#ifndef _WIN32
    /* Windows: GlobalUnlock of a stale handle returns TRUE with the error set (Wine returns
     * FALSE). */
    SetLastError(0xdeadbeef);
    CHECK(GlobalUnlock(h) != 0);
    CHECK_EQ(GetLastError(), ERROR_INVALID_HANDLE);
#endif
    SetLastError(0xdeadbeef);
    CHECK_EQ(GlobalFlags(h), GMEM_INVALID_HANDLE);
    CHECK_EQ(GetLastError(), ERROR_INVALID_HANDLE);

    /* A handle-shaped value that never was one. */
    HLOCAL bad = (HLOCAL)(ULONG_PTR)(0xdeadbee0 + sizeof(void *));
    SetLastError(0xdeadbeef);
    CHECK(LocalFree(bad) == bad);
    CHECK_EQ(GetLastError(), ERROR_INVALID_HANDLE);
    CHECK_FAILS(GlobalLock(bad), ERROR_INVALID_HANDLE);
    CHECK_FAILS(GlobalSize(bad), ERROR_INVALID_HANDLE);
    CHECK_FAILS(GlobalReAlloc(bad, 0, GMEM_MOVEABLE), ERROR_INVALID_HANDLE);

    /* A pointer that is no block. */
    void *badp = (void *)(ULONG_PTR)0xdeadbee0;
    CHECK_FAILS(LocalSize(badp), ERROR_INVALID_HANDLE);
    CHECK_FAILS(GlobalSize(badp), ERROR_INVALID_HANDLE);
#ifndef _WIN32
    CHECK_FAILS(GlobalLock(badp), ERROR_INVALID_HANDLE); /* Wine leaves the error alone */
#endif
    CHECK_FAILS(GlobalHandle(badp), ERROR_INVALID_HANDLE);
    SetLastError(0xdeadbeef);
    CHECK(LocalLock(badp) == NULL);
    CHECK_EQ(GetLastError(), 0xdeadbeef);
    CHECK_FAILS(LocalUnlock(badp), ERROR_NOT_LOCKED);
    SetLastError(0xdeadbeef);
    CHECK(GlobalUnlock(badp) != 0);
    CHECK_EQ(GetLastError(), 0xdeadbeef);
#ifndef _WIN32
    /* Windows reports these with ERROR_NOACCESS (Wine differs). */
    SetLastError(0xdeadbeef);
    CHECK(LocalFree(badp) == badp);
    CHECK_EQ(GetLastError(), ERROR_NOACCESS);
    CHECK_FAILS(LocalHandle(badp), ERROR_NOACCESS);
    SetLastError(0xdeadbeef);
    CHECK_EQ(LocalFlags(badp), LMEM_INVALID_HANDLE);
    CHECK_EQ(GetLastError(), ERROR_NOACCESS);
    CHECK_FAILS(LocalReAlloc(badp, 0, LMEM_MOVEABLE), ERROR_NOACCESS);
#endif
}

static HLOCAL handles[0x10000];

static void test_table_limit(void)
{
    /* 65,536 moveable handles at once, then ERROR_NOT_ENOUGH_MEMORY; fixed blocks go on. */
    int n = 0;
    while (n < 0x10000 && (handles[n] = LocalAlloc(LMEM_MOVEABLE | LMEM_DISCARDABLE, 0)))
        n++;
    /* Other code in the process may hold a few. */
    CHECK(n > 0x10000 - 64);
    CHECK_FAILS(LocalAlloc(LMEM_MOVEABLE | LMEM_DISCARDABLE, 0), ERROR_NOT_ENOUGH_MEMORY);
    CHECK_FAILS(GlobalAlloc(GMEM_MOVEABLE, 16), ERROR_NOT_ENOUGH_MEMORY);
    HLOCAL f = LocalAlloc(LMEM_DISCARDABLE, 0);
    CHECK(f != NULL);
    CHECK(LocalFree(f) == NULL);
    int freed = 1;
    for (int i = 0; i < n; i++)
        freed &= LocalFree(handles[i]) == NULL;
    CHECK(freed);
    /* A freed entry reads nonzero flags and a NULL pointer. */
    CHECK(entry_of(handles[0])->flags != 0);
    CHECK(entry_of(handles[0])->ptr == NULL);
    HLOCAL again = LocalAlloc(LMEM_MOVEABLE, 8);
    CHECK(again != NULL);
    CHECK(LocalFree(again) == NULL);
}

int main(void)
{
    at_init();
    test_fixed();
    test_fixed_realloc();
    test_moveable();
    test_discarded();
    test_moveable_realloc();
    test_invalid();
    test_table_limit();
    return wmt_report();
}
