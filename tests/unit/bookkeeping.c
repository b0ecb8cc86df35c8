/*
 * Bookkeeping grows with reservations and runs, never with pages: a 1 TiB reservation is
 * one region with one run; committing scattered pages adds runs only where attributes
 * change, and decommitting them all merges back to one run.  A plain reservation costs at
 * most 128 bytes of the model's memory (its region, index entry and hash slot), counted by
 * the arena rather than read from the process's resident size, which other allocations and
 * the kernel's huge pages blur.
 */
#include <stdio.h>
#include <stdlib.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

/* The model's memory per 64 KiB reservation, measured at every 10,000 of n reservations so
 * a hash table just doubled is seen too: at most 128 bytes. */
static void per_reservation(long n)
{
    void **p = malloc((size_t)n * sizeof(*p));
    REQUIRE_VOID(p);
    size_t before = wm_arena_footprint(), worst = 0;
    long made = 0;
    for (; made < n; made++) {
        p[made] = VirtualAlloc(NULL, 65536, MEM_RESERVE, PAGE_READWRITE);
        if (!p[made])
            break;
        if ((made + 1) % 10000 == 0) {
            size_t each = (wm_arena_footprint() - before) / (size_t)(made + 1);
            worst = each > worst ? each : worst;
        }
    }
    CHECK_EQ(made, n);
    CHECK(worst > 0 && worst <= 128);
    if (worst > 128)
        fprintf(stderr, "%zu bytes per reservation\n", worst);
    for (long i = made; i-- > 0;)
        CHECK(VirtualFree(p[i], 0, MEM_RELEASE));
    free(p);
}

int main(void)
{
    const SIZE_T tib = WMT_HUGE, apart = tib >> 10;
    if (!wmt_room_for("bookkeeping", tib))
        return wmt_report();
    char *p = VirtualAlloc(NULL, tib, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE(p != NULL);

    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, (uintptr_t)p + tib - 1);
    REQUIRE(r != NULL);
    CHECK_EQ(r->size, tib);
    CHECK_EQ(r->nruns, 1);
    CHECK(r->runs == r->inline_run); /* no allocation beyond the region itself */

    /* 1000 pages committed 1 GiB apart (256 MiB under TSan): 2001 runs, whatever the
     * reservation's size. */
    for (unsigned i = 0; i < 1000; i++)
        CHECK(VirtualAlloc(p + (SIZE_T)i * apart, 4096, MEM_COMMIT, PAGE_READWRITE));
    CHECK_EQ(r->nruns, 2000);
    CHECK(wm_region_check(r, wm_vm.page) == NULL);
    p[999 * apart] = 1;

    CHECK(VirtualFree(p, tib, MEM_DECOMMIT));
    CHECK_EQ(r->nruns, 1);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_EQ(wm_vm.space.count, 0);

    per_reservation(WMT_TSAN ? 30000 : 100000);
    CHECK_EQ(wm_vm.space.count, 0);
    return wmt_report();
}
