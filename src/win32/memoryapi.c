/*
 * memoryapi.c - VirtualAlloc, VirtualFree, VirtualProtect, VirtualQuery, VirtualLock and
 * their ...Ex forms: one-line wrappers over the Nt calls, plus the few rules Windows checks
 * only at the Win32 level (MEM_RELEASE needs size 0).
 */
#include "win32.h"

#include "except/except.h"

/* VirtualAllocEx: reserve and/or commit; NULL and the last error on failure. */
WINMEM_API LPVOID WINAPI VirtualAllocEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD type,
                                        DWORD prot)
{
    wm_signal_init(); /* guard pages and access violations become exceptions from here on */
    NTSTATUS st = NtAllocateVirtualMemory(process, &addr, 0, &size, type, prot);
    return wm_win32_status(st) ? addr : NULL;
}

WINMEM_API LPVOID WINAPI VirtualAlloc(LPVOID addr, SIZE_T size, DWORD type, DWORD prot)
{
    return VirtualAllocEx(NtCurrentProcess(), addr, size, type, prot);
}

/* VirtualFreeEx: decommit, or release a whole allocation (size must be 0 to release). */
WINMEM_API BOOL WINAPI VirtualFreeEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD type)
{
    wm_signal_init();
    if (type == MEM_RELEASE && size != 0)
        return wm_win32_status(STATUS_INVALID_PARAMETER);
    return wm_win32_status(NtFreeVirtualMemory(process, &addr, &size, type));
}

WINMEM_API BOOL WINAPI VirtualFree(LPVOID addr, SIZE_T size, DWORD type)
{
    return VirtualFreeEx(NtCurrentProcess(), addr, size, type);
}

/* VirtualProtectEx: change the protection of committed pages; old protection of the first. */
WINMEM_API BOOL WINAPI VirtualProtectEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD prot,
                                        PDWORD old)
{
    wm_signal_init();
    return wm_win32_status(NtProtectVirtualMemory(process, &addr, &size, prot, (PULONG)old));
}

WINMEM_API BOOL WINAPI VirtualProtect(LPVOID addr, SIZE_T size, DWORD prot, PDWORD old)
{
    return VirtualProtectEx(NtCurrentProcess(), addr, size, prot, old);
}

/* VirtualQueryEx: bytes written to the buffer, or 0 and the last error. */
WINMEM_API SIZE_T WINAPI VirtualQueryEx(HANDLE process, LPCVOID addr,
                                        PMEMORY_BASIC_INFORMATION info, SIZE_T len)
{
    SIZE_T written = 0;
    NTSTATUS st =
        NtQueryVirtualMemory(process, (PVOID)addr, MemoryBasicInformation, info, len, &written);
    return wm_win32_status(st) ? written : 0;
}

WINMEM_API SIZE_T WINAPI VirtualQuery(LPCVOID addr, PMEMORY_BASIC_INFORMATION info, SIZE_T len)
{
    return VirtualQueryEx(NtCurrentProcess(), addr, info, len);
}

/* VirtualLock / VirtualUnlock: pin committed pages in memory / let them go. */
WINMEM_API BOOL WINAPI VirtualLock(LPVOID addr, SIZE_T size)
{
    wm_signal_init();
    return wm_win32_status(NtLockVirtualMemory(NtCurrentProcess(), &addr, &size, MAP_PROCESS));
}

WINMEM_API BOOL WINAPI VirtualUnlock(LPVOID addr, SIZE_T size)
{
    return wm_win32_status(NtUnlockVirtualMemory(NtCurrentProcess(), &addr, &size, MAP_PROCESS));
}
