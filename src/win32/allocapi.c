/*
 * allocapi.c - VirtualAlloc2, MapViewOfFile3, UnmapViewOfFile2/Ex and the FromApp forms, over
 * NtAllocateVirtualMemoryEx / NtMapViewOfSectionEx (mm/allocex.c).
 */
#include "win32.h"
#include "rtl/trace.h"

#include "except/except.h"

/* What a Store app may not ask for (Microsoft: "the following constants generate an error"). */
static bool app_forbidden(ULONG prot)
{
    ULONG base = prot & 0xff;
    return base == PAGE_EXECUTE_READWRITE || base == PAGE_EXECUTE_WRITECOPY;
}

WINMEM_API PVOID WINAPI VirtualAlloc2(HANDLE process, PVOID base, SIZE_T size, ULONG type,
                                      ULONG prot, MEM_EXTENDED_PARAMETER *params, ULONG count)
{
    WM_TRACE(VirtualAlloc2, process, base, size, type, prot, params, count);
    wm_signal_init(); /* as VirtualAlloc */
    if (!process)
        process = NtCurrentProcess(); /* NULL means the current process here [W] */
    PVOID b = base;
    SIZE_T s = size;
    NTSTATUS st = NtAllocateVirtualMemoryEx(process, &b, &s, type, prot, params, count);
    return st ? (wm_win32_status(st), NULL) : b;
}

WINMEM_API PVOID WINAPI VirtualAlloc2FromApp(HANDLE process, PVOID base, SIZE_T size, ULONG type,
                                             ULONG prot, MEM_EXTENDED_PARAMETER *params,
                                             ULONG count)
{
    WM_TRACE(VirtualAlloc2FromApp, process, base, size, type, prot, params, count);
    if (app_forbidden(prot))
        return (wm_win32_error(ERROR_INVALID_PARAMETER), NULL);
    return VirtualAlloc2(process, base, size, type, prot, params, count);
}

WINMEM_API PVOID WINAPI VirtualAllocFromApp(PVOID base, SIZE_T size, ULONG type, ULONG prot)
{
    WM_TRACE(VirtualAllocFromApp, base, size, type, prot);
    if (app_forbidden(prot))
        return (wm_win32_error(ERROR_INVALID_PARAMETER), NULL);
    return VirtualAlloc(base, size, type, prot);
}

WINMEM_API BOOL WINAPI VirtualProtectFromApp(PVOID addr, SIZE_T size, ULONG prot, PULONG old)
{
    WM_TRACE(VirtualProtectFromApp, addr, size, prot, old);
    if (app_forbidden(prot))
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    return VirtualProtect(addr, size, prot, (PDWORD)old);
}

WINMEM_API PVOID WINAPI MapViewOfFile3(HANDLE mapping, HANDLE process, PVOID base, ULONG64 offset,
                                       SIZE_T size, ULONG type, ULONG prot,
                                       MEM_EXTENDED_PARAMETER *params, ULONG count)
{
    WM_TRACE(MapViewOfFile3, mapping, process, base, offset, size, type, prot, params, count);
    wm_signal_init();
    if (!process)
        process = NtCurrentProcess();
    LARGE_INTEGER off;
    off.QuadPart = (LONGLONG)offset;
    PVOID b = base;
    SIZE_T s = size;
    NTSTATUS st = NtMapViewOfSectionEx(mapping, process, &b, &off, &s, type, prot, params, count);
    return st ? (wm_win32_status(st), NULL) : b;
}

WINMEM_API PVOID WINAPI MapViewOfFile3FromApp(HANDLE mapping, HANDLE process, PVOID base,
                                              ULONG64 offset, SIZE_T size, ULONG type, ULONG prot,
                                              MEM_EXTENDED_PARAMETER *params, ULONG count)
{
    WM_TRACE(MapViewOfFile3FromApp, mapping, process, base, offset, size, type, prot, params,
             count);
    if (app_forbidden(prot))
        return (wm_win32_error(ERROR_INVALID_PARAMETER), NULL);
    return MapViewOfFile3(mapping, process, base, offset, size, type, prot, params, count);
}

WINMEM_API BOOL WINAPI UnmapViewOfFile2(HANDLE process, PVOID base, ULONG flags)
{
    WM_TRACE(UnmapViewOfFile2, process, base, flags);
    return wm_win32_status(NtUnmapViewOfSectionEx(process, base, flags));
}

WINMEM_API BOOL WINAPI UnmapViewOfFileEx(PVOID base, ULONG flags)
{
    WM_TRACE(UnmapViewOfFileEx, base, flags);
    return wm_win32_status(NtUnmapViewOfSectionEx(NtCurrentProcess(), base, flags));
}
