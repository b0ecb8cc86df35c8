/*
 * memoryapi.c - VirtualAlloc, VirtualFree, VirtualProtect, VirtualQuery, VirtualLock and
 * their ...Ex forms: one-line wrappers over the Nt calls, plus the few rules Windows checks
 * only at the Win32 level (MEM_RELEASE needs size 0).
 */
#include "win32.h"
#include "rtl/trace.h"

#include "psapi.h"

#include "rtl/rtl.h"

#include "except/except.h"
#include "mm/mm.h"

/* VirtualAllocEx: reserve and/or commit; NULL and the last error on failure. */
WINMEM_API LPVOID WINAPI VirtualAllocEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD type,
                                        DWORD prot)
{
    WM_TRACE(VirtualAllocEx, process, addr, size, type, prot);
    wm_signal_init(); /* guard pages and access violations become exceptions from here on */
    NTSTATUS st = NtAllocateVirtualMemory(process, &addr, 0, &size, type, prot);
    return wm_win32_status(st) ? addr : NULL;
}

WINMEM_API LPVOID WINAPI VirtualAlloc(LPVOID addr, SIZE_T size, DWORD type, DWORD prot)
{
    WM_TRACE(VirtualAlloc, addr, size, type, prot);
    return VirtualAllocEx(NtCurrentProcess(), addr, size, type, prot);
}

/* VirtualFreeEx: decommit, or release a whole allocation (size must be 0 to release).  A
 * secured range runs the secure memory cache callbacks inside NtFreeVirtualMemory. */
WINMEM_API BOOL WINAPI VirtualFreeEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD type)
{
    WM_TRACE(VirtualFreeEx, process, addr, size, type);
    wm_signal_init();
    /* Only the placeholder operations release a range given by its size. */
    if (type == MEM_RELEASE && size != 0)
        return wm_win32_status(STATUS_INVALID_PARAMETER);
    return wm_win32_status(NtFreeVirtualMemory(process, &addr, &size, type));
}

WINMEM_API BOOL WINAPI VirtualFree(LPVOID addr, SIZE_T size, DWORD type)
{
    WM_TRACE(VirtualFree, addr, size, type);
    return VirtualFreeEx(NtCurrentProcess(), addr, size, type);
}

/* VirtualProtectEx: change the protection of committed pages; old protection of the first. */
WM_HOT WINMEM_API BOOL WINAPI VirtualProtectEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD prot,
                                               PDWORD old)
{
    WM_TRACE(VirtualProtectEx, process, addr, size, prot, old);
    wm_signal_init();
    return wm_win32_status(NtProtectVirtualMemory(process, &addr, &size, prot, (PULONG)old));
}

WM_HOT WINMEM_API BOOL WINAPI VirtualProtect(LPVOID addr, SIZE_T size, DWORD prot, PDWORD old)
{
    WM_TRACE(VirtualProtect, addr, size, prot, old);
    return VirtualProtectEx(NtCurrentProcess(), addr, size, prot, old);
}

/* VirtualQueryEx: bytes written to the buffer, or 0 and the last error. */
WINMEM_API SIZE_T WINAPI VirtualQueryEx(HANDLE process, LPCVOID addr,
                                        PMEMORY_BASIC_INFORMATION info, SIZE_T len)
{
    WM_TRACE(VirtualQueryEx, process, addr, info, len);
    SIZE_T written = 0;
    NTSTATUS st =
        NtQueryVirtualMemory(process, (PVOID)addr, MemoryBasicInformation, info, len, &written);
    return wm_win32_status(st) ? written : 0;
}

WINMEM_API SIZE_T WINAPI VirtualQuery(LPCVOID addr, PMEMORY_BASIC_INFORMATION info, SIZE_T len)
{
    WM_TRACE(VirtualQuery, addr, info, len);
    return VirtualQueryEx(NtCurrentProcess(), addr, info, len);
}

/* VirtualLock / VirtualUnlock: pin committed pages in memory / let them go. */
WINMEM_API BOOL WINAPI VirtualLock(LPVOID addr, SIZE_T size)
{
    WM_TRACE(VirtualLock, addr, size);
    wm_signal_init();
    return wm_win32_status(NtLockVirtualMemory(NtCurrentProcess(), &addr, &size, MAP_PROCESS));
}

WINMEM_API BOOL WINAPI VirtualUnlock(LPVOID addr, SIZE_T size)
{
    WM_TRACE(VirtualUnlock, addr, size);
    return wm_win32_status(NtUnlockVirtualMemory(NtCurrentProcess(), &addr, &size, MAP_PROCESS));
}

/* ---- file mappings ------------------------------------------------------------------------ */

#define SEC_MASK                                                                               \
    (SEC_PARTITION_OWNER_HANDLE | SEC_64K_PAGES | SEC_FILE | SEC_IMAGE | SEC_PROTECTED_IMAGE | \
     SEC_RESERVE | SEC_COMMIT | SEC_NOCACHE | SEC_WRITECOMBINE | SEC_LARGE_PAGES |             \
     SEC_HUGE_PAGES | SEC_BASED | SEC_NO_CHANGE | SEC_GLOBAL)

