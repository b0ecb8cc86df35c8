/*
 * sysinfoapi.c - GetSystemInfo, GetNativeSystemInfo, GetLargePageMinimum, and the process
 * pseudo handles of processthreadsapi.h.
 */
#include "win32.h"

#include "mm/mm.h"

WINMEM_API VOID WINAPI GetNativeSystemInfo(LPSYSTEM_INFO si)
{
    struct wm_system sys;
    wm_vmstate_system(&sys);
    int cpus = sys.cpus;

    si->dwOemId = 0;
#if defined(__x86_64__)
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
    si->dwProcessorType = PROCESSOR_AMD_X8664;
    si->wProcessorLevel = 6;
#elif defined(__aarch64__)
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_ARM64;
    si->dwProcessorType = PROCESSOR_ARM;
    si->wProcessorLevel = 8;
#else
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_UNKNOWN;
    si->dwProcessorType = 0;
    si->wProcessorLevel = 0;
#endif
    si->wReserved = 0;
    si->dwPageSize = (DWORD)sys.page;
    si->lpMinimumApplicationAddress = (LPVOID)WM_MIN_ADDRESS;
    si->lpMaximumApplicationAddress = (LPVOID)WM_MAX_ADDRESS;
    si->dwActiveProcessorMask = cpus >= 64 ? ~(DWORD_PTR)0 : ((DWORD_PTR)1 << cpus) - 1;
    si->dwNumberOfProcessors = (DWORD)cpus;
    si->dwAllocationGranularity = (DWORD)WM_GRANULARITY;
    si->wProcessorRevision = 0;
}

WINMEM_API VOID WINAPI GetSystemInfo(LPSYSTEM_INFO si)
{
    GetNativeSystemInfo(si);
}

WINMEM_API SIZE_T WINAPI GetLargePageMinimum(VOID)
{
    struct wm_system sys;
    wm_vmstate_system(&sys);
    return sys.large_page;
}

WINMEM_API HANDLE WINAPI GetCurrentProcess(VOID)
{
    return NtCurrentProcess();
}

WINMEM_API HANDLE WINAPI GetCurrentThread(VOID)
{
    return NtCurrentThread();
}

WINMEM_API DWORD WINAPI GetCurrentProcessId(VOID)
{
    return wm_handle_process_id();
}

/* ---- memory status ------------------------------------------------------------------------ */

/* FALSE with ERROR_INVALID_PARAMETER unless dwLength is sizeof(MEMORYSTATUSEX), as Windows. */
WINMEM_API BOOL WINAPI GlobalMemoryStatusEx(LPMEMORYSTATUSEX ms)
{
    struct wm_memory_status s;

    if (!ms || ms->dwLength != sizeof(*ms))
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    NTSTATUS st = wm_status_memory(&s);
    if (st)
        return wm_win32_status(st);
    ms->dwMemoryLoad = s.load;
    ms->ullTotalPhys = s.total_phys;
    ms->ullAvailPhys = s.avail_phys;
    ms->ullTotalPageFile = s.total_commit;
    ms->ullAvailPageFile = s.avail_commit;
    ms->ullTotalVirtual = s.total_virtual;
    ms->ullAvailVirtual = s.avail_virtual;
    ms->ullAvailExtendedVirtual = 0;
    return TRUE;
}

/* The old form: sets dwLength itself and cannot fail (zeros if the figures are unreadable). */
WINMEM_API VOID WINAPI GlobalMemoryStatus(LPMEMORYSTATUS ms)
{
    struct wm_memory_status s = { 0 };

    wm_status_memory(&s);
    ms->dwLength = sizeof(*ms);
    ms->dwMemoryLoad = s.load;
    ms->dwTotalPhys = (SIZE_T)s.total_phys;
    ms->dwAvailPhys = (SIZE_T)s.avail_phys;
    ms->dwTotalPageFile = (SIZE_T)s.total_commit;
    ms->dwAvailPageFile = (SIZE_T)s.avail_commit;
    ms->dwTotalVirtual = (SIZE_T)s.total_virtual;
    ms->dwAvailVirtual = (SIZE_T)s.avail_virtual;
}

WINMEM_API BOOL WINAPI GetPhysicallyInstalledSystemMemory(PULONGLONG kb)
{
    uint64_t bytes;

    if (!kb)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    NTSTATUS st = wm_status_installed(&bytes);
    if (st)
        return wm_win32_status(st);
    *kb = bytes / 1024;
    return TRUE;
}
