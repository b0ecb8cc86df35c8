/*
 * cardmark - a toy generational collector's card marking with write watches.  The old
 * generation lives in a MEM_WRITE_WATCH allocation; the program stores pointers to young
 * objects into it at random.  A minor collection must find every old slot pointing into the
 * young generation: instead of scanning the whole old generation it asks GetWriteWatch
 * (with WRITE_WATCH_FLAG_RESET) which pages were written since the last collection and
 * scans only those, then "promotes" what it found.  After every collection a full scan checks
 * that no young pointer was missed (exit status 1 if one was).  Unchanged Windows code.
 *
 *   cardmark [cycles]    prints how many pages each collection looked at
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

#define OLD_SIZE (64u << 20) /* 64 MiB of old generation */
#define YOUNG_OBJECTS 4096
#define STORES 500 /* pointer stores by the program between collections */

static ULONG_PTR young[YOUNG_OBJECTS]; /* the young generation: any address in here is young */

static int is_young(ULONG_PTR v)
{
    return v >= (ULONG_PTR)young && v < (ULONG_PTR)(young + YOUNG_OBJECTS);
}

static unsigned long long rng_state = 88172645463325252ULL;

static unsigned long long rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? atoi(argv[1]) : 10;
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    SIZE_T page = si.dwPageSize, npages = OLD_SIZE / page,
           slots_per_page = page / sizeof(ULONG_PTR);

    ULONG_PTR *old =
        VirtualAlloc(NULL, OLD_SIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    PVOID *dirty =
        VirtualAlloc(NULL, npages * sizeof(PVOID), MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!old || !dirty) {
        fprintf(stderr, "VirtualAlloc failed: %lu\n", (unsigned long)GetLastError());
        return 2;
    }

    unsigned long long looked = 0, found_total = 0;
    for (int c = 0; c < cycles; c++) {
        /* The program runs: pointer stores into the old generation, a fifth of them young. */
        for (int i = 0; i < STORES; i++) {
            ULONG_PTR slot = (ULONG_PTR)(rng() % (OLD_SIZE / sizeof(ULONG_PTR)));
            old[slot] = rng() % 5 == 0 ? (ULONG_PTR)&young[rng() % YOUNG_OBJECTS] : (ULONG_PTR)c;
        }

        /* Minor collection: the written pages are the cards to scan. */
        ULONG_PTR count = npages;
        DWORD granularity;
        if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, old, OLD_SIZE, dirty, &count, &granularity)) {
            fprintf(stderr, "GetWriteWatch failed: %lu\n", (unsigned long)GetLastError());
            return 2;
        }
        unsigned long found = 0;
        for (ULONG_PTR d = 0; d < count; d++) {
            ULONG_PTR *p = dirty[d];
            for (SIZE_T s = 0; s < slots_per_page; s++)
                if (is_young(p[s])) {
                    p[s] = 1; /* promoted: now points at an old copy (here, a marker) */
                    found++;
                }
        }
        /* The promotion's own stores are the collector's, not the program's. */
        for (ULONG_PTR d = 0; d < count; d++)
            ResetWriteWatch(dirty[d], page);
        looked += count;
        found_total += found;
        printf("collection %d: looked at %lu of %lu pages, %lu young pointers\n", c,
               (unsigned long)count, (unsigned long)npages, found);

        /* Check: nothing young is left anywhere in the old generation. */
        for (SIZE_T s = 0; s < OLD_SIZE / sizeof(ULONG_PTR); s++)
            if (is_young(old[s])) {
                printf("missed a young pointer at %p\n", (void *)&old[s]);
                return 1;
            }
    }
    printf("%d collections looked at %llu pages; full scans would have looked at %llu "
           "(%llu young pointers found)\n",
           cycles, looked, (unsigned long long)cycles * npages, found_total);
    VirtualFree(dirty, 0, MEM_RELEASE);
    VirtualFree(old, 0, MEM_RELEASE);
    return 0;
}