/* An object name as a counted string.  A UNICODE_STRING holds at most 32,767 characters: a
 * longer name fails (ERROR_FILENAME_EXCED_RANGE) rather than wrapping into another name. */
static bool object_name(LPCWSTR name, UNICODE_STRING *us)
{
    size_t n = wm_unicode_len(name);
    if (n > 0x7fff) {
        wm_win32_error(ERROR_FILENAME_EXCED_RANGE);
        return false;
    }
    us->Length = us->MaximumLength = (USHORT)(n * sizeof(WCHAR));
    us->Buffer = (PWSTR)name;
    return true;
}

/* The A forms take names up to MAX_PATH characters, as Windows' conversion of an ANSI object
 * name does (longer: ERROR_FILENAME_EXCED_RANGE); here the bytes are UTF-8. */
static bool ansi_object_name(LPCSTR name, WCHAR buf[MAX_PATH + 1])
{
    if (wm_unicode_from_utf8(name, buf, MAX_PATH + 1) >= 0)
        return true;
    /* Too long, or not UTF-8: tell which. */
    size_t units = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        units += (*p & 0xc0) != 0x80; /* a lower bound on the UTF-16 length */
    wm_win32_error(units > MAX_PATH ? ERROR_FILENAME_EXCED_RANGE : ERROR_INVALID_NAME);
    return false;
}

/* CreateFileMappingW: a section of the paging file (INVALID_HANDLE_VALUE) or of a file.  The
 * last error is 0 for a new object and ERROR_ALREADY_EXISTS for an existing name. */
WINMEM_API HANDLE WINAPI CreateFileMappingW(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD prot,
                                            DWORD size_hi, DWORD size_lo, LPCWSTR name)
{
    WM_TRACE(CreateFileMappingW, file, sa, prot, size_hi, size_lo, name);
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa = { sizeof(oa), NULL, NULL, 0, NULL, NULL };
    LARGE_INTEGER size;
    HANDLE h = NULL;
    ULONG attrs = prot & SEC_MASK;

    (void)sa;
    if (!file) {
        wm_win32_status(STATUS_INVALID_HANDLE);
        return NULL;
    }
    if (name) {
        if (!object_name(name, &us))
            return NULL;
        oa.ObjectName = &us;
    }
    size.QuadPart = (LONGLONG)((uint64_t)size_hi << 32 | size_lo);
    NTSTATUS st =
        NtCreateSection(&h, SECTION_ALL_ACCESS, &oa, &size, prot & ~SEC_MASK,
                        attrs ? attrs : SEC_COMMIT, file == INVALID_HANDLE_VALUE ? NULL : file);
    if (st == STATUS_OBJECT_NAME_EXISTS) {
        wm_win32_error(ERROR_ALREADY_EXISTS);
        return h;
    }
    if (!wm_win32_status(st))
        return NULL;
    wm_win32_error(ERROR_SUCCESS);
    return h;
}

WINMEM_API HANDLE WINAPI CreateFileMappingA(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD prot,
                                            DWORD size_hi, DWORD size_lo, LPCSTR name)
{
    WM_TRACE(CreateFileMappingA, file, sa, prot, size_hi, size_lo, name);
    WCHAR buf[MAX_PATH + 1];
    if (name && !ansi_object_name(name, buf))
        return NULL;
    return CreateFileMappingW(file, sa, prot, size_hi, size_lo, name ? buf : NULL);
}

