/*
 * Fault injection through the wm_os_sys table: when Linux refuses (ENOMEM at
 * vm.max_map_count, EAGAIN from mlock), the Win32 call fails with Windows' error and
 * changes nothing — the model, checked by its invariant checker and by VirtualQuery, and
 * the kernel's protection, checked by touching the page.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"
#include "inject.h"

static int bad_munmap(void *a, size_t l)
{
    (void)a, (void)l;
    errno = fail_errno;
    return -1;
}

static int bad_mlock(const void *a, size_t l)
{
    (void)a, (void)l;
    errno = fail_errno;
    return -1;
}

static void same_mbi(const void *p, const MEMORY_BASIC_INFORMATION *before)
{
    MEMORY_BASIC_INFORMATION now;
    CHECK_EQ(VirtualQuery(p, &now, sizeof(now)), sizeof(now));
    CHECK(memcmp(&now, before, sizeof(now)) == 0);
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);
}

int main(void)
{
    MEMORY_BASIC_INFORMATION before;
    DWORD old;
    size_t regions;

    /* VirtualAlloc: the mapping cannot be made. */
    char *p = VirtualAlloc(NULL, 0x4000, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE(p);
    regions = wm_vm.space.count;
    wm_os_sys.mmap = bad_mmap;
    fail_errno = ENOMEM;
    CHECK_FAILS(VirtualAlloc(NULL, 0x4000, MEM_RESERVE, PAGE_READWRITE), ERROR_NOT_ENOUGH_MEMORY);
    CHECK_FAILS(VirtualAlloc(p + 0x10000 * 16, 0x4000, MEM_RESERVE, PAGE_READWRITE),
                ERROR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(wm_vm.space.count, regions);
    wm_os_sys = wm_os_sys_default;

    /* Commit refused by mprotect: pages stay reserved. */
    CHECK_EQ(VirtualQuery(p, &before, sizeof(before)), sizeof(before));
    wm_os_sys.mprotect = bad_mprotect;
    CHECK_FAILS(VirtualAlloc(p, 0x2000, MEM_COMMIT, PAGE_READWRITE), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    same_mbi(p, &before);

    /* VirtualProtect refused part way: the old protections are put back. */
    REQUIRE(VirtualAlloc(p, 0x4000, MEM_COMMIT, PAGE_READWRITE) == p);
    REQUIRE(VirtualProtect(p + 0x1000, 0x1000, PAGE_READONLY, &old));
    p[0] = 1;
    CHECK_EQ(VirtualQuery(p, &before, sizeof(before)), sizeof(before));
    wm_os_sys.mprotect = partial_mprotect;
    CHECK_FAILS(VirtualProtect(p, 0x4000, PAGE_NOACCESS, &old), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    same_mbi(p, &before);
    p[0] = 2; /* still writable: a fault here would kill the test */
    CHECK_EQ(p[0], 2);

    /* Decommit refused: data and state survive. */
    wm_os_sys.mmap = bad_mmap;
    CHECK_FAILS(VirtualFree(p, 0x1000, MEM_DECOMMIT), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    same_mbi(p, &before);
    CHECK_EQ(p[0], 2);

    /* Release refused: the reservation is still there. */
    wm_os_sys.munmap = bad_munmap;
    CHECK_FAILS(VirtualFree(p, 0, MEM_RELEASE), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    same_mbi(p, &before);

    /* mlock over the limit: the working-set quota error, nothing marked locked. */
    wm_os_sys.mlock = bad_mlock;
    fail_errno = ENOMEM; /* what mlock says beyond RLIMIT_MEMLOCK */
    CHECK_FAILS(VirtualLock(p, 0x1000), ERROR_WORKING_SET_QUOTA);
    fail_errno = EPERM; /* ... and with a zero limit */
    CHECK_FAILS(VirtualLock(p, 0x1000), ERROR_WORKING_SET_QUOTA);
    wm_os_sys = wm_os_sys_default;
    CHECK_FAILS(VirtualUnlock(p, 0x1000), ERROR_NOT_LOCKED);
    same_mbi(p, &before);

    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_EQ(wm_vm.space.count, regions - 1);
    return wmt_report();
}
