/*
 * query.c - VirtualQuery conformance: every MEMORY_BASIC_INFORMATION field for reserved,
 * committed, mixed and free memory; regions split and merged exactly as Windows reports
 * them; the argument errors; and memory the program did not get from VirtualAlloc (the
 * stack, the C heap, the executable, the C library), which is committed and cannot be
 * reserved over.
 */
#include "apitest.h"

#include <stdio.h>

/* Pages of a 16-page allocation, named by index. */
#define PG(i) (p + (SIZE_T)(i)*PAGE)

static void test_sequence(void)
{
    const SIZE_T n = 16;
    BYTE *p = VirtualAlloc(NULL, n * PAGE, MEM_RESERVE, PAGE_EXECUTE_READWRITE);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    const DWORD ap = PAGE_EXECUTE_READWRITE;

    CHECK_REGION(p, p, p, ap, n * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    /* An address inside a page reports from that page's base to the end of its run. */
    CHECK_REGION(PG(5) + 123, PG(5), p, ap, (n - 5) * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_REGION(PG(n) - 1, PG(n - 1), p, ap, PAGE, MEM_RESERVE, 0, MEM_PRIVATE);

    /* Commit pages 2..5. */
    CHECK(VirtualAlloc(PG(2), 4 * PAGE, MEM_COMMIT, PAGE_READWRITE) == PG(2));
    CHECK_REGION(p, p, p, ap, 2 * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_REGION(PG(2), PG(2), p, ap, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(PG(3), PG(3), p, ap, 3 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(PG(6), PG(6), p, ap, (n - 6) * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);

    /* Protect page 3 alone: the committed run splits in three. */
    CHECK(VirtualProtect(PG(3), PAGE, PAGE_READONLY, &old));
    CHECK_REGION(PG(2), PG(2), p, ap, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(PG(3), PG(3), p, ap, PAGE, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    CHECK_REGION(PG(4), PG(4), p, ap, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

    /* Back to read/write: the three merge again. */
    CHECK(VirtualProtect(PG(3), PAGE, PAGE_READWRITE, &old));
    CHECK_REGION(PG(2), PG(2), p, ap, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

    /* A guard page is its own region: same base protection, different Protect. */
    CHECK(VirtualProtect(PG(4), PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
    CHECK_REGION(PG(2), PG(2), p, ap, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(PG(4), PG(4), p, ap, PAGE, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    CHECK(VirtualProtect(PG(4), PAGE, PAGE_READWRITE, &old));
    CHECK_EQ(old, PAGE_READWRITE | PAGE_GUARD);

    /* Decommit page 4: reserved pages merge with the reserved tail whatever they were. */
    CHECK(VirtualFree(PG(4), PAGE, MEM_DECOMMIT));
    CHECK_REGION(PG(2), PG(2), p, ap, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(PG(4), PG(4), p, ap, PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_REGION(PG(5), PG(5), p, ap, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK(VirtualFree(PG(5), PAGE, MEM_DECOMMIT));
    CHECK_REGION(PG(4), PG(4), p, ap, (n - 4) * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);

    /* The last page committed alone; then the first. */
    CHECK(VirtualAlloc(PG(n - 1), PAGE, MEM_COMMIT, PAGE_EXECUTE_READ) == PG(n - 1));
    CHECK_REGION(PG(4), PG(4), p, ap, (n - 5) * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_REGION(PG(n - 1), PG(n - 1), p, ap, PAGE, MEM_COMMIT, PAGE_EXECUTE_READ, MEM_PRIVATE);
    CHECK(VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK_REGION(p, p, p, ap, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(PG(1), PG(1), p, ap, PAGE, MEM_RESERVE, 0, MEM_PRIVATE);

    /* Committing the gap with the neighbours' protection merges all four. */
    CHECK(VirtualAlloc(PG(1), PAGE, MEM_COMMIT, PAGE_READWRITE) == PG(1));
    CHECK_REGION(p, p, p, ap, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

    /* Protect everything committed in one go... refused, since pages 4..14 are reserved. */
    CHECK_FAILS_NOCHANGE(VirtualProtect(p, n * PAGE, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS, p,
                         n * PAGE);
    /* ... decommit it all instead: one reserved region again. */
    CHECK(VirtualFree(p, 0, MEM_DECOMMIT));
    CHECK_REGION(p, p, p, ap, n * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_FREE(p, n * PAGE);
}

/* Regions never cross allocations, even identical neighbours. */
static void test_boundaries(void)
{
    BYTE *area = VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(area != NULL);
    CHECK(VirtualFree(area, 0, MEM_RELEASE));
    BYTE *a = VirtualAlloc(area, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    BYTE *b = VirtualAlloc(area + GRAN, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(a == area && b == area + GRAN);
    CHECK_REGION(a, a, a, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(b - 1, b - PAGE, a, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(b, b, b, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK(VirtualFree(a, 0, MEM_RELEASE));
    CHECK_FREE(a, GRAN);
    CHECK_FREE(a + 0x1234, GRAN - 0x1000);
    CHECK_REGION(b, b, b, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK(VirtualFree(b, 0, MEM_RELEASE));

    /* The free run after a released reservation covers at least what was released. */
    CHECK_FREE(area, 2 * GRAN);
    CHECK_FREE(area + GRAN + 5, GRAN - PAGE);
}

static void test_errors(void)
{
    MEMORY_BASIC_INFORMATION m;
    BYTE *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);

    /* MS: an address above the highest application address fails with 87. */
    CHECK_FAILS(VirtualQuery((void *)(AT_MAXADDR + 1), &m, sizeof(m)), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(VirtualQuery((void *)~(ULONG_PTR)0, &m, sizeof(m)), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(VirtualQuery((void *)((ULONG_PTR)1 << 63), &m, sizeof(m)), ERROR_INVALID_PARAMETER);
    /* The highest application address itself is fine. */
    CHECK_EQ(VirtualQuery((void *)AT_MAXADDR, &m, sizeof(m)), sizeof(m));
    CHECK((ULONG_PTR)m.BaseAddress + m.RegionSize - 1 == AT_MAXADDR ||
          (ULONG_PTR)m.BaseAddress + m.RegionSize == AT_MAXADDR + 1);

    /* A buffer shorter than MEMORY_BASIC_INFORMATION. */
    /* winmem's choice; Windows unverified (NtQueryVirtualMemory: INFO_LENGTH_MISMATCH) */
    memset(&m, 0x5a, sizeof(m));
    CHECK_FAILS(VirtualQuery(p, &m, sizeof(m) - 1), ERROR_BAD_LENGTH);
    CHECK_FAILS(VirtualQuery(p, &m, 0), ERROR_BAD_LENGTH);
    CHECK_EQ(m.State, 0x5a5a5a5a); /* untouched */
    /* A longer one is filled up to sizeof(MEMORY_BASIC_INFORMATION). */
    struct {
        MEMORY_BASIC_INFORMATION m;
        BYTE extra[16];
    } big;
    memset(&big, 0x5a, sizeof(big));
    /* winmem's choice; Windows unverified */
    CHECK_EQ(VirtualQuery(p, &big.m, sizeof(big)), sizeof(big.m));
    CHECK_EQ(big.m.State, MEM_COMMIT);
    CHECK_EQ(big.extra[0], 0x5a);

    /* Page 0: free. */
    /* winmem's choice; Windows unverified */
    CHECK_EQ(VirtualQuery(NULL, &m, sizeof(m)), sizeof(m));
    CHECK_EQ(m.BaseAddress, NULL);
    CHECK_EQ(m.State, MEM_FREE);
    CHECK_EQ(m.Protect, PAGE_NOACCESS);
    CHECK_EQ(m.AllocationBase, NULL);
    CHECK_EQ(m.Type, 0);
    CHECK(m.RegionSize >= (SIZE_T)at_si.lpMinimumApplicationAddress);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* Memory that came from elsewhere is reported as the committed memory it is. */
static void check_foreign(const char *what, const void *addr, DWORD type)
{
    MEMORY_BASIC_INFORMATION m;
    const BYTE *a = addr;

    memset(&m, 0, sizeof(m));
    CHECK_EQ(VirtualQuery(addr, &m, sizeof(m)), sizeof(m));
    if (m.State != MEM_COMMIT || m.Type != type)
        fprintf(stderr, "  (%s at %p: State 0x%lx Type 0x%lx Protect 0x%lx)\n", what, addr,
                (unsigned long)m.State, (unsigned long)m.Type, (unsigned long)m.Protect);
    CHECK_EQ(m.State, MEM_COMMIT);
    CHECK_EQ(m.Type, type);
    CHECK_EQ((ULONG_PTR)m.BaseAddress, (ULONG_PTR)a & ~(ULONG_PTR)(PAGE - 1));
    CHECK(a < (const BYTE *)m.BaseAddress + m.RegionSize);
    CHECK_EQ(m.RegionSize % PAGE, 0);
    CHECK(m.AllocationBase != NULL);
    CHECK((const BYTE *)m.AllocationBase <= (const BYTE *)m.BaseAddress);
    CHECK(m.AllocationProtect != 0);
}

static int static_function(int x)
{
    return x * 3 + 1;
}

static void test_foreign(void)
{
    volatile int local = 42;
    char *heap_small = malloc(100);
    char *heap_big = malloc(4 << 20);
    MEMORY_BASIC_INFORMATION m;
    int (*volatile fn)(int) = static_function;
    int (*volatile libc_fn)(const char *, ...) = printf;

    REQUIRE_VOID(heap_small && heap_big);
    heap_small[0] = heap_big[0] = 1;
    CHECK_EQ(fn(2), 7);

    /* The stack: private, committed, read/write. */
    check_foreign("stack", (const void *)&local, MEM_PRIVATE);
    VirtualQuery((const void *)&local, &m, sizeof(m));
    CHECK_EQ(m.Protect, PAGE_READWRITE);

    /* The C heap, small and large blocks. */
    check_foreign("malloc(100)", heap_small, MEM_PRIVATE);
    VirtualQuery(heap_small, &m, sizeof(m));
    CHECK_EQ(m.Protect, PAGE_READWRITE);
    check_foreign("malloc(4M)", heap_big + (2 << 20), MEM_PRIVATE);
    VirtualQuery(heap_big + (2 << 20), &m, sizeof(m));
    CHECK_EQ(m.Protect, PAGE_READWRITE);

    /* Code in the executable and in the C library: image memory, executable, not writable;
     * the allocation base is the image's first page, holding its header. */
    const void *code[2] = { (const void *)(ULONG_PTR)fn, (const void *)(ULONG_PTR)libc_fn };
    const char *names[2] = { "function in executable", "printf" };
    for (int i = 0; i < 2; i++) {
        check_foreign(names[i], code[i], MEM_IMAGE);
        VirtualQuery(code[i], &m, sizeof(m));
        CHECK(m.Protect == PAGE_EXECUTE_READ || m.Protect == PAGE_EXECUTE);
        /* winmem's choice; Windows unverified (images report PAGE_EXECUTE_WRITECOPY) */
        CHECK_EQ(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);
        const BYTE *hdr = m.AllocationBase;
        CHECK((hdr[0] == 'M' && hdr[1] == 'Z') ||
              (hdr[0] == 0x7f && hdr[1] == 'E' && hdr[2] == 'L' && hdr[3] == 'F'));
        MEMORY_BASIC_INFORMATION h;
        CHECK_EQ(VirtualQuery(hdr, &h, sizeof(h)), sizeof(h));
        CHECK_EQ(h.AllocationBase, hdr);
        CHECK_EQ(h.Type, MEM_IMAGE);
        CHECK_EQ(h.State, MEM_COMMIT);
        CHECK_EQ(h.Protect, PAGE_READONLY);
    }

    /* None of it can be reserved over (STATUS_CONFLICTING_ADDRESSES). */
    const void *taken[4] = { (const void *)&local, heap_big + (2 << 20), code[0], code[1] };
    for (int i = 0; i < 4; i++) {
        CHECK_FAILS(VirtualAlloc((void *)taken[i], PAGE, MEM_RESERVE, PAGE_READWRITE),
                    ERROR_INVALID_ADDRESS);
        CHECK_FAILS(VirtualAlloc((void *)taken[i], PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                    ERROR_INVALID_ADDRESS);
    }
    CHECK_EQ(local, 42);
    CHECK_EQ(fn(3), 10);
    CHECK_EQ(heap_big[0], 1);
    free(heap_small);
    free(heap_big);
}

int main(void)
{
    at_init();
    test_sequence();
    test_boundaries();
    test_errors();
    test_foreign();
    return wmt_report();
}
