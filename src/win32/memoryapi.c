/*
 * memoryapi.c - VirtualAlloc, VirtualFree, VirtualProtect, VirtualQuery, VirtualLock and
 * their ...Ex forms: one-line wrappers over the Nt calls, plus the few rules Windows checks
 * only at the Win32 level (MEM_RELEASE needs size 0).
 */
#include "win32.h"

#include "except/except.h"
#include "nt/nt.h"

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

/* The secure memory cache protocol: when the NT call refused because the range is secured,
 * run the callbacks on the attempted range (no lock held) and, if one of them unsecured
 * something, try once more.  Nothing here allocates. */
static bool flush_secured(NTSTATUS st, LPVOID addr, SIZE_T size)
{
    if (st != STATUS_INVALID_PAGE_PROTECTION || !wm_secure_take_refusal())
        return false;
    if (size == 0) /* a whole-allocation free: the callbacks see the allocation's size */
        size = wm_secure_allocation_size((uintptr_t)addr);
    return RtlFlushSecureMemoryCache(addr, size);
}

/* VirtualFreeEx: decommit, or release a whole allocation (size must be 0 to release). */
WINMEM_API BOOL WINAPI VirtualFreeEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD type)
{
    LPVOID a = addr;
    SIZE_T s = size;

    wm_signal_init();
    if (type == MEM_RELEASE && size != 0)
        return wm_win32_status(STATUS_INVALID_PARAMETER);
    NTSTATUS st = NtFreeVirtualMemory(process, &a, &s, type);
    if (flush_secured(st, addr, size)) {
        a = addr;
        s = size;
        st = NtFreeVirtualMemory(process, &a, &s, type);
        wm_secure_take_refusal();
    }
    return wm_win32_status(st);
}

WINMEM_API BOOL WINAPI VirtualFree(LPVOID addr, SIZE_T size, DWORD type)
{
    return VirtualFreeEx(NtCurrentProcess(), addr, size, type);
}

/* VirtualProtectEx: change the protection of committed pages; old protection of the first. */
WINMEM_API BOOL WINAPI VirtualProtectEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD prot,
                                        PDWORD old)
{
    LPVOID a = addr;
    SIZE_T s = size;

    wm_signal_init();
    NTSTATUS st = NtProtectVirtualMemory(process, &a, &s, prot, (PULONG)old);
    if (flush_secured(st, addr, size)) {
        a = addr;
        s = size;
        st = NtProtectVirtualMemory(process, &a, &s, prot, (PULONG)old);
        wm_secure_take_refusal();
    }
    return wm_win32_status(st);
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
