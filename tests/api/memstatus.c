/*
 * memstatus.c - GlobalMemoryStatusEx, GlobalMemoryStatus, GetPhysicallyInstalledSystemMemory
 * and the working-set sizes: the size check, figures that hold together (available within
 * total, the user address space as GetSystemInfo bounds it, a reservation showing up as less
 * free address space), Windows' default working-set sizes and the argument checks of
 * SetProcessWorkingSetSize(Ex); on Linux, the free address space RLIMIT_AS leaves.
 */
#include "apitest.h"

#ifndef _WIN32
#include <sys/resource.h>
#include <unistd.h>
#endif

#define GIB ((ULONGLONG)1 << 30)

static void test_status(void)
{
    MEMORYSTATUSEX ms;
    memset(&ms, 0, sizeof ms);
    ms.dwLength = sizeof ms - 1;
    CHECK_FAILS(GlobalMemoryStatusEx(&ms), ERROR_INVALID_PARAMETER);
    ms.dwLength = 0;
    CHECK_FAILS(GlobalMemoryStatusEx(&ms), ERROR_INVALID_PARAMETER);

    ms.dwLength = sizeof ms;
    REQUIRE_VOID(GlobalMemoryStatusEx(&ms));
    CHECK(ms.dwMemoryLoad <= 100);
    CHECK(ms.ullTotalPhys > 0);
    CHECK(ms.ullAvailPhys <= ms.ullTotalPhys);
    CHECK(ms.ullTotalPageFile >= ms.ullAvailPageFile);
    CHECK_EQ(ms.ullAvailExtendedVirtual, 0);

    SYSTEM_INFO si;
    GetSystemInfo(&si);
    ULONGLONG span = (ULONGLONG)(ULONG_PTR)si.lpMaximumApplicationAddress + 1 -
                     (ULONGLONG)(ULONG_PTR)si.lpMinimumApplicationAddress;
    CHECK_EQ(ms.ullTotalVirtual, span);
    CHECK(ms.ullAvailVirtual < ms.ullTotalVirtual);

    /* Reserving 4 GiB takes 4 GiB of free address space (other threads of the test runner
     * may map a little meanwhile, never unmap 4 GiB). */
    if (wmt_room_for("the 4 GiB reservation", 4 * GIB)) {
        void *p = VirtualAlloc(NULL, 4 * GIB, MEM_RESERVE, PAGE_NOACCESS);
        REQUIRE_VOID(p);
        MEMORYSTATUSEX after;
        after.dwLength = sizeof after;
        REQUIRE_VOID(GlobalMemoryStatusEx(&after));
#ifndef _WIN32
        /* Reserved memory is not available (Microsoft: "unreserved and uncommitted"); Wine's
         * figure does not move. */
        CHECK(after.ullAvailVirtual <= ms.ullAvailVirtual - 4 * GIB);
        CHECK(after.ullAvailVirtual >= ms.ullAvailVirtual - 5 * GIB);
#endif
        CHECK(VirtualFree(p, 0, MEM_RELEASE));
    }

    MEMORYSTATUS old;
    memset(&old, 0xcc, sizeof old);
    old.dwLength = 0; /* the old form sets it itself */
    GlobalMemoryStatus(&old);
    CHECK_EQ(old.dwLength, sizeof old);
    CHECK(old.dwMemoryLoad <= 100);
    CHECK(old.dwAvailPhys <= old.dwTotalPhys);
    CHECK_EQ(old.dwTotalVirtual, span);

    ULONGLONG kb = 0;
    CHECK_FAILS(GetPhysicallyInstalledSystemMemory(NULL), ERROR_INVALID_PARAMETER);
    CHECK(GetPhysicallyInstalledSystemMemory(&kb));
    /* What is installed is at least what the system (or a container) lets one use. */
    CHECK(kb * 1024 >= ms.ullTotalPhys);
}

