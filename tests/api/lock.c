/*
 * lock.c - VirtualLock / VirtualUnlock conformance: committed pages lock, there is no lock
 * count, unlocking a page that is not locked is ERROR_NOT_LOCKED, pages that are not
 * accessible cannot be locked, and a guard page consumes its guard on the first attempt.
 */
#include "apitest.h"

static void test_basic(void)
{
    BYTE *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualAlloc(p, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    memset(p, 0x11, 4 * PAGE);

    /* Unlocking what was never locked. */
    CHECK_FAILS(VirtualUnlock(p, PAGE), ERROR_NOT_LOCKED);

    CHECK(VirtualLock(p, 4 * PAGE));
    /* Locking changes nothing VirtualQuery shows. */
    CHECK_REGION(p, p, p, PAGE_READWRITE, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_EQ(p[3 * PAGE], 0x11);

    /* No lock count: locking again and unlocking once leaves the pages unlocked. */
    CHECK(VirtualLock(p, 4 * PAGE));
    CHECK(VirtualUnlock(p, 4 * PAGE));
    CHECK_FAILS(VirtualUnlock(p, 4 * PAGE), ERROR_NOT_LOCKED);
    CHECK_FAILS(VirtualUnlock(p + PAGE, 1), ERROR_NOT_LOCKED);

    /* The unlock range need not match the lock range. */
    CHECK(VirtualLock(p, 4 * PAGE));
    CHECK(VirtualUnlock(p + PAGE, 2 * PAGE));
    CHECK_FAILS(VirtualUnlock(p + 2 * PAGE, PAGE), ERROR_NOT_LOCKED);
    CHECK(VirtualUnlock(p, PAGE));
    CHECK(VirtualUnlock(p + 3 * PAGE, 1)); /* an unaligned size names the page */
    CHECK_FAILS(VirtualUnlock(p + 3 * PAGE, PAGE), ERROR_NOT_LOCKED);

    /* Unaligned lock ranges cover every page they touch. */
    CHECK(VirtualLock(p + PAGE - 1, 2));
    CHECK(VirtualUnlock(p, 2 * PAGE));

    /* A range only partly locked: ERROR_NOT_LOCKED. */
    CHECK(VirtualLock(p, PAGE));
    CHECK_FAILS(VirtualUnlock(p, 2 * PAGE), ERROR_NOT_LOCKED);

    /* Protection changes and recommits of locked pages are allowed. */
    DWORD old;
    CHECK(VirtualLock(p, 2 * PAGE));
    CHECK(VirtualProtect(p, 2 * PAGE, PAGE_READONLY, &old));
    CHECK(VirtualAlloc(p, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    /* winmem's choice; Windows unverified (does a recommit keep the lock?) */
    CHECK(VirtualUnlock(p, 2 * PAGE));
    CHECK_EQ(p[PAGE], 0x11);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* MS: every page must be committed, and PAGE_NOACCESS pages cannot be locked. */
static void test_refused(void)
{
    BYTE *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualAlloc(p, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK(VirtualAlloc(p + 2 * PAGE, PAGE, MEM_COMMIT, PAGE_NOACCESS) == p + 2 * PAGE);

    /* winmem's choice for the codes below; Windows unverified (STATUS_ACCESS_VIOLATION) */
    CHECK_FAILS_NOCHANGE(VirtualLock(p + 4 * PAGE, PAGE), ERROR_NOACCESS, p, GRAN);
    CHECK_FAILS_NOCHANGE(VirtualLock(p + PAGE, 4 * PAGE), ERROR_NOACCESS, p, GRAN);
    CHECK_FAILS_NOCHANGE(VirtualLock(p + 2 * PAGE, PAGE), ERROR_NOACCESS, p, GRAN);
    CHECK_FAILS_NOCHANGE(VirtualLock(p, 3 * PAGE), ERROR_NOACCESS, p, GRAN);
    /* A refused lock locked nothing, not even the good pages at the front. */
    CHECK_FAILS(VirtualUnlock(p, PAGE), ERROR_NOT_LOCKED);
    /* Unlocking reserved pages: they are not locked. */
    CHECK_FAILS(VirtualUnlock(p + 4 * PAGE, PAGE), ERROR_NOT_LOCKED);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* Free memory. */
    /* winmem's choice; Windows unverified */
    CHECK_FAILS(VirtualLock(p, PAGE), ERROR_NOACCESS);
    /* Not established either way: MS says ERROR_NOT_LOCKED for any page that is not
     * locked, winmem reports the free page as an invalid access. */
    SetLastError(0xdeadbeef);
    CHECK(!VirtualUnlock(p, PAGE));
    CHECK(GetLastError() == ERROR_NOT_LOCKED || GetLastError() == ERROR_NOACCESS);
}

/* A guard page in the range: the first VirtualLock fails with the status itself as the
 * last error and consumes the guard; the second one succeeds. */
static void test_guard(void)
{
    BYTE *p = VirtualAlloc(NULL, 2 * PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
    CHECK_EQ(at_protect(p + PAGE), PAGE_READWRITE | PAGE_GUARD);

    CHECK_FAILS(VirtualLock(p, 2 * PAGE), (DWORD)STATUS_GUARD_PAGE_VIOLATION);
    CHECK_REGION(p, p, p, PAGE_READWRITE, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK(VirtualLock(p, 2 * PAGE));
    CHECK(VirtualUnlock(p, 2 * PAGE));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* Allocated as a guard page from the start. */
    p = VirtualAlloc(NULL, PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY | PAGE_GUARD);
    REQUIRE_VOID(p != NULL);
    CHECK_REGION(p, p, p, PAGE_READONLY | PAGE_GUARD, PAGE, MEM_COMMIT, PAGE_READONLY | PAGE_GUARD,
                 MEM_PRIVATE);
    CHECK_FAILS(VirtualLock(p, PAGE), (DWORD)STATUS_GUARD_PAGE_VIOLATION);
    CHECK_REGION(p, p, p, PAGE_READONLY | PAGE_GUARD, PAGE, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    CHECK(VirtualLock(p, PAGE));
    CHECK(VirtualUnlock(p, PAGE));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* Releasing or decommitting locked memory is allowed. */
static void test_free_locked(void)
{
    BYTE *p = VirtualAlloc(NULL, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualLock(p, 2 * PAGE));
    CHECK(VirtualFree(p + PAGE, PAGE, MEM_DECOMMIT));
    CHECK_EQ(at_state(p + PAGE), MEM_RESERVE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_EQ(at_state(p), MEM_FREE);
}

int main(void)
{
    at_init();
    test_basic();
    test_guard();
    test_refused();
    test_free_locked();
    return wmt_report();
}
