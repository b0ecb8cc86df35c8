/*
 * free.c - VirtualFree conformance: MEM_RELEASE only whole allocations from their base with
 * size 0, MEM_DECOMMIT of any page range inside one allocation, the free types Windows
 * refuses, and page rounding of addresses.  Every refused call is checked to change nothing.
 */
#include "apitest.h"

/* A reservation of one granule with pages [1, 4) committed read/write. */
static BYTE *make(void)
{
    BYTE *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE);
    if (p && VirtualAlloc(p + PAGE, 3 * PAGE, MEM_COMMIT, PAGE_READWRITE) != p + PAGE) {
        VirtualFree(p, 0, MEM_RELEASE);
        p = NULL;
    }
    return p;
}

static void test_release(void)
{
    BYTE *p = make();
    REQUIRE_VOID(p != NULL);
#define BAD(call, err) CHECK_FAILS_NOCHANGE(call, err, p, GRAN)
    /* MEM_RELEASE takes size 0, whatever the size. */
    BAD(VirtualFree(p, GRAN, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p, 1, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p + PAGE, PAGE, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    /* Only from the allocation's base. */
    BAD(VirtualFree(p + PAGE, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    BAD(VirtualFree(p + PAGE + 1, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    BAD(VirtualFree(p + GRAN - 1, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    /* Free types: MEM_RELEASE and MEM_DECOMMIT together, none, or anything else. */
    BAD(VirtualFree(p, 0, MEM_RELEASE | MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p, 0, 0), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p, PAGE, 0), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p, 0, MEM_FREE), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p, 0, MEM_COMMIT), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p, 0, MEM_RELEASE | 0x80000000), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p, PAGE, MEM_DECOMMIT | 0x100), ERROR_INVALID_PARAMETER);
    BAD(VirtualFree(p, PAGE, MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_PARAMETER);
#undef BAD
    /* Data survived all of that. */
    p[PAGE] = 1;

    /* The base is page-rounded first: base+0xfff with size 0 releases the allocation. */
    CHECK(VirtualFree(p + PAGE - 1, 0, MEM_RELEASE));
    CHECK_FREE(p, GRAN);

    /* Released twice, or never allocated. */
    CHECK_FAILS(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    CHECK_FAILS(VirtualFree(p + PAGE, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    CHECK_FAILS(VirtualFree(p, PAGE, MEM_DECOMMIT), ERROR_INVALID_ADDRESS);
    CHECK_FAILS(VirtualFree(p, 0, MEM_DECOMMIT), ERROR_INVALID_ADDRESS);
    /* Above the highest application address. */
    /* winmem's choice; Windows unverified */
    CHECK_FAILS(VirtualFree((void *)(AT_MAXADDR + 1), 0, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    /* Page 0 is never allocated. */
    /* winmem's choice; Windows unverified */
    CHECK_FAILS(VirtualFree(NULL, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);

    /* Free space in the same granule after a short allocation is not part of it. */
    BYTE *s = VirtualAlloc(NULL, 3 * PAGE, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(s != NULL);
    CHECK_FAILS_NOCHANGE(VirtualFree(s + 8 * PAGE, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS, s,
                         3 * PAGE);
    CHECK_FAILS_NOCHANGE(VirtualFree(s + 3 * PAGE, PAGE, MEM_DECOMMIT), ERROR_INVALID_ADDRESS, s,
                         3 * PAGE);
    CHECK(VirtualFree(s, 0, MEM_RELEASE));
}

static void test_decommit(void)
{
    BYTE *p = make();
    REQUIRE_VOID(p != NULL);

    /* Size 0 only from the base; elsewhere it names no range. */
    CHECK_FAILS_NOCHANGE(VirtualFree(p + PAGE, 0, MEM_DECOMMIT), ERROR_INVALID_ADDRESS, p, GRAN);
    CHECK_FAILS_NOCHANGE(VirtualFree(p + PAGE + 1, 0, MEM_DECOMMIT), ERROR_INVALID_ADDRESS, p,
                         GRAN);
    /* A range running past the allocation's end: STATUS_UNABLE_TO_FREE_VM. */
    CHECK_FAILS_NOCHANGE(VirtualFree(p, GRAN + PAGE, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p,
                         GRAN);
    CHECK_FAILS_NOCHANGE(VirtualFree(p + GRAN - PAGE, PAGE + 1, MEM_DECOMMIT),
                         ERROR_INVALID_PARAMETER, p, GRAN);
    CHECK_EQ(at_state(p + PAGE), MEM_COMMIT);

    /* Partial and unaligned: base+PAGE+PAGE-1 size 2 touches pages 1 and 2. */
    CHECK(VirtualFree(p + 2 * PAGE - 1, 2, MEM_DECOMMIT));
    CHECK_REGION(p, p, p, PAGE_READWRITE, 3 * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_REGION(p + 3 * PAGE, p + 3 * PAGE, p, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READWRITE,
                 MEM_PRIVATE);

    /* Reserved-only pages decommit without complaint. */
    CHECK(VirtualFree(p + 8 * PAGE, 2 * PAGE, MEM_DECOMMIT));
    CHECK_REGION(p + 4 * PAGE, p + 4 * PAGE, p, PAGE_READWRITE, GRAN - 4 * PAGE, MEM_RESERVE, 0,
                 MEM_PRIVATE);
    /* Mixed committed and reserved pages, the whole allocation by its size. */
    CHECK(VirtualFree(p, GRAN, MEM_DECOMMIT));
    CHECK_REGION(p, p, p, PAGE_READWRITE, GRAN, MEM_RESERVE, 0, MEM_PRIVATE);

    /* Size 0 at the base: the whole allocation, rounded from anywhere in the first page. */
    CHECK(VirtualAlloc(p, GRAN, MEM_COMMIT, PAGE_READONLY) == p);
    CHECK(VirtualFree(p, 0, MEM_DECOMMIT));
    CHECK_REGION(p, p, p, PAGE_READWRITE, GRAN, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(VirtualAlloc(p, GRAN, MEM_COMMIT, PAGE_READONLY) == p);
    CHECK(VirtualFree(p + PAGE - 1, 0, MEM_DECOMMIT));
    CHECK_REGION(p, p, p, PAGE_READWRITE, GRAN, MEM_RESERVE, 0, MEM_PRIVATE);
    /* Decommitting an all-reserved allocation again is still fine. */
    CHECK(VirtualFree(p, 0, MEM_DECOMMIT));

    /* A decommitted page reads zero when committed again; the reservation keeps it. */
    CHECK(VirtualAlloc(p, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    memset(p, 0xee, 2 * PAGE);
    CHECK(VirtualFree(p + PAGE, PAGE, MEM_DECOMMIT));
    CHECK(VirtualAlloc(p, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK_EQ(p[0], 0xee);
    CHECK_EQ(p[PAGE], 0);
    CHECK_EQ(p[2 * PAGE - 1], 0);

    /* A decommit range covering two allocations is refused. */
    BYTE *q = VirtualAlloc(p + GRAN, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (q == p + GRAN) {
        CHECK_FAILS_NOCHANGE(VirtualFree(p + GRAN - PAGE, 2 * PAGE, MEM_DECOMMIT),
                             ERROR_INVALID_PARAMETER, p, 2 * GRAN);
        CHECK(VirtualFree(q, 0, MEM_RELEASE));
    }
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_EQ(at_state(p), MEM_FREE);
}

/* VirtualFree on memory the library did not hand out: a stack buffer. */
static void test_foreign(void)
{
    char buf[64];
    buf[0] = 1;
    CHECK_FAILS(VirtualFree(buf, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    CHECK_EQ(buf[0], 1);
}

int main(void)
{
    at_init();
    test_release();
    test_decommit();
    test_foreign();
    return wmt_report();
}
