/*
 * secure.c - MmSecureVirtualMemory / MmUnsecureVirtualMemory with no callback registered:
 * which ranges and probe modes can be secured, and what a secure refuses (VirtualFree of any
 * part, VirtualProtect dropping the probe mode's access) and allows (looser protections,
 * pages of the same allocation outside the secured range).  Every refusal is checked to
 * change nothing, at the Win32 level (ERROR_INVALID_PARAMETER) and the NT level
 * (STATUS_INVALID_PAGE_PROTECTION).  Linux only: see tests/CMakeLists.txt.
 */
#include "../api/apitest.h"

#include <ntddk.h>
#include <winternl.h>

#include <unistd.h>

#define FILL 0x5a

/* Every byte of [p, p+len) is v. */
static int filled(const BYTE *p, SIZE_T len, BYTE v)
{
    for (SIZE_T i = 0; i < len; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* A committed allocation of n pages with protection prot, filled with FILL when readable. */
static BYTE *commit(SIZE_T n, DWORD prot)
{
    BYTE *p = VirtualAlloc(NULL, n * PAGE, MEM_COMMIT, PAGE_READWRITE);
    DWORD old;
    if (!p)
        return NULL;
    memset(p, FILL, n * PAGE);
    if (prot != PAGE_READWRITE && !VirtualProtect(p, n * PAGE, prot, &old)) {
        VirtualFree(p, 0, MEM_RELEASE);
        return NULL;
    }
    return p;
}

static void test_arguments(void)
{
    BYTE *p = commit(2, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);

    CHECK_EQ(MmSecureVirtualMemory(p, 0, PAGE_READWRITE), NULL);
    CHECK_EQ(MmSecureVirtualMemory(NULL, PAGE, PAGE_READWRITE), NULL);
    CHECK_EQ(MmSecureVirtualMemory(NULL, PAGE, PAGE_READONLY), NULL);
    static const DWORD bad_modes[] = { 0,
                                       PAGE_NOACCESS,
                                       PAGE_EXECUTE,
                                       PAGE_EXECUTE_READ,
                                       PAGE_EXECUTE_READWRITE,
                                       PAGE_WRITECOPY,
                                       PAGE_READWRITE | PAGE_GUARD,
                                       PAGE_READONLY | PAGE_GUARD,
                                       PAGE_READONLY | PAGE_READWRITE };
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++)
        CHECK_EQ(MmSecureVirtualMemory(p, PAGE, bad_modes[i]), NULL);
    /* None of the above secured anything: the allocation frees. */
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* The range must be committed and accessible in the probe mode, every page of it. */
static void test_probe(void)
{
    BYTE *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualAlloc(p, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK(VirtualAlloc(p + 2 * PAGE, PAGE, MEM_COMMIT, PAGE_READONLY) == p + 2 * PAGE);
    CHECK(VirtualAlloc(p + 3 * PAGE, PAGE, MEM_COMMIT, PAGE_NOACCESS) == p + 3 * PAGE);
    CHECK(VirtualAlloc(p + 4 * PAGE, PAGE, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD) ==
          p + 4 * PAGE);
    /* p+5 pages on: reserved. */

    CHECK_EQ(MmSecureVirtualMemory(p + 5 * PAGE, PAGE, PAGE_READONLY), NULL);
    CHECK_EQ(MmSecureVirtualMemory(p + PAGE, 5 * PAGE, PAGE_READONLY), NULL);
    CHECK_EQ(MmSecureVirtualMemory(p + 2 * PAGE, PAGE, PAGE_READWRITE), NULL);
    CHECK_EQ(MmSecureVirtualMemory(p, 3 * PAGE, PAGE_READWRITE), NULL);
    CHECK_EQ(MmSecureVirtualMemory(p + 3 * PAGE, PAGE, PAGE_READONLY), NULL);
    CHECK_EQ(MmSecureVirtualMemory(p + 3 * PAGE, 1, PAGE_READWRITE), NULL);
    CHECK_EQ(MmSecureVirtualMemory(p + 4 * PAGE, PAGE, PAGE_READONLY), NULL);
    CHECK_EQ(MmSecureVirtualMemory(p + 4 * PAGE, PAGE, PAGE_READWRITE), NULL);
    /* The probe did not consume the guard. */
    CHECK_EQ(at_protect(p + 4 * PAGE), PAGE_READWRITE | PAGE_GUARD);
    /* A one-byte range over a page boundary names both pages. */
    CHECK_EQ(MmSecureVirtualMemory(p + 2 * PAGE - 1, 2, PAGE_READWRITE), NULL);

    /* Each good range secures, and an unsecured allocation can be freed again. */
    HANDLE a = MmSecureVirtualMemory(p, 2 * PAGE, PAGE_READWRITE);
    HANDLE b = MmSecureVirtualMemory(p + 2 * PAGE - 1, 2, PAGE_READONLY);
    HANDLE c = MmSecureVirtualMemory(p + 2 * PAGE, PAGE, PAGE_READONLY);
    CHECK(a != NULL);
    CHECK(b != NULL);
    CHECK(c != NULL);
    CHECK(a != b && b != c && a != c);
    /* An executable-readable page is readable. */
    CHECK(VirtualProtect(p + 3 * PAGE, PAGE, PAGE_EXECUTE_READ, &old));
    HANDLE d = MmSecureVirtualMemory(p + 3 * PAGE, PAGE, PAGE_READONLY);
    CHECK(d != NULL);
    CHECK_EQ(MmSecureVirtualMemory(p + 3 * PAGE, PAGE, PAGE_READWRITE), NULL);
    MmUnsecureVirtualMemory(a);
    MmUnsecureVirtualMemory(b);
    MmUnsecureVirtualMemory(c);
    MmUnsecureVirtualMemory(d);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    /* Free memory. */
    CHECK_EQ(MmSecureVirtualMemory(p, PAGE, PAGE_READONLY), NULL);
}

/* Memory winmem did not allocate. */
static const BYTE rodata[3 * 4096] = { 1 };

static void test_foreign(void)
{
    BYTE *heap = malloc(3 * PAGE);
    volatile BYTE stack[256];
    REQUIRE_VOID(heap != NULL);
    memset(heap, 1, 3 * PAGE);
    stack[0] = 1;

    HANDLE h1 = MmSecureVirtualMemory(heap, 3 * PAGE, PAGE_READWRITE);
    HANDLE h2 = MmSecureVirtualMemory(heap + PAGE, 1, PAGE_READONLY);
    HANDLE h3 = MmSecureVirtualMemory((PVOID)stack, sizeof(stack), PAGE_READWRITE);
    CHECK(h1 != NULL);
    CHECK(h2 != NULL);
    CHECK(h3 != NULL);
    /* Read-only data is readable but not writable. */
    const BYTE *ro = (const BYTE *)(((ULONG_PTR)rodata + PAGE - 1) & ~(ULONG_PTR)(PAGE - 1));
    HANDLE h4 = NULL;
    if (ro + PAGE <= rodata + sizeof(rodata)) {
        h4 = MmSecureVirtualMemory((PVOID)ro, PAGE, PAGE_READONLY);
        CHECK(h4 != NULL);
        CHECK_EQ(MmSecureVirtualMemory((PVOID)ro, PAGE, PAGE_READWRITE), NULL);
    }
    MmUnsecureVirtualMemory(h1);
    MmUnsecureVirtualMemory(h2);
    MmUnsecureVirtualMemory(h3);
    if (h4)
        MmUnsecureVirtualMemory(h4);
    free(heap);
}

/* What a secure in `mode` refuses and allows, on the middle two of six pages. */
static void test_refusals(DWORD mode)
{
    BYTE *p = commit(6, mode);
    REQUIRE_VOID(p != NULL);
    BYTE *s = p + 2 * PAGE;
    HANDLE h = MmSecureVirtualMemory(s, 2 * PAGE, mode);
    REQUIRE_VOID(h != NULL);
    DWORD old;

    CHECK_FAILS_NOCHANGE(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, p, 6 * PAGE);
    CHECK_FAILS_NOCHANGE(VirtualFree(p, 0, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p, 6 * PAGE);
    CHECK_FAILS_NOCHANGE(VirtualFree(s, PAGE, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p, 6 * PAGE);
    CHECK_FAILS_NOCHANGE(VirtualFree(s + 2 * PAGE - 1, 1, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p,
                         6 * PAGE);
    CHECK_FAILS_NOCHANGE(VirtualFree(p + PAGE, 2 * PAGE, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p,
                         6 * PAGE);

    /* Protections that drop the mode's access, on all of the range or one byte of it. */
    static const DWORD rw_tighter[] = { PAGE_NOACCESS, PAGE_READONLY, PAGE_EXECUTE,
                                        PAGE_EXECUTE_READ, PAGE_READWRITE | PAGE_GUARD };
    static const DWORD ro_tighter[] = { PAGE_NOACCESS, PAGE_EXECUTE, PAGE_READONLY | PAGE_GUARD,
                                        PAGE_EXECUTE_READ | PAGE_GUARD };
    const DWORD *tighter = mode == PAGE_READWRITE ? rw_tighter : ro_tighter;
    size_t ntighter = mode == PAGE_READWRITE ? 5 : 4;
    for (size_t i = 0; i < ntighter; i++) {
        old = 0xdeadbeef;
        CHECK_FAILS_NOCHANGE(VirtualProtect(p, 6 * PAGE, tighter[i], &old), ERROR_INVALID_PARAMETER,
                             p, 6 * PAGE);
        CHECK_FAILS_NOCHANGE(VirtualProtect(s + PAGE + 7, 1, tighter[i], &old),
                             ERROR_INVALID_PARAMETER, p, 6 * PAGE);
    }
    CHECK(filled(p, 6 * PAGE, FILL));

    /* The NT level says why. */
    PVOID a = p;
    SIZE_T n = 0;
    CHECK_EQ(NtFreeVirtualMemory(NtCurrentProcess(), &a, &n, MEM_RELEASE),
             STATUS_INVALID_PAGE_PROTECTION);
    a = s;
    n = PAGE;
    CHECK_EQ(NtFreeVirtualMemory(NtCurrentProcess(), &a, &n, MEM_DECOMMIT),
             STATUS_INVALID_PAGE_PROTECTION);
    a = s;
    n = 2 * PAGE;
    ULONG o;
    CHECK_EQ(NtProtectVirtualMemory(NtCurrentProcess(), &a, &n, PAGE_NOACCESS, &o),
             STATUS_INVALID_PAGE_PROTECTION);
    CHECK_EQ(a, s);
    CHECK_EQ(n, 2 * PAGE);
    CHECK_REGION(p, p, p, PAGE_READWRITE, 6 * PAGE, MEM_COMMIT, mode, MEM_PRIVATE);

    /* Looser protections keep the mode's access. */
    if (mode == PAGE_READWRITE) {
        CHECK(VirtualProtect(s, 2 * PAGE, PAGE_EXECUTE_READWRITE, &old));
        CHECK_EQ(old, PAGE_READWRITE);
        CHECK_REGION(s, s, p, PAGE_READWRITE, 2 * PAGE, MEM_COMMIT, PAGE_EXECUTE_READWRITE,
                     MEM_PRIVATE);
        /* Under an executable secured range, READWRITE is still enough. */
        CHECK(VirtualProtect(p, 6 * PAGE, PAGE_READWRITE, &old));
    } else {
        CHECK(VirtualProtect(s, 2 * PAGE, PAGE_READWRITE, &old));
        CHECK_EQ(old, PAGE_READONLY);
        CHECK(VirtualProtect(s, PAGE, PAGE_EXECUTE_READ, &old));
        CHECK_REGION(s, s, p, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_EXECUTE_READ, MEM_PRIVATE);
        CHECK(VirtualProtect(s, 2 * PAGE, PAGE_EXECUTE_READWRITE, &old));
        CHECK(VirtualProtect(p, 6 * PAGE, PAGE_READONLY, &old));
    }

    /* Pages outside the secured range are the caller's to change. */
    CHECK(VirtualProtect(p, 2 * PAGE, PAGE_NOACCESS, &old));
    CHECK(VirtualProtect(s + 2 * PAGE, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
    CHECK(VirtualFree(p + PAGE, PAGE, MEM_DECOMMIT));
    CHECK(VirtualFree(s + 2 * PAGE, 2 * PAGE, MEM_DECOMMIT));
    CHECK_REGION(p, p, p, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    CHECK_REGION(p + PAGE, p + PAGE, p, PAGE_READWRITE, PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_REGION(s, s, p, PAGE_READWRITE, 2 * PAGE, MEM_COMMIT, mode, MEM_PRIVATE);
    CHECK_REGION(s + 2 * PAGE, s + 2 * PAGE, p, PAGE_READWRITE, 2 * PAGE, MEM_RESERVE, 0,
                 MEM_PRIVATE);
    CHECK(filled(s, 2 * PAGE, FILL));
    /* A whole-allocation free still covers the secured pages. */
    CHECK_FAILS_NOCHANGE(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, p, 6 * PAGE);

    MmUnsecureVirtualMemory(h);
    CHECK(VirtualProtect(s, 2 * PAGE, PAGE_NOACCESS, &old));
    CHECK(VirtualFree(s, PAGE, MEM_DECOMMIT));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_FREE(p, 6 * PAGE);
}

/* Overlapping secures are independent: the range stays pinned until every one is released. */
static void test_overlap(void)
{
    BYTE *p = commit(4, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    DWORD old;
    HANDLE h1 = MmSecureVirtualMemory(p, 2 * PAGE, PAGE_READWRITE);
    HANDLE h2 = MmSecureVirtualMemory(p + PAGE, 2 * PAGE, PAGE_READONLY);
    HANDLE h3 = MmSecureVirtualMemory(p + PAGE, 2 * PAGE, PAGE_READONLY);
    CHECK(h1 != NULL);
    CHECK(h2 != NULL);
    CHECK(h3 != NULL);
    CHECK(h2 != h3);

    /* h1 (read-write) refuses READONLY on page 1; h2/h3 (read-only) allow it on page 2. */
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + PAGE, PAGE, PAGE_READONLY, &old),
                         ERROR_INVALID_PARAMETER, p, 4 * PAGE);
    CHECK(VirtualProtect(p + 2 * PAGE, PAGE, PAGE_READONLY, &old));
    MmUnsecureVirtualMemory(h1);
    CHECK(VirtualProtect(p, 2 * PAGE, PAGE_READONLY, &old));
    CHECK(VirtualProtect(p, PAGE, PAGE_NOACCESS, &old));
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + PAGE, PAGE, PAGE_NOACCESS, &old),
                         ERROR_INVALID_PARAMETER, p, 4 * PAGE);
    MmUnsecureVirtualMemory(h3);
    CHECK_FAILS_NOCHANGE(VirtualFree(p + 2 * PAGE, PAGE, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p,
                         4 * PAGE);
    CHECK_FAILS_NOCHANGE(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, p, 4 * PAGE);
    /* Releasing the same handle twice does not release h2. */
    MmUnsecureVirtualMemory(h3);
    CHECK_FAILS_NOCHANGE(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, p, 4 * PAGE);
    MmUnsecureVirtualMemory(h2);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_FREE(p, 4 * PAGE);
}

/* A secure of one allocation does not pin its neighbour. */
static void test_neighbours(void)
{
    BYTE *p = commit(1, PAGE_READWRITE), *q = commit(1, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL && q != NULL);
    HANDLE h = MmSecureVirtualMemory(p, PAGE, PAGE_READWRITE);
    CHECK(h != NULL);
    CHECK(VirtualFree(q, 0, MEM_RELEASE));
    CHECK_FAILS_NOCHANGE(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, p, PAGE);
    MmUnsecureVirtualMemory(h);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

int main(void)
{
    alarm(60);
    at_init();
    test_arguments();
    test_probe();
    test_foreign();
    test_refusals(PAGE_READWRITE);
    test_refusals(PAGE_READONLY);
    test_overlap();
    test_neighbours();
    return wmt_report();
}
