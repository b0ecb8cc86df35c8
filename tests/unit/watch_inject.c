/*
 * Write watches when the kernel refuses, through the wm_os_sys table: a record that cannot be
 * read or re-armed errs towards reporting pages, never towards losing a write.  Fallback: an
 * mprotect refused during a reset leaves the page reported and still written.  Fast path (when
 * the kernel offers it): a failed PAGEMAP_SCAN reports every page of the allocation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"
#include "inject.h"

#define PAGES 16

static int bad_ioctl(int fd, unsigned long req, void *arg)
{
    (void)fd, (void)req, (void)arg;
    errno = EIO;
    return -1;
}

static void *res[PAGES];

static long ww(DWORD flags, BYTE *p)
{
    ULONG_PTR count = PAGES;
    DWORD g;
    return GetWriteWatch(flags, p, PAGES * 4096, res, &count, &g) ? -1 : (long)count;
}

int main(void)
{
    BYTE *p = VirtualAlloc(NULL, PAGES * 4096, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                           PAGE_READWRITE);
    REQUIRE(p != NULL);
    if (wm_watch_mode == WM_WATCH_FALLBACK) {
        p[2 * 4096] = 1;
        wm_os_sys.mprotect = bad_mprotect;
        CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p), 1); /* reported ... */
        wm_os_sys = wm_os_sys_default;
        CHECK_EQ(ww(0, p), 1); /* ... and, not re-armed, still written */
        CHECK(res[0] == p + 2 * 4096);
        CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p), 1);
        CHECK_EQ(ww(0, p), 0);
        p[2 * 4096] = 2; /* re-armed now: recorded again */
        CHECK_EQ(ww(0, p), 1);
        /* A commit whose pages cannot be made read-only again counts them as written. */
        CHECK(VirtualFree(p, PAGES * 4096, MEM_DECOMMIT));
        CHECK_EQ(ResetWriteWatch(p, PAGES * 4096), 0);
        fail_after = 1; /* the commit's mprotect goes through, the arming does not */
        wm_os_sys.mprotect = bad_mprotect;
        CHECK(VirtualAlloc(p, PAGES * 4096, MEM_COMMIT, PAGE_READWRITE) == p);
        wm_os_sys = wm_os_sys_default;
        CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p), PAGES);
        CHECK_EQ(ww(0, p), 0);
        p[4096] = 1;
        CHECK_EQ(ww(0, p), 1);
        /* A VirtualProtect the kernel refused part way: the rollback re-arms clean pages. */
        CHECK_EQ(ResetWriteWatch(p, PAGES * 4096), 0);
        DWORD old;
        wm_os_sys.mprotect = partial_mprotect;
        CHECK(!VirtualProtect(p, 4 * 4096, PAGE_READONLY, &old));
        wm_os_sys = wm_os_sys_default;
        p[2 * 4096] = 1;
        CHECK_EQ(ww(0, p), 1);
        CHECK(res[0] == p + 2 * 4096);
    } else {
        CHECK_EQ(wm_watch_mode, WM_WATCH_FAST);
        p[3 * 4096] = 1;
        wm_os_sys.ioctl = bad_ioctl;
        CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p), PAGES); /* unknown: every page */
        wm_os_sys = wm_os_sys_default;
        p[5 * 4096] = 1;
        long n = ww(0, p);
        int saw5 = 0;
        for (long i = 0; i < n; i++)
            saw5 |= res[i] == p + 5 * 4096;
        CHECK(saw5); /* a write after the failure is not lost */
        CHECK_EQ(ww(WRITE_WATCH_FLAG_RESET, p), n);
        CHECK_EQ(ww(0, p), 0); /* exact again */
    }
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    return wmt_report();
}