static void test_working_set(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    SIZE_T lo = 0, hi = 0;
    DWORD flags = 0xdeadbeef;

    REQUIRE_VOID(GetProcessWorkingSetSizeEx(GetCurrentProcess(), &lo, &hi, &flags));
    CHECK(lo <= hi);
#ifndef _WIN32
    /* Microsoft's documented defaults: 50 and 345 pages, soft limits (Wine reports 32 MiB). */
    SIZE_T page = si.dwPageSize;
    CHECK_EQ(lo, 50 * page);
    CHECK_EQ(hi, 345 * page);
    CHECK_EQ(flags, QUOTA_LIMITS_HARDWS_MIN_DISABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE);

    /* Argument checks; none changes the sizes.  (Wine's SetProcessWorkingSetSize is a stub
     * that accepts anything, so these run on Linux only.) */
    CHECK_FAILS(SetProcessWorkingSetSize(GetCurrentProcess(), 8 << 20, 4 << 20),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(SetProcessWorkingSetSizeEx(GetCurrentProcess(), 4 << 20, 8 << 20,
                                           QUOTA_LIMITS_HARDWS_MIN_ENABLE |
                                               QUOTA_LIMITS_HARDWS_MIN_DISABLE),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(SetProcessWorkingSetSizeEx(GetCurrentProcess(), 4 << 20, 8 << 20,
                                           QUOTA_LIMITS_HARDWS_MAX_ENABLE |
                                               QUOTA_LIMITS_HARDWS_MAX_DISABLE),
                ERROR_INVALID_PARAMETER);
    REQUIRE_VOID(GetProcessWorkingSetSize(GetCurrentProcess(), &lo, &hi));
    CHECK_EQ(lo, 50 * page);
    CHECK_EQ(hi, 345 * page);

    /* Emptying the working set leaves the sizes alone. */
    CHECK(SetProcessWorkingSetSize(GetCurrentProcess(), (SIZE_T)-1, (SIZE_T)-1));
    REQUIRE_VOID(GetProcessWorkingSetSize(GetCurrentProcess(), &lo, &hi));
    CHECK_EQ(lo, 50 * page);

    /* Raised, then read back; the memory may then be locked (the documented way to lock
     * more than the default allows). */
    CHECK(SetProcessWorkingSetSize(GetCurrentProcess(), 4 << 20, 16 << 20));
    REQUIRE_VOID(GetProcessWorkingSetSize(GetCurrentProcess(), &lo, &hi));
    CHECK_EQ(lo, 4 << 20);
    CHECK_EQ(hi, 16 << 20);
    void *p = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(p);
    /* The raised minimum raises the soft memlock limit, as far as the hard one allows: where
     * the hard limit is lower than 1 MiB (some containers), the lock is not to be had. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
        rl.rlim_max < (1u << 20) && geteuid() != 0) {
        printf("hard RLIMIT_MEMLOCK %llu: the 1 MiB lock is skipped\n",
               (unsigned long long)rl.rlim_max);
    } else {
        /* the soft limit reached the minimum, or the hard limit where that is lower */
        CHECK(getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
              (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (4u << 20) ||
               rl.rlim_cur == rl.rlim_max));
        CHECK(VirtualLock(p, 1 << 20));
        CHECK(VirtualUnlock(p, 1 << 20));
    }
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    CHECK(SetProcessWorkingSetSizeEx(GetCurrentProcess(), 4 << 20, 16 << 20,
                                     QUOTA_LIMITS_HARDWS_MAX_ENABLE));
    REQUIRE_VOID(GetProcessWorkingSetSizeEx(GetCurrentProcess(), &lo, &hi, &flags));
    CHECK_EQ(flags, QUOTA_LIMITS_HARDWS_MIN_DISABLE | QUOTA_LIMITS_HARDWS_MAX_ENABLE);
    CHECK(SetProcessWorkingSetSizeEx(GetCurrentProcess(), 4 << 20, 16 << 20,
                                     QUOTA_LIMITS_HARDWS_MAX_DISABLE));
#endif
}

#ifndef _WIN32
/* Under RLIMIT_AS (ulimit -v) the free address space is what the limit leaves: the
 * reservation of nearly all of it fits, and then 2 MiB more fails as out of memory. */
static void test_as_limit(void)
{
    const unsigned long long room = 256ull << 20;
    struct rlimit was, tight;
    REQUIRE_VOID(getrlimit(RLIMIT_AS, &was) == 0);
    unsigned long long size = at_status_bytes("VmSize");
    REQUIRE_VOID(size > 0);
    if (was.rlim_cur != RLIM_INFINITY && was.rlim_cur < size + room) {
        printf("skipped: RLIMIT_AS %llu leaves less than 256 MiB to test with\n",
               (unsigned long long)was.rlim_cur);
        return;
    }
    tight = was;
    tight.rlim_cur = size + room;
    REQUIRE_VOID(setrlimit(RLIMIT_AS, &tight) == 0);
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    if (GlobalMemoryStatusEx(&ms)) {
        CHECK(ms.ullAvailVirtual <= room);
        CHECK(ms.ullAvailVirtual >= room / 2);
        SIZE_T most = (SIZE_T)(ms.ullAvailVirtual & ~(ULONGLONG)0xffff) - (1 << 20);
        void *p = VirtualAlloc(NULL, most, MEM_RESERVE, PAGE_NOACCESS);
        CHECK(p != NULL);
        CHECK_FAILS(VirtualAlloc(NULL, 2 << 20, MEM_RESERVE, PAGE_NOACCESS),
                    ERROR_NOT_ENOUGH_MEMORY);
        if (p)
            CHECK(VirtualFree(p, 0, MEM_RELEASE));
    } else {
        CHECK(!"GlobalMemoryStatusEx under RLIMIT_AS");
    }
    CHECK(setrlimit(RLIMIT_AS, &was) == 0);
}
#endif

int main(void)
{
    at_init();
    test_status();
    test_working_set();
#ifndef _WIN32
    test_as_limit();
#endif
    return wmt_report();
}
