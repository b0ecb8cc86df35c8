/*
 * White-box: a process whose call-target bitmap cannot be reserved (the kernel refuses the
 * mapping) runs with CFG off, as a Windows process whose image did not opt in: executable
 * memory with PAGE_TARGETS_INVALID is still allocated, every target passes the check,
 * GetProcessMitigationPolicy says CFG is off, and SetProcessValidCallTargets does not
 * succeed.
 */
#include <errno.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

static void *no_big_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
    if (l >= ((size_t)1 << 36)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return wm_os_sys_default.mmap(a, l, p, f, fd, o);
}

int main(void)
{
    PROCESS_MITIGATION_CONTROL_FLOW_GUARD_POLICY pol;
    CFG_CALL_TARGET_INFO e = { 0, CFG_CALL_TARGET_VALID };

    wm_os_sys.mmap = no_big_mmap;
    unsigned char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT | MEM_RESERVE,
                                    PAGE_EXECUTE_READ | PAGE_TARGETS_INVALID);
    REQUIRE(p);
    CHECK(wm_cfg_valid_sigsafe((uintptr_t)p));
    CHECK(!wm_cfg_enabled());
    CHECK(GetProcessMitigationPolicy(GetCurrentProcess(), ProcessControlFlowGuardPolicy, &pol,
                                     sizeof(pol)));
    CHECK_EQ(pol.Flags, 0);
    CHECK_FAILS(SetProcessValidCallTargets(GetCurrentProcess(), p, 0x10000, 1, &e),
                ERROR_NOT_SUPPORTED);
    CHECK_EQ(e.Flags, CFG_CALL_TARGET_VALID);
    /* Off for good: the kernel is not asked again. */
    wm_os_sys = wm_os_sys_default;
    CHECK(!wm_cfg_enabled());
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    return wmt_report();
}
