/*
 * protect.c - protection values: the full 0x00..0xff table and the modifiers for VirtualAlloc
 * and VirtualProtect, the high flags whose meaning depends on the call, PAGE_NOCACHE /
 * PAGE_WRITECOMBINE belonging to the allocation, and VirtualProtect's failures (each one
 * checked to change nothing).
 */
#include "apitest.h"

static int valid_base(DWORD prot)
{
    return prot == PAGE_NOACCESS || prot == PAGE_READONLY || prot == PAGE_READWRITE ||
           prot == PAGE_EXECUTE || prot == PAGE_EXECUTE_READ || prot == PAGE_EXECUTE_READWRITE;
}

static int executable(DWORD prot)
{
    return prot == PAGE_EXECUTE || prot == PAGE_EXECUTE_READ || prot == PAGE_EXECUTE_READWRITE;
}

static const DWORD bases[] = { PAGE_NOACCESS, PAGE_READONLY,     PAGE_READWRITE,
                               PAGE_EXECUTE,  PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE };
#define NBASES (sizeof(bases) / sizeof(bases[0]))

/* VirtualAlloc(MEM_COMMIT) with every value of the low byte: exactly one base protection,
 * and never a copy-on-write one on private memory. */
static void test_alloc_table(void)
{
    for (DWORD prot = 0; prot <= 0xff; prot++) {
        SetLastError(0xdeadbeef);
        BYTE *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, prot);
        if (valid_base(prot)) {
            CHECK(p != NULL);
            if (!p)
                continue;
            CHECK_REGION(p, p, p, prot, PAGE, MEM_COMMIT, prot, MEM_PRIVATE);
            VirtualFree(p, 0, MEM_RELEASE);
        } else {
            CHECK_EQ(p, NULL);
            CHECK_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
            if (p)
                VirtualFree(p, 0, MEM_RELEASE);
        }
    }
    /* Reserving takes the same rule. */
    CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_RESERVE, 0), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_RESERVE, PAGE_WRITECOPY), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_RESERVE, PAGE_READONLY | PAGE_EXECUTE),
                ERROR_INVALID_PARAMETER);
}

/* VirtualProtect on a committed private page with every value of the low byte; a refusal
 * leaves the old protection in place. */
static void test_protect_table(void)
{
    BYTE *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_NOACCESS);
    DWORD old;
    REQUIRE_VOID(p != NULL);

    for (DWORD prot = 0; prot <= 0xff; prot++) {
        old = 0xdeadbeef;
        SetLastError(0xdeadbeef);
        BOOL ok = VirtualProtect(p, PAGE, prot, &old);
        if (valid_base(prot)) {
            CHECK(ok);
            CHECK_EQ(old, PAGE_NOACCESS);
            CHECK_REGION(p, p, p, PAGE_NOACCESS, PAGE, MEM_COMMIT, prot, MEM_PRIVATE);
        } else {
            CHECK(!ok);
            CHECK_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
            CHECK_EQ(at_protect(p), PAGE_NOACCESS);
        }
        CHECK(VirtualProtect(p, PAGE, PAGE_NOACCESS, &old));
        CHECK_EQ(old, valid_base(prot) ? prot : PAGE_NOACCESS);
    }
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* GUARD, NOCACHE and WRITECOMBINE: at most one, never with PAGE_NOACCESS, recorded and
 * reported by VirtualQuery as given. */
static void test_modifiers(void)
{
    static const DWORD mods[] = { PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOMBINE };

    for (size_t b = 0; b < NBASES; b++) {
        for (size_t m = 0; m < 3; m++) {
            DWORD prot = bases[b] | mods[m];
            SetLastError(0xdeadbeef);
            BYTE *p = VirtualAlloc(NULL, PAGE, MEM_RESERVE | MEM_COMMIT, prot);
            if (bases[b] == PAGE_NOACCESS) {
                /* MS: none of the three can be used with PAGE_NOACCESS (error INFERRED). */
                CHECK_EQ(p, NULL);
                CHECK_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
            } else {
                CHECK(p != NULL);
                if (p)
                    CHECK_REGION(p, p, p, prot, PAGE, MEM_COMMIT, prot, MEM_PRIVATE);
            }
            if (p)
                VirtualFree(p, 0, MEM_RELEASE);
            /* Two modifiers together: mutually exclusive (MS; error INFERRED). */
            DWORD two = prot | mods[(m + 1) % 3];
            CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_COMMIT, two), ERROR_INVALID_PARAMETER);
        }
    }
    CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_COMMIT,
                             PAGE_READWRITE | PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE),
                ERROR_INVALID_PARAMETER);
    /* A modifier alone names no base protection. */
    CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_GUARD), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_NOCACHE), ERROR_INVALID_PARAMETER);

    /* The same rules for VirtualProtect, on a committed read/write page. */
    BYTE *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
    DWORD old;
    REQUIRE_VOID(p != NULL);
