/*
 * Heap out-of-memory sweep through the wm_os_sys table: the kernel refuses every mmap and
 * mprotect after the first k (ENOMEM), for k = 0, 1, 2 ... until a whole workload (heap
 * creation, small, medium and large blocks, growth into new regions, reallocations) runs
 * through.  Each refused call fails as Windows says (NULL / FALSE, ERROR_NOT_ENOUGH_MEMORY),
 * and the heap stays whole: HeapValidate passes, every block allocated keeps its contents,
 * and once the kernel agrees again everything frees and HeapDestroy gives it all back.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h" /* wm_os_sys: the system calls a test can refuse */
#include "inject.h"

#define NB 64

/* One run with a budget of k system calls; true when nothing was refused. */
static int run(unsigned k)
{
    static BYTE *blk[NB];
    static SIZE_T len[NB];
    static const SIZE_T sizes[] = { 0, 24, 100, 1000, 5000, 40000, 300000, 2 << 20 };
    int refused = 0, n = 0;

    fail_after = k; /* shared by both: the budget of system calls */
    wm_os_sys.mmap = bad_mmap;
    wm_os_sys.mprotect = bad_mprotect;
    SetLastError(0);
    HANDLE h = HeapCreate(0, 0, 0);
    if (!h) {
        CHECK_EQ(GetLastError(), ERROR_NOT_ENOUGH_MEMORY);
        wm_os_sys = wm_os_sys_default;
        return 0;
    }
    for (int i = 0; i < NB; i++) {
        SIZE_T size = sizes[i % 8] + (SIZE_T)i;
        SetLastError(0);
        BYTE *p = HeapAlloc(h, 0, size);
        if (!p) {
            CHECK_EQ(GetLastError(), ERROR_NOT_ENOUGH_MEMORY);
            refused = 1;
            continue;
        }
        memset(p, i + 1, size);
        blk[n] = p;
        len[n++] = size;
    }
    for (int i = 0; i < n; i += 3) { /* grow some: in place, moved, or refused unchanged */
        SetLastError(0);
        BYTE *q = HeapReAlloc(h, 0, blk[i], len[i] * 2 + 5000);
        if (!q) {
            CHECK_EQ(GetLastError(), ERROR_NOT_ENOUGH_MEMORY);
            CHECK_EQ(HeapSize(h, 0, blk[i]), len[i]);
            refused = 1;
            continue;
        }
        memset(q + len[i], q[0], len[i] + 5000);
        blk[i] = q;
        len[i] = len[i] * 2 + 5000;
    }
    CHECK(HeapValidate(h, 0, NULL));
    wm_os_sys = wm_os_sys_default;
    for (int i = 0; i < n; i++) {
        BYTE want = blk[i][0];
        for (SIZE_T j = 0; j < len[i]; j++)
            if (blk[i][j] != want) {
                WMT_FAIL("budget %u: block %d lost its contents at %zu", k, i, (size_t)j);
                break;
            }
        CHECK(HeapFree(h, 0, blk[i]));
    }
    CHECK(HeapValidate(h, 0, NULL));
    MEMORY_BASIC_INFORMATION m;
    CHECK(HeapDestroy(h));
    CHECK(VirtualQuery(h, &m, sizeof(m)) == sizeof(m) && m.State == MEM_FREE);
    return !refused;
}

int main(void)
{
    unsigned k = 0;
    while (!run(k) && k < 400)
        k++;
    CHECK(k < 400); /* the workload ran through once the budget was large enough */
    printf("refusals swept: budgets 0..%u system calls\n", k);
    return wmt_report();
}
