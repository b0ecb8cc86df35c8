/*
 * inject.h - system-call failures for the unit tests that go through the wm_os_sys table
 * (inject.c, watch_inject.c, rollback.c, heap_oom.c): let fail_after calls through (one
 * count shared by the calls a test swaps in), then refuse with fail_errno; or refuse
 * part-way as the kernel does at vm.max_map_count.  Static inline: each test takes what it
 * needs.
 */
#ifndef WINMEM_TEST_INJECT_H
#define WINMEM_TEST_INJECT_H

#include <errno.h>
#include <sys/mman.h>

#include "mm/mm.h"

static int fail_errno = ENOMEM;
static unsigned fail_after; /* let this many calls through first */

static inline void *bad_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
    if (fail_after) {
        fail_after--;
        return wm_os_sys_default.mmap(a, l, p, f, fd, o);
    }
    errno = fail_errno;
    return MAP_FAILED;
}

static inline int bad_mprotect(void *a, size_t l, int p)
{
    if (fail_after) {
        fail_after--;
        return wm_os_sys_default.mprotect(a, l, p);
    }
    errno = fail_errno;
    return -1;
}

/* Like the kernel at vm.max_map_count: the first page changes, then ENOMEM.  Later calls
 * (the rollback) go through. */
static inline int partial_mprotect(void *a, size_t l, int p)
{
    wm_os_sys.mprotect = wm_os_sys_default.mprotect;
    if (l > 4096)
        wm_os_sys_default.mprotect(a, 4096, p);
    errno = ENOMEM;
    return -1;
}

#endif
