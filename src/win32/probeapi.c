/*
 * probeapi.c - IsBadReadPtr and the other probes, ReadProcessMemory / WriteProcessMemory,
 * FlushInstructionCache, PrefetchVirtualMemory and DiscardVirtualMemory.
 *
 * The probes need winmem's signal handler (a fault in them is caught there, and a guard page
 * loses its guard as on Windows), so they install it first, as VirtualAlloc does.
 */
#include "win32.h"

#include "except/except.h"
#include "mm/mm.h"

WINMEM_API BOOL WINAPI IsBadReadPtr(const VOID *lp, UINT_PTR ucb)
{
    if (!ucb)
        return FALSE;
    if (!lp)
        return TRUE;
    wm_signal_init();
    return !wm_probe_range(lp, ucb, false);
}

WINMEM_API BOOL WINAPI IsBadWritePtr(LPVOID lp, UINT_PTR ucb)
{
    if (!ucb)
        return FALSE;
    if (!lp)
        return TRUE;
    wm_signal_init();
    return !wm_probe_range(lp, ucb, true);
}

WINMEM_API BOOL WINAPI IsBadHugeReadPtr(const VOID *lp, UINT_PTR ucb)
{
    return IsBadReadPtr(lp, ucb);
}

WINMEM_API BOOL WINAPI IsBadHugeWritePtr(LPVOID lp, UINT_PTR ucb)
{
    return IsBadWritePtr(lp, ucb);
}

/* Whether one byte at the function's address can be read (Windows checks no more). */
WINMEM_API BOOL WINAPI IsBadCodePtr(FARPROC lpfn)
{
    return IsBadReadPtr((const VOID *)(UINT_PTR)lpfn, 1);
}

WINMEM_API BOOL WINAPI IsBadStringPtrA(LPCSTR lpsz, UINT_PTR ucchMax)
{
    if (!ucchMax)
        return FALSE;
    if (!lpsz)
        return TRUE;
    wm_signal_init();
    return !wm_probe_string(lpsz, ucchMax, 1);
}

WINMEM_API BOOL WINAPI IsBadStringPtrW(LPCWSTR lpsz, UINT_PTR ucchMax)
{
    if (!ucchMax)
        return FALSE;
    if (!lpsz)
        return TRUE;
    wm_signal_init();
    return !wm_probe_string(lpsz, ucchMax, sizeof(WCHAR));
}

/* Both set *count (when given) to the bytes copied, also when the copy stopped part way. */
WINMEM_API BOOL WINAPI ReadProcessMemory(HANDLE process, LPCVOID base, LPVOID buffer, SIZE_T size,
                                         SIZE_T *count)
{
    wm_signal_init();
    return wm_win32_status(NtReadVirtualMemory(process, (PVOID)base, buffer, size, count));
}

static bool writable(DWORD prot)
{
    switch (prot & 0xff) {
    case PAGE_READWRITE:
    case PAGE_WRITECOPY:
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY:
        return true;
    default:
        return false;
    }
}

/* As Windows' kernel32 does, a write into code (PAGE_EXECUTE, PAGE_EXECUTE_READ) makes the
 * pages writable for the copy, puts the protection back and flushes the instruction cache, so
 * a debugger or patcher can write breakpoints; read-only, inaccessible and guard pages are not
 * written (ERROR_NOACCESS). */
WINMEM_API BOOL WINAPI WriteProcessMemory(HANDLE process, LPVOID base, LPCVOID buffer, SIZE_T size,
                                          SIZE_T *count)
{
    MEMORY_BASIC_INFORMATION mbi;
    SIZE_T done = 0;

    wm_signal_init();
    if (count)
        *count = 0;
    NTSTATUS st =
        NtQueryVirtualMemory(process, base, MemoryBasicInformation, &mbi, sizeof mbi, NULL);
    if (st)
        return wm_win32_status(st);
    if (!size || writable(mbi.Protect))
        return wm_win32_status(NtWriteVirtualMemory(process, base, (PVOID)buffer, size, count));
    if (mbi.State != MEM_COMMIT || (mbi.Protect & PAGE_GUARD) ||
        ((mbi.Protect & 0xff) != PAGE_EXECUTE && (mbi.Protect & 0xff) != PAGE_EXECUTE_READ))
        return wm_win32_error(ERROR_NOACCESS);
    PVOID at = base;
    SIZE_T len = size;
    ULONG old;
    ULONG prot = (mbi.Type == MEM_PRIVATE) ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_WRITECOPY;
    if ((st = NtProtectVirtualMemory(process, &at, &len, prot, &old)))
        return wm_win32_status(st);
    st = NtWriteVirtualMemory(process, base, (PVOID)buffer, size, &done);
    at = base;
    len = size;
    ULONG ignored;
    NtProtectVirtualMemory(process, &at, &len, old, &ignored);
    NtFlushInstructionCache(process, base, size);
    if (count)
        *count = done;
    return wm_win32_status(st);
}

WINMEM_API BOOL WINAPI FlushInstructionCache(HANDLE process, LPCVOID base, SIZE_T size)
{
    return wm_win32_status(NtFlushInstructionCache(process, (PVOID)base, size));
}

WINMEM_API BOOL WINAPI PrefetchVirtualMemory(HANDLE process, ULONG_PTR entries,
                                             PWIN32_MEMORY_RANGE_ENTRY ranges, ULONG flags)
{
    if (flags || !entries || !ranges)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    return wm_win32_status(wm_prefetch(process, ranges, entries));
}

WINMEM_API DWORD WINAPI DiscardVirtualMemory(PVOID addr, SIZE_T size)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    if (!size || ((UINT_PTR)addr | size) & (si.dwPageSize - 1))
        return ERROR_INVALID_PARAMETER;
    PVOID a = addr;
    SIZE_T s = size;
    /* MEM_RESET: the kernel may drop the pages, which then read as zero. */
    NTSTATUS st = NtAllocateVirtualMemory(NtCurrentProcess(), &a, 0, &s, MEM_RESET, PAGE_NOACCESS);
    return RtlNtStatusToDosError(st);
}
