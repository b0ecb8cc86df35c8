/*
 * alloc.c - VirtualAlloc conformance: reserve and commit, 64 KiB alignment and rounding,
 * recommit and decommit semantics, MEM_RESET / MEM_RESET_UNDO, MEM_TOP_DOWN,
 * MEM_LARGE_PAGES, and the bad inputs Windows refuses (each checked to change nothing).
 */
#include "apitest.h"

/* A 64 KiB aligned stretch of n granules that is free now (reserved, then released). */
static BYTE *free_area(SIZE_T n)
{
    BYTE *p = VirtualAlloc(NULL, n * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    if (p)
        VirtualFree(p, 0, MEM_RELEASE);
    return p;
}

static void test_reserve(void)
{
    /* Size rounded up to whole pages, base on the allocation granularity. */
    BYTE *p = VirtualAlloc(NULL, 0xfffc, MEM_RESERVE, PAGE_READWRITE);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK_EQ((ULONG_PTR)p % GRAN, 0);
    CHECK_REGION(p, p, p, PAGE_READWRITE, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_REGION(p + 0x1234, p + 0x1000, p, PAGE_READWRITE, 0xf000, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_EQ(at_state(p), MEM_FREE);
    /* A released address can be reserved again at exactly that place. */
    CHECK(VirtualAlloc(p, 0x10000, MEM_RESERVE, PAGE_NOACCESS) == p);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* One page: the allocation is one page long, the rest of the granule stays free. */
    p = VirtualAlloc(NULL, 1, MEM_RESERVE, PAGE_READONLY);
    CHECK(p != NULL);
    CHECK_REGION(p, p, p, PAGE_READONLY, PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* A given reservation address is rounded down to 64 KiB; the size then runs from there to
 * the end of the last page the request touched. */
static void test_reserve_rounding(void)
{
    static const struct {
        SIZE_T off, size;
    } cases[] = { { 0x1010, 0x1000 }, { 0x8000, 1 }, { 0xffff, 0x3000 }, { 0, 0x10001 } };
    BYTE *area = free_area(3);
    REQUIRE_VOID(area != NULL);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SIZE_T want = (cases[i].off + cases[i].size + PAGE - 1) / PAGE * PAGE;
        BYTE *p = VirtualAlloc(area + cases[i].off, cases[i].size, MEM_RESERVE, PAGE_READWRITE);
        CHECK(p == area);
        if (p != area)
            continue;
        CHECK_REGION(p, p, p, PAGE_READWRITE, want, MEM_RESERVE, 0, MEM_PRIVATE);
        CHECK(VirtualFree(p, 0, MEM_RELEASE));
    }
}

static void test_commit(void)
{
    BYTE *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(p != NULL);

    /* Commit addresses are rounded to pages, not to the granularity. */
    BYTE *c = VirtualAlloc(p + PAGE + 0x10, PAGE, MEM_COMMIT, PAGE_READWRITE);
    CHECK(c == p + PAGE);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_REGION(p + PAGE, p + PAGE, p, PAGE_NOACCESS, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE,
                 MEM_PRIVATE);
    CHECK_REGION(p + 3 * PAGE, p + 3 * PAGE, p, PAGE_NOACCESS, 0x10000 - 3 * PAGE, MEM_RESERVE, 0,
                 MEM_PRIVATE);
    /* Fresh pages read zero. */
    CHECK_EQ(c[0] | c[2 * PAGE - 1], 0);
    memset(c, 0x5a, 2 * PAGE);

    /* Committing committed pages succeeds, keeps the data and changes the protection. */
    CHECK(VirtualAlloc(p + PAGE, 2 * PAGE, MEM_COMMIT, PAGE_READONLY) == p + PAGE);
    CHECK_REGION(p + PAGE, p + PAGE, p, PAGE_NOACCESS, 2 * PAGE, MEM_COMMIT, PAGE_READONLY,
                 MEM_PRIVATE);
    CHECK_EQ(c[0], 0x5a);
    CHECK_EQ(c[2 * PAGE - 1], 0x5a);

    /* Committing across committed and reserved pages: all take the new protection. */
    CHECK(VirtualAlloc(p, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_EQ(c[PAGE], 0x5a);

    /* Decommitted pages read zero once committed again. */
    CHECK(VirtualFree(p + PAGE, PAGE, MEM_DECOMMIT));
    CHECK_EQ(at_state(p + PAGE), MEM_RESERVE);
    CHECK(VirtualAlloc(p + PAGE, PAGE, MEM_COMMIT, PAGE_READWRITE) == p + PAGE);
    CHECK_EQ(c[0], 0);
    CHECK_EQ(c[PAGE - 1], 0);
    CHECK_EQ(c[PAGE], 0x5a); /* the neighbour kept its data */
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* MEM_COMMIT with no address reserves as well; MEM_RESERVE|MEM_COMMIT likewise. */
static void test_commit_null(void)
{
    BYTE *p = VirtualAlloc(NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    CHECK_EQ((ULONG_PTR)p % GRAN, 0);
    CHECK_REGION(p, p, p, PAGE_READWRITE, 0x2000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_EQ(at_state(p + 0x2000), MEM_FREE);
    p[0x1fff] = 1;
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    p = VirtualAlloc(NULL, 0x1800, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    REQUIRE_VOID(p != NULL);
    CHECK_REGION(p, p, p, PAGE_EXECUTE_READWRITE, 0x2000, MEM_COMMIT, PAGE_EXECUTE_READWRITE,
                 MEM_PRIVATE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_reset(void)
{
    BYTE *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    memset(p, 0x55, PAGE);

    /* The protection argument is ignored: the page stays committed read/write. */
    CHECK(VirtualAlloc(p, PAGE, MEM_RESET, PAGE_NOACCESS) == p);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK(p[0] == 0x55 || p[0] == 0);
    p[0] = 0x55; /* still writable */

    /* Reserved pages are accepted and stay reserved. */
    CHECK(VirtualAlloc(p + PAGE, PAGE, MEM_RESET, PAGE_NOACCESS) == p + PAGE);
    CHECK_REGION(p + PAGE, p + PAGE, p, PAGE_NOACCESS, 0x10000 - PAGE, MEM_RESERVE, 0, MEM_PRIVATE);

    /* A range running past the allocation is refused and changes nothing. */
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p + 0xf000, 0x2000, MEM_RESET, PAGE_NOACCESS),
                         ERROR_INVALID_ADDRESS, p, 0x10000);
    /* MEM_RESET stands alone (MS: "cannot be used with any other value"). */
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p, PAGE, MEM_RESET | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER, p, 0x10000);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p, PAGE, MEM_RESET | MEM_RESET_UNDO, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER, p, 0x10000);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p, PAGE, MEM_RESET_UNDO | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER, p, 0x10000);
    /* ... and still needs a valid protection value (MS). */
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p, PAGE, MEM_RESET, 0), ERROR_INVALID_PARAMETER, p, 0x10000);

    /* MEM_RESET_UNDO right after MEM_RESET: either the data survived and the call succeeds,
     * or it reports the loss; the pages stay committed and usable either way. */
    memset(p, 0x77, PAGE);
    CHECK(VirtualAlloc(p, PAGE, MEM_RESET, PAGE_READWRITE) == p);
    SetLastError(0xdeadbeef);
    BYTE *u = VirtualAlloc(p, PAGE, MEM_RESET_UNDO, PAGE_READWRITE);
    if (u) {
        CHECK(u == p);
        CHECK_EQ(p[0], 0x77);
        CHECK_EQ(p[PAGE - 1], 0x77);
    } else {
        /* winmem's choice; Windows unverified */
        CHECK_EQ(GetLastError(), ERROR_INVALID_ADDRESS);
    }
    CHECK_EQ(at_state(p), MEM_COMMIT);
    CHECK_EQ(at_protect(p), PAGE_READWRITE);
    p[1] = 1;
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* Free memory cannot be reset. */
    /* winmem's choice; Windows unverified */
    CHECK_FAILS(VirtualAlloc(p, PAGE, MEM_RESET, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
}

static void test_top_down(void)
{
    BYTE *lo = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
    BYTE *hi = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    CHECK(lo != NULL);
    CHECK(hi != NULL);
    if (hi) {
        CHECK_EQ((ULONG_PTR)hi % GRAN, 0);
        CHECK_REGION(hi, hi, hi, PAGE_READWRITE, GRAN, MEM_RESERVE, 0, MEM_PRIVATE);
    }
    /* "Allocates memory at the highest possible address" (MS). */
    CHECK((ULONG_PTR)hi > (ULONG_PTR)lo);
    VirtualFree(lo, 0, MEM_RELEASE);
    VirtualFree(hi, 0, MEM_RELEASE);

    BYTE *c = VirtualAlloc(NULL, PAGE, MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
    CHECK(c != NULL);
    if (c) {
        CHECK_REGION(c, c, c, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
        VirtualFree(c, 0, MEM_RELEASE);
    }
    /* One of MEM_COMMIT, MEM_RESET or MEM_RESERVE must be set (MS NtAllocateVirtualMemory). */
    CHECK_FAILS(VirtualAlloc(NULL, GRAN, MEM_TOP_DOWN, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
}

static void test_large_pages(void)
{
    SIZE_T large = GetLargePageMinimum();
    const DWORD both = MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES;

    if (large == 0) {
        /* No large pages at all: the request cannot succeed. */
        CHECK_EQ(VirtualAlloc(NULL, 2 << 20, both, PAGE_READWRITE), NULL);
        return;
    }
    CHECK((large & (large - 1)) == 0);
    CHECK(large >= PAGE);
    /* MS: size a multiple of the minimum, and MEM_RESERVE|MEM_COMMIT both given. */
    /* winmem's choice; Windows unverified (the code without the privilege: 1314) */
    CHECK_EQ(VirtualAlloc(NULL, large + PAGE, both, PAGE_READWRITE), NULL);
    CHECK_EQ(VirtualAlloc(NULL, large, MEM_RESERVE | MEM_LARGE_PAGES, PAGE_READWRITE), NULL);
    CHECK_EQ(VirtualAlloc(NULL, large, MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE), NULL);

    SetLastError(0xdeadbeef);
    BYTE *p = VirtualAlloc(NULL, large, both, PAGE_READWRITE);
    if (p) {
        CHECK_EQ((ULONG_PTR)p % large, 0);
        CHECK_REGION(p, p, p, PAGE_READWRITE, large, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
        p[0] = 1;
        p[large - 1] = 2;
        CHECK(VirtualFree(p, 0, MEM_RELEASE));
    } else {
        /* No privilege (Windows) or no huge pages available (Linux). */
        DWORD e = GetLastError();
        CHECK(e == ERROR_PRIVILEGE_NOT_HELD || e == ERROR_NO_SYSTEM_RESOURCES ||
              e == ERROR_NOT_ENOUGH_MEMORY);
    }
}

static void test_bad_input(void)
{
    BYTE *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_READWRITE) == p);

#define BAD(call, err) CHECK_FAILS_NOCHANGE(call, err, p, 0x10000)
    /* Size 0. */
    BAD(VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_NOACCESS), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(NULL, 0, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(p + PAGE, 0, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* Protection 0. */
    BAD(VirtualAlloc(NULL, PAGE, MEM_RESERVE, 0), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(p + PAGE, PAGE, MEM_COMMIT, 0), ERROR_INVALID_PARAMETER);
    /* Unknown allocation-type bits: AT_ROUND_TO_PAGE (0x40000000) and stray low bits. */
    BAD(VirtualAlloc(NULL, PAGE, MEM_RESERVE | MEM_COMMIT | 0x40000000, PAGE_READWRITE),
        ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(NULL, PAGE, MEM_RESERVE | MEM_COMMIT | 0x1, PAGE_READWRITE),
        ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(p + PAGE, PAGE, MEM_COMMIT | 0x10, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* No MEM_RESERVE or MEM_COMMIT at all. */
    BAD(VirtualAlloc(NULL, PAGE, 0, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(p + PAGE, PAGE, 0, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(NULL, PAGE, MEM_WRITE_WATCH, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(NULL, PAGE, MEM_RELEASE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc(NULL, PAGE, MEM_DECOMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* Placeholders go through VirtualAlloc2 only. */
    BAD(VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS),
        ERROR_INVALID_PARAMETER);

    /* Below the lowest application address. */
    BAD(VirtualAlloc((void *)0xf000, PAGE, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc((void *)0x1000, PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
        ERROR_INVALID_PARAMETER);
    /* Above the highest (INFERRED: STATUS_INVALID_PARAMETER family). */
    ULONG_PTR above = (AT_MAXADDR + GRAN) & ~(ULONG_PTR)(GRAN - 1);
    BAD(VirtualAlloc((void *)above, GRAN, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    BAD(VirtualAlloc((void *)~(ULONG_PTR)0xffff, GRAN, MEM_RESERVE, PAGE_READWRITE),
        ERROR_INVALID_PARAMETER);
    /* Sizes no user address space can hold: a bad size (Wine agrees; ReactOS' NT tests, which
     * record old Windows, give STATUS_INVALID_PARAMETER_4). */
    /* winmem's choice; Windows unverified */
    BAD(VirtualAlloc(NULL, ~(SIZE_T)0 - 0xffff, MEM_RESERVE, PAGE_READWRITE),
        ERROR_INVALID_PARAMETER);
    /* winmem's choice; Windows unverified */
    BAD(VirtualAlloc(NULL, AT_MAXADDR + 1, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* A range that wraps past the top of the address space: address out of range. */
    /* winmem's choice; Windows unverified */
    BAD(VirtualAlloc(p, ~(SIZE_T)0 - 0x1000, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);

    /* Reserving over an existing reservation: at its base, inside it, or overlapping. */
    BAD(VirtualAlloc(p, GRAN, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    BAD(VirtualAlloc(p + PAGE, PAGE, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    BAD(VirtualAlloc(p + 0x8000, PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
        ERROR_INVALID_ADDRESS);
#undef BAD
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* A short allocation still owns its whole granule for reservations (RO: "reserve again
     * in the same 64k region"), while its tail reads as free. */
    BYTE *s = VirtualAlloc(NULL, 3 * PAGE, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(s != NULL);
    CHECK_FREE(s + 3 * PAGE, GRAN - 3 * PAGE);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(s + 8 * PAGE, PAGE, MEM_RESERVE, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS, s, GRAN);
    CHECK(VirtualFree(s, 0, MEM_RELEASE));

    /* A fixed range that starts below the top and ends above it. */
    /* winmem's choice; Windows unverified */
    ULONG_PTR top = (AT_MAXADDR + 1) & ~(ULONG_PTR)(GRAN - 1);
    CHECK_FAILS(VirtualAlloc((void *)(top - GRAN), 2 * GRAN, MEM_RESERVE, PAGE_READWRITE),
                ERROR_INVALID_PARAMETER);

    /* A reservation overlapping the start of another one. */
    BYTE *area = free_area(3);
    REQUIRE_VOID(area != NULL);
    BYTE *mid = VirtualAlloc(area + GRAN, GRAN, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(mid == area + GRAN);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(area, 2 * GRAN, MEM_RESERVE, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS, area, 3 * GRAN);
    CHECK_EQ(at_state(area), MEM_FREE);
    CHECK(VirtualFree(mid, 0, MEM_RELEASE));
}

/* MEM_WRITE_WATCH needs MEM_RESERVE, and then takes any initial protection (WK). */
static void test_write_watch_flag(void)
{
    CHECK_FAILS(VirtualAlloc(NULL, GRAN, MEM_WRITE_WATCH, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(VirtualAlloc(NULL, GRAN, MEM_WRITE_WATCH | MEM_COMMIT, PAGE_READWRITE),
                ERROR_INVALID_PARAMETER);
    static const DWORD prots[] = { PAGE_NOACCESS, PAGE_READWRITE, PAGE_READONLY };
    for (int i = 0; i < 3; i++) {
        BYTE *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_WRITE_WATCH, prots[i]);
        CHECK(p != NULL);
        if (p) {
            CHECK_REGION(p, p, p, prots[i], GRAN, MEM_RESERVE, 0, MEM_PRIVATE);
            VirtualFree(p, 0, MEM_RELEASE);
        }
    }
    BYTE *c = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    CHECK(c != NULL);
    if (c) {
        CHECK_REGION(c, c, c, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
        c[0] = 1;
        VirtualFree(c, 0, MEM_RELEASE);
    }
}

/* MEM_COMMIT at an address needs the whole range inside one reservation. */
static void test_commit_outside(void)
{
    BYTE *area = free_area(3);
    REQUIRE_VOID(area != NULL);

    /* Free memory. */
    CHECK_FAILS_NOCHANGE(VirtualAlloc(area, PAGE, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS, area, 3 * GRAN);
    CHECK_EQ(at_state(area), MEM_FREE);

    /* A three-page reservation: commit just past it, and commit across its end. */
    BYTE *p = VirtualAlloc(area, 3 * PAGE, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(p == area);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p + 3 * PAGE, PAGE, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS, p, GRAN);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p + 2 * PAGE, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS, p, GRAN);
    CHECK_EQ(at_state(p + 2 * PAGE), MEM_RESERVE); /* none of the pages was committed */
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* Two adjacent reservations: a commit covering both is refused. */
    BYTE *a = VirtualAlloc(area, GRAN, MEM_RESERVE, PAGE_READWRITE);
    BYTE *b = VirtualAlloc(area + GRAN, GRAN, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(a == area && b == area + GRAN);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(b - PAGE, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS, a, 2 * GRAN);
    CHECK_EQ(at_state(b - PAGE), MEM_RESERVE);
    CHECK_EQ(at_state(b), MEM_RESERVE);
    CHECK(VirtualFree(a, 0, MEM_RELEASE));
    CHECK(VirtualFree(b, 0, MEM_RELEASE));
}

/* A terabyte of address space costs nothing until it is committed. */
static void test_one_tib(void)
{
    const SIZE_T tib = WMT_HUGE;
    if (!wmt_room_for("test_one_tib", tib))
        return;
    BYTE *p = VirtualAlloc(NULL, tib, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    CHECK_EQ((ULONG_PTR)p % GRAN, 0);
    CHECK_REGION(p, p, p, PAGE_READWRITE, tib, MEM_RESERVE, 0, MEM_PRIVATE);
    BYTE *mid = p + tib / 2 + 3 * PAGE;
    CHECK(VirtualAlloc(mid, PAGE, MEM_COMMIT, PAGE_READWRITE) == mid);
    mid[7] = 7;
    CHECK_REGION(mid, mid, p, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(mid + PAGE, mid + PAGE, p, PAGE_READWRITE, (SIZE_T)(p + tib - (mid + PAGE)),
                 MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_EQ(at_state(mid), MEM_FREE);
}

int main(void)
{
    at_init();
    test_reserve();
    test_reserve_rounding();
    test_commit();
    test_commit_null();
    test_reset();
    test_top_down();
    test_large_pages();
    test_bad_input();
    test_write_watch_flag();
    test_commit_outside();
    test_one_tib();
    return wmt_report();
}