/* OpenFileMappingW: ERROR_FILE_NOT_FOUND for a name no process holds. */
WINMEM_API HANDLE WINAPI OpenFileMappingW(DWORD access, BOOL inherit, LPCWSTR name)
{
    WM_TRACE(OpenFileMappingW, access, inherit, name);
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa = { sizeof(oa), NULL, &us, inherit ? OBJ_INHERIT : 0, NULL, NULL };
    HANDLE h = NULL;

    if (!name) {
        wm_win32_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    if (!object_name(name, &us))
        return NULL;
    /* FILE_MAP_COPY is SECTION_QUERY by value: a copy view needs the right to read. */
    if (access == FILE_MAP_COPY)
        access = FILE_MAP_READ;
    return wm_win32_status(NtOpenSection(&h, access, &oa)) ? h : NULL;
}

WINMEM_API HANDLE WINAPI OpenFileMappingA(DWORD access, BOOL inherit, LPCSTR name)
{
    WM_TRACE(OpenFileMappingA, access, inherit, name);
    WCHAR buf[MAX_PATH + 1];
    if (name && !ansi_object_name(name, buf))
        return NULL;
    return OpenFileMappingW(access, inherit, name ? buf : NULL);
}

WINMEM_API LPVOID WINAPI MapViewOfFileEx(HANDLE mapping, DWORD access, DWORD off_hi, DWORD off_lo,
                                         SIZE_T size, LPVOID base)
{
    WM_TRACE(MapViewOfFileEx, mapping, access, off_hi, off_lo, size, base);
    LARGE_INTEGER off;

    wm_signal_init(); /* copy-on-write and guard pages in views need the fault handler */
    off.QuadPart = (LONGLONG)((uint64_t)off_hi << 32 | off_lo);
    NTSTATUS st = NtMapViewOfSection(mapping, NtCurrentProcess(), &base, 0, 0, &off, &size,
                                     ViewShare, 0, wm_prot_from_file_map(access));
    return wm_win32_status(st) ? base : NULL;
}

WINMEM_API LPVOID WINAPI MapViewOfFile(HANDLE mapping, DWORD access, DWORD off_hi, DWORD off_lo,
                                       SIZE_T size)
{
    WM_TRACE(MapViewOfFile, mapping, access, off_hi, off_lo, size);
    return MapViewOfFileEx(mapping, access, off_hi, off_lo, size, NULL);
}

/* UnmapViewOfFile: any address inside the view unmaps all of it; a secured view runs the
 * secure memory cache callbacks inside NtUnmapViewOfSection, like VirtualFree. */
WINMEM_API BOOL WINAPI UnmapViewOfFile(LPCVOID addr)
{
    WM_TRACE(UnmapViewOfFile, addr);
    return wm_win32_status(NtUnmapViewOfSection(NtCurrentProcess(), (PVOID)addr));
}

/* FlushViewOfFile: write the view's dirty pages to its file (size 0: to the view's end). */
WINMEM_API BOOL WINAPI FlushViewOfFile(LPCVOID addr, SIZE_T size)
{
    WM_TRACE(FlushViewOfFile, addr, size);
    return wm_win32_status(wm_view_flush((uintptr_t)addr, size));
}

/* GetWriteWatch: 0 on success, and the pages of a MEM_WRITE_WATCH allocation written since
 * their last reset; nonzero with the last error set on failure. */
WINMEM_API UINT WINAPI GetWriteWatch(DWORD flags, PVOID base, SIZE_T size, PVOID *addresses,
                                     ULONG_PTR *count, LPDWORD granularity)
{
    WM_TRACE(GetWriteWatch, flags, base, size, addresses, count, granularity);
    wm_signal_init();
    return wm_win32_status(NtGetWriteWatch(NtCurrentProcess(), flags, base, size, addresses, count,
                                           (PULONG)granularity))
               ? 0
               : ~0u;
}

/* ResetWriteWatch: forget the writes to pages of a MEM_WRITE_WATCH allocation. */
WINMEM_API UINT WINAPI ResetWriteWatch(LPVOID base, SIZE_T size)
{
    WM_TRACE(ResetWriteWatch, base, size);
    wm_signal_init();
    return wm_win32_status(NtResetWriteWatch(NtCurrentProcess(), base, size)) ? 0 : ~0u;
}

/* ---- working-set sizes ---------------------------------------------------------------------- */

WINMEM_API BOOL WINAPI GetProcessWorkingSetSizeEx(HANDLE process, PSIZE_T min, PSIZE_T max,
                                                  PDWORD flags)
{
    size_t lo, hi;
    ULONG f;
    NTSTATUS st = wm_status_working_set(process, &lo, &hi, &f);
    if (st)
        return wm_win32_status(st);
    *min = lo;
    *max = hi;
    *flags = f;
    return TRUE;
}

WINMEM_API BOOL WINAPI GetProcessWorkingSetSize(HANDLE process, PSIZE_T min, PSIZE_T max)
{
    DWORD flags;
    return GetProcessWorkingSetSizeEx(process, min, max, &flags);
}

WINMEM_API BOOL WINAPI SetProcessWorkingSetSizeEx(HANDLE process, SIZE_T min, SIZE_T max,
                                                  DWORD flags)
{
    return wm_win32_status(wm_status_set_working_set(process, min, max, flags));
}

WINMEM_API BOOL WINAPI SetProcessWorkingSetSize(HANDLE process, SIZE_T min, SIZE_T max)
{
    return SetProcessWorkingSetSizeEx(process, min, max, 0);
}

/* psapi.h's QueryWorkingSetEx (a macro for this name, as with PSAPI_VERSION 2). */
WINMEM_API BOOL WINAPI K32QueryWorkingSetEx(HANDLE process, PVOID pv, DWORD cb)
{
    return wm_win32_status(
        NtQueryVirtualMemory(process, NULL, MemoryWorkingSetExInformation, pv, cb, NULL));
}

WINMEM_API BOOL WINAPI QueryVirtualMemoryInformation(HANDLE process, const VOID *addr,
                                                     WIN32_MEMORY_INFORMATION_CLASS cls, PVOID info,
                                                     SIZE_T size, PSIZE_T ret)
{
    WM_TRACE(QueryVirtualMemoryInformation, process, addr, cls, info, size, ret);
    if (cls != MemoryRegionInfo)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    return wm_win32_status(
        NtQueryVirtualMemory(process, (PVOID)addr, MemoryRegionInformation, info, size, ret));
}
