/*
 * many.c - many secures, overlapping and of mixed lengths and probe modes, made and dropped
 * at random: every VirtualProtect and VirtualFree(MEM_DECOMMIT) over a random range is
 * refused exactly when a brute-force list of the live secures says it must be (decommit: any
 * secure overlaps; PAGE_READONLY: a read-write one does), the callbacks run on each refusal,
 * and a refused call changes nothing.  Checks the index that finds overlapping secures
 * without walking them all.  Linux only: see tests/CMakeLists.txt.
 */
#include "../api/apitest.h"

#include <ntddk.h>

#define PAGES 512
#define LIVE 200

static long calls;

static BOOLEAN CALLBACK keep(PVOID addr, SIZE_T size)
{
    (void)addr, (void)size;
    calls++;
    return FALSE; /* drops nothing: the refused call stays refused */
}

struct secure {
    HANDLE h;
    SIZE_T first, count;
    DWORD mode;
};
static struct secure live[LIVE];
static int nlive;

static unsigned long long rng = 0x2545f4914f6cdd1dull;

static unsigned next(unsigned n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Whether [first, first+count) overlaps a live secure (a read-write one when rw_only). */
static int covered(SIZE_T first, SIZE_T count, int rw_only)
{
    for (int i = 0; i < nlive; i++)
        if (live[i].first < first + count && first < live[i].first + live[i].count &&
            (!rw_only || live[i].mode == PAGE_READWRITE))
            return 1;
    return 0;
}

int main(void)
{
    at_init();
    BYTE *b = VirtualAlloc(NULL, PAGES * PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(b);
    REQUIRE(AddSecureMemoryCacheCallback(keep));
    long wrong_protect = 0, wrong_free = 0, wrong_calls = 0, refusals = 0;
    DWORD old;

    for (int step = 0; step < 6000; step++) {
        unsigned op = next(10);
        if (op < 4 && nlive < LIVE) {
            /* Mostly short, now and then long (the index's longest length moves). */
            SIZE_T count = next(8) == 0 ? 1 + next(200) : 1 + next(16);
            SIZE_T first = next(PAGES - (unsigned)count + 1);
            DWORD mode = next(2) ? PAGE_READWRITE : PAGE_READONLY;
            HANDLE h = MmSecureVirtualMemory(b + first * PAGE, count * PAGE, mode);
            CHECK(h != NULL);
            if (h)
                live[nlive++] = (struct secure){ h, first, count, mode };
        } else if (op < 7 && nlive) {
            int i = (int)next((unsigned)nlive);
            MmUnsecureVirtualMemory(live[i].h);
            live[i] = live[--nlive];
        } else {
            SIZE_T count = 1 + next(24), first = next(PAGES - (unsigned)count + 1);
            long before = calls;
            int expect = covered(first, count, 1);
            BOOL ok = VirtualProtect(b + first * PAGE, count * PAGE, PAGE_READONLY, &old);
            if (ok == expect)
                wrong_protect++;
            if (ok)
                CHECK(VirtualProtect(b + first * PAGE, count * PAGE, PAGE_READWRITE, &old));
            if ((calls != before) != expect)
                wrong_calls++;
            refusals += expect;
            before = calls;
            expect = covered(first, count, 0);
            ok = VirtualFree(b + first * PAGE, count * PAGE, MEM_DECOMMIT);
            if (ok == expect)
                wrong_free++;
            if ((calls != before) != expect)
                wrong_calls++;
            if (!ok)
                CHECK_EQ(GetLastError(), ERROR_INVALID_PARAMETER);
            else
                CHECK(VirtualAlloc(b + first * PAGE, count * PAGE, MEM_COMMIT, PAGE_READWRITE) ==
                      b + first * PAGE);
            refusals += expect;
        }
    }
    CHECK_EQ(wrong_protect, 0);
    CHECK_EQ(wrong_free, 0);
    CHECK_EQ(wrong_calls, 0);
    CHECK(refusals > 500); /* the check was exercised both ways */
    /* Every page still committed read-write (no refused call changed anything). */
    MEMORY_BASIC_INFORMATION m;
    CHECK_EQ(VirtualQuery(b, &m, sizeof(m)), sizeof(m));
    CHECK_EQ(m.RegionSize, PAGES * PAGE);
    CHECK_EQ(m.Protect, PAGE_READWRITE);
    while (nlive)
        MmUnsecureVirtualMemory(live[--nlive].h);
    CHECK(RemoveSecureMemoryCacheCallback(keep));
    CHECK(VirtualFree(b, 0, MEM_RELEASE));
    printf("%ld refusals checked\n", refusals);
    return wmt_report();
}