#define BADP(prot) \
    CHECK_FAILS_NOCHANGE(VirtualProtect(p, PAGE, (prot), &old), ERROR_INVALID_PARAMETER, p, PAGE)
    BADP(PAGE_NOACCESS | PAGE_GUARD);
    BADP(PAGE_NOACCESS | PAGE_NOCACHE);
    BADP(PAGE_NOACCESS | PAGE_WRITECOMBINE);
    BADP(PAGE_READWRITE | PAGE_GUARD | PAGE_NOCACHE);
    BADP(PAGE_READONLY | PAGE_NOCACHE | PAGE_WRITECOMBINE);
    BADP(PAGE_GUARD);
    BADP(PAGE_WRITECOPY);
    BADP(PAGE_EXECUTE_WRITECOPY);
    BADP(PAGE_READWRITE | PAGE_EXECUTE_WRITECOPY);
    BADP(0);

    /* PAGE_GUARD through VirtualProtect: reported, and in the old value next time. */
    CHECK(VirtualProtect(p, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_REGION(p, p, p, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD,
                 MEM_PRIVATE);
    CHECK(VirtualProtect(p, PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_READWRITE | PAGE_GUARD);
    CHECK_REGION(p, p, p, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);

    /* Caching modifiers cannot be added by VirtualProtect: accepted, then dropped. */
    CHECK(VirtualProtect(p, PAGE, PAGE_READONLY | PAGE_NOCACHE, &old));
    CHECK_EQ(old, PAGE_READONLY);
    CHECK_EQ(at_protect(p), PAGE_READONLY);
    CHECK(VirtualProtect(p, PAGE, PAGE_READWRITE | PAGE_WRITECOMBINE, &old));
    CHECK_EQ(old, PAGE_READONLY);
    CHECK_EQ(at_protect(p), PAGE_READWRITE); /* winmem's choice; Windows unverified */
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
#undef BADP
}

/* PAGE_NOCACHE belongs to the allocation: VirtualProtect can neither remove it nor split
 * the region by it. */
static void test_nocache_sticky(void)
{
    BYTE *p = VirtualAlloc(NULL, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE);
    DWORD old = 0;
    REQUIRE_VOID(p != NULL);
    CHECK_REGION(p, p, p, PAGE_READWRITE | PAGE_NOCACHE, 2 * PAGE, MEM_COMMIT,
                 PAGE_READWRITE | PAGE_NOCACHE, MEM_PRIVATE);
    CHECK(VirtualProtect(p, PAGE, PAGE_READWRITE, &old));
    CHECK_EQ(old, PAGE_READWRITE | PAGE_NOCACHE);
    CHECK_REGION(p, p, p, PAGE_READWRITE | PAGE_NOCACHE, 2 * PAGE, MEM_COMMIT,
                 PAGE_READWRITE | PAGE_NOCACHE, MEM_PRIVATE);
    CHECK(VirtualProtect(p, PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_READWRITE | PAGE_NOCACHE);
    CHECK_REGION(p, p, p, PAGE_READWRITE | PAGE_NOCACHE, PAGE, MEM_COMMIT,
                 PAGE_READONLY | PAGE_NOCACHE, MEM_PRIVATE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* WRITECOMBINE, the other caching modifier, follows the same rule. */
    p = VirtualAlloc(NULL, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE | PAGE_WRITECOMBINE);
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualProtect(p, PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_READWRITE | PAGE_WRITECOMBINE);
    /* winmem's choice; Windows unverified */
    CHECK_EQ(at_protect(p), PAGE_READONLY | PAGE_WRITECOMBINE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* 0x40000000 is PAGE_TARGETS_INVALID for VirtualAlloc and PAGE_TARGETS_NO_UPDATE for
 * VirtualProtect, both meaningful only with an executable protection; graphics and enclave
 * protections never apply to ordinary private memory. */
static void test_high_flags(void)
{
    for (size_t b = 0; b < NBASES; b++) {
        DWORD prot = bases[b] | PAGE_TARGETS_INVALID;
        SetLastError(0xdeadbeef);
        BYTE *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, prot);
        if (executable(bases[b])) {
            CHECK(p != NULL);
            if (p) {
                CHECK_EQ(at_state(p), MEM_COMMIT);
                /* The CFG hint is not a protection; whether VirtualQuery echoes the bit is
                 * not established (api-bugs.md Q1), the base protection is. */
                CHECK_EQ(at_protect(p) & 0xff, bases[b]);
            }
        } else {
            /* winmem's choice; Windows unverified */
            CHECK_EQ(p, NULL);
            CHECK_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
        }
        if (p)
            VirtualFree(p, 0, MEM_RELEASE);
    }

    BYTE *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualProtect(p, PAGE, PAGE_EXECUTE_READ | PAGE_TARGETS_NO_UPDATE, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_EQ(at_protect(p), PAGE_EXECUTE_READ);
    CHECK(VirtualProtect(p, PAGE, PAGE_EXECUTE_READWRITE | PAGE_TARGETS_NO_UPDATE, &old));
    CHECK_EQ(old, PAGE_EXECUTE_READ);
    CHECK_EQ(at_protect(p), PAGE_EXECUTE_READWRITE);
    CHECK(VirtualProtect(p, PAGE, PAGE_READWRITE, &old));
    /* MS: valid only when the new protection is executable. */
    /* winmem's choice; Windows unverified */
    CHECK_FAILS_NOCHANGE(VirtualProtect(p, PAGE, PAGE_READONLY | PAGE_TARGETS_NO_UPDATE, &old),
                         ERROR_INVALID_PARAMETER, p, PAGE);
    /* PAGE_REVERT_TO_FILE_MAP has no backing file to revert to on private memory. */
    /* winmem's choice; Windows unverified */
    CHECK_FAILS_NOCHANGE(VirtualProtect(p, PAGE, PAGE_READONLY | PAGE_REVERT_TO_FILE_MAP, &old),
                         ERROR_INVALID_PARAMETER, p, PAGE);

    static const DWORD refused[] = {
        PAGE_GRAPHICS_NOACCESS,
        PAGE_GRAPHICS_READONLY,
        PAGE_GRAPHICS_READWRITE,
        PAGE_GRAPHICS_EXECUTE,
        PAGE_GRAPHICS_EXECUTE_READ,
        PAGE_GRAPHICS_EXECUTE_READWRITE,
        PAGE_GRAPHICS_COHERENT,
        PAGE_GRAPHICS_NOCACHE,
        PAGE_READWRITE | PAGE_GRAPHICS_COHERENT,
        PAGE_READWRITE | PAGE_GRAPHICS_NOCACHE,
        PAGE_READONLY | PAGE_GRAPHICS_READONLY,
        PAGE_ENCLAVE_THREAD_CONTROL | PAGE_READWRITE,
        PAGE_ENCLAVE_UNVALIDATED | PAGE_READWRITE,
        PAGE_ENCLAVE_DECOMMIT,
        PAGE_ENCLAVE_SS_FIRST,
        PAGE_ENCLAVE_SS_REST,
        PAGE_ENCLAVE_MASK | PAGE_READWRITE,
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        /* MS: graphics values are for Direct3D engines, enclave values for LoadEnclaveData
         * only; the error is INFERRED (STATUS_INVALID_PAGE_PROTECTION -> 87). */
        CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_COMMIT, refused[i]), ERROR_INVALID_PARAMETER);
        CHECK_FAILS(VirtualAlloc(NULL, PAGE, MEM_RESERVE, refused[i]), ERROR_INVALID_PARAMETER);
        CHECK_FAILS_NOCHANGE(VirtualProtect(p, PAGE, refused[i], &old), ERROR_INVALID_PARAMETER, p,
                             PAGE);
    }
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* VirtualProtect failures: each refused outright, nothing changed. */
static void test_protect_errors(void)
{
    BYTE *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    CHECK(VirtualAlloc(p, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);

    /* NULL lpflOldProtect: ERROR_NOACCESS, protection unchanged. */
    CHECK_FAILS_NOCHANGE(VirtualProtect(p, PAGE, PAGE_READONLY, NULL), ERROR_NOACCESS, p, 0x10000);
    CHECK_EQ(at_protect(p), PAGE_READWRITE);

    /* Uncommitted pages, alone or after committed ones. */
    old = 0xdeadbeef;
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + 2 * PAGE, PAGE, PAGE_READONLY, &old),
                         ERROR_INVALID_ADDRESS, p, 0x10000);
    CHECK_FAILS_NOCHANGE(VirtualProtect(p, 3 * PAGE, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS, p,
                         0x10000);
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + PAGE, 0x10000 - PAGE, PAGE_NOACCESS, &old),
                         ERROR_INVALID_ADDRESS, p, 0x10000);
    CHECK_EQ(at_protect(p + PAGE), PAGE_READWRITE);
    /* The old value is still written, as PAGE_NOACCESS (WN, NtProtectVirtualMemory; the
     * Win32 call passes the pointer through). */
    old = 0xdeadbeef;
    CHECK(!VirtualProtect(p + 2 * PAGE, PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_NOACCESS);

    /* Size 0 names the page holding the address. */
    /* winmem's choice; Windows unverified */
    CHECK(VirtualProtect(p + PAGE + 5, 0, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(p + PAGE, p + PAGE, p, PAGE_NOACCESS, PAGE, MEM_COMMIT, PAGE_READONLY,
                 MEM_PRIVATE);
    CHECK(VirtualProtect(p + PAGE, PAGE, PAGE_READWRITE, &old));

    /* Old protection is the first page's; the whole range takes the new one. */
    CHECK(VirtualProtect(p + PAGE, PAGE, PAGE_EXECUTE_READWRITE, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK(VirtualProtect(p, 2 * PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, 2 * PAGE, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    CHECK(VirtualProtect(p + PAGE, PAGE, PAGE_EXECUTE_READ, &old));
    CHECK(VirtualProtect(p + PAGE, 1, PAGE_READWRITE, &old)); /* one byte: that page */
    CHECK_EQ(old, PAGE_EXECUTE_READ);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, PAGE, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    CHECK_REGION(p + PAGE, p + PAGE, p, PAGE_NOACCESS, PAGE, MEM_COMMIT, PAGE_READWRITE,
                 MEM_PRIVATE);
    /* An unaligned start and length cover every page they touch. */
    CHECK(VirtualProtect(p + PAGE - 1, 2, PAGE_EXECUTE, &old));
    CHECK_EQ(old, PAGE_READONLY);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, 2 * PAGE, MEM_COMMIT, PAGE_EXECUTE, MEM_PRIVATE);
    CHECK(VirtualProtect(p, 2 * PAGE, PAGE_READWRITE, &old));

    /* Free memory. */
    BYTE *freed = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(freed != NULL);
    CHECK(VirtualFree(freed, 0, MEM_RELEASE));
    old = 0xdeadbeef;
    CHECK_FAILS(VirtualProtect(freed, PAGE, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS);
    CHECK_EQ(old, PAGE_NOACCESS);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* A range spanning two adjacent allocations, both fully committed (INFERRED error). */
    BYTE *area = VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(area != NULL);
    CHECK(VirtualFree(area, 0, MEM_RELEASE));
    BYTE *a = VirtualAlloc(area, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    BYTE *b = VirtualAlloc(area + GRAN, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(a == area && b == area + GRAN);
    CHECK_FAILS_NOCHANGE(VirtualProtect(b - PAGE, 2 * PAGE, PAGE_READONLY, &old),
                         ERROR_INVALID_ADDRESS, a, 2 * GRAN);
    CHECK_EQ(at_protect(b - PAGE), PAGE_READWRITE);
    CHECK_EQ(at_protect(b), PAGE_READWRITE);
    CHECK(VirtualFree(a, 0, MEM_RELEASE));
    CHECK(VirtualFree(b, 0, MEM_RELEASE));
}

/* The protection really applies: what a page allows can be read back through VirtualQuery
 * after a sequence of changes, and data survives protection changes. */
static void test_data_survives(void)
{
    BYTE *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    memset(p, 0x3c, PAGE);
    CHECK(VirtualProtect(p, PAGE, PAGE_NOACCESS, &old));
    CHECK(VirtualProtect(p, PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_NOACCESS);
    CHECK_EQ(p[0], 0x3c);
    CHECK_EQ(p[PAGE - 1], 0x3c);
    CHECK(VirtualProtect(p, PAGE, PAGE_EXECUTE_READWRITE, &old));
    p[5] = 9;
    CHECK_EQ(p[5], 9);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

int main(void)
{
    at_init();
    test_alloc_table();
    test_protect_table();
    test_modifiers();
    test_nocache_sticky();
    test_high_flags();
    test_protect_errors();
    test_data_survives();
    return wmt_report();
}
