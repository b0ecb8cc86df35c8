/*
 * Bookkeeping grows with reservations and runs, never with pages: a 1 TiB reservation is
 * one region with one run; committing scattered pages adds runs only where attributes
 * change, and decommitting them all merges back to one run.
 */
#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

int main(void)
{
    const SIZE_T tib = WMT_HUGE, apart = tib >> 10;
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
    return wmt_report();
}
