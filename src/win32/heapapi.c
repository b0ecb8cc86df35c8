/*
 * heapapi.c - HeapCreate, HeapAlloc, HeapFree and the rest of the Win32 heap calls: one-line
 * wrappers over the Rtl heap (src/rtl/), setting the last error only where Windows does
 * (HeapAlloc and HeapReAlloc leave it alone on success; HeapSize never sets it).
 */
#include "win32.h"
#include "rtl/trace.h"

#include "except/except.h"
#include "rtl/heap.h"

WINMEM_API HANDLE WINAPI HeapCreate(DWORD options, SIZE_T initial, SIZE_T max)
{
    WM_TRACE(HeapCreate, options, initial, max);
    HANDLE h = NULL;
    wm_signal_init(); /* as VirtualAlloc: faults in heap memory become exceptions from here on */
    NTSTATUS st = wm_heap_create(options, initial, max, &h);
    return NT_SUCCESS(st) ? h : (wm_win32_status(st), NULL);
}

WINMEM_API BOOL WINAPI HeapDestroy(HANDLE heap)
{
    WM_TRACE(HeapDestroy, heap);
    NTSTATUS st = wm_heap_destroy(heap);
    return NT_SUCCESS(st) ? TRUE : wm_win32_status(st);
}

/* HeapAlloc and HeapFree start on a cache line: a 64-byte block round trip is a few
 * nanoseconds, and where the two happen to fall decided up to 0.9 ns of it (4.3 against
 * 5.2 ns for heap_64b when an unrelated change moved them; bench/README.md). */
__attribute__((aligned(64))) WINMEM_API LPVOID WINAPI HeapAlloc(HANDLE heap, DWORD flags,
                                                                SIZE_T bytes)
{
    WM_TRACE(HeapAlloc, heap, flags, bytes);
    void *p = wm_heap_alloc_fast(heap, flags, bytes); /* this thread's cache, inline */
    if (p)
        return p;
    NTSTATUS st = wm_heap_alloc(heap, flags, bytes, &p);
    return NT_SUCCESS(st) ? p : (wm_win32_status(st), NULL);
}

WINMEM_API LPVOID WINAPI HeapReAlloc(HANDLE heap, DWORD flags, LPVOID mem, SIZE_T bytes)
{
    WM_TRACE(HeapReAlloc, heap, flags, mem, bytes);
    void *p;
    NTSTATUS st = wm_heap_realloc(heap, flags, mem, bytes, &p);
    if (NT_SUCCESS(st) && !p) /* a NULL block: fails, and Windows clears the last error */
        wm_win32_error(ERROR_SUCCESS);
    return NT_SUCCESS(st) ? p : (wm_win32_status(st), NULL);
}

__attribute__((aligned(64))) WINMEM_API BOOL WINAPI HeapFree(HANDLE heap, DWORD flags, LPVOID mem)
{
    WM_TRACE(HeapFree, heap, flags, mem);
    if (mem && wm_heap_free_fast(heap, mem))
        return TRUE;
    NTSTATUS st = wm_heap_free(heap, flags, mem);
    return NT_SUCCESS(st) ? TRUE : wm_win32_status(st);
}

WINMEM_API SIZE_T WINAPI HeapSize(HANDLE heap, DWORD flags, LPCVOID mem)
{
    WM_TRACE(HeapSize, heap, flags, mem);
    SIZE_T size;
    NTSTATUS st = wm_heap_size(heap, flags, mem, &size);
    return NT_SUCCESS(st) ? size : (SIZE_T)-1;
}

/* HeapValidate sets the last error only for an address where nothing is mapped. */
WINMEM_API BOOL WINAPI HeapValidate(HANDLE heap, DWORD flags, LPCVOID mem)
{
    WM_TRACE(HeapValidate, heap, flags, mem);
    NTSTATUS st = wm_heapwalk_validate(heap, flags, mem);
    if (st == STATUS_ACCESS_VIOLATION)
        wm_win32_status(st);
    return NT_SUCCESS(st);
}

/* The largest free block; 0 with ERROR_SUCCESS when there is none. */
WINMEM_API SIZE_T WINAPI HeapCompact(HANDLE heap, DWORD flags)
{
    WM_TRACE(HeapCompact, heap, flags);
    SIZE_T largest = 0;
    NTSTATUS st = wm_heapwalk_compact(heap, flags, &largest);
    if (!NT_SUCCESS(st))
        wm_win32_status(st);
    else if (largest == 0)
        wm_win32_error(ERROR_SUCCESS);
    return largest;
}

WINMEM_API BOOL WINAPI HeapLock(HANDLE heap)
{
    WM_TRACE(HeapLock, heap);
    NTSTATUS st = wm_heapwalk_lock(heap, true);
    return NT_SUCCESS(st) ? TRUE : wm_win32_status(st);
}

WINMEM_API BOOL WINAPI HeapUnlock(HANDLE heap)
{
    WM_TRACE(HeapUnlock, heap);
    NTSTATUS st = wm_heapwalk_lock(heap, false);
    return NT_SUCCESS(st) ? TRUE : wm_win32_status(st);
}

/* ERROR_NO_MORE_ITEMS after the last entry. */
WINMEM_API BOOL WINAPI HeapWalk(HANDLE heap, LPPROCESS_HEAP_ENTRY entry)
{
    WM_TRACE(HeapWalk, heap, entry);
    NTSTATUS st = wm_heapwalk_next(heap, entry);
    if (st == STATUS_NO_MORE_ENTRIES)
        return wm_win32_error(ERROR_NO_MORE_ITEMS);
    return NT_SUCCESS(st) ? TRUE : wm_win32_status(st);
}

WINMEM_API HANDLE WINAPI GetProcessHeap(VOID)
{
    wm_signal_init();
    return wm_heap_process();
}

WINMEM_API DWORD WINAPI GetProcessHeaps(DWORD count, PHANDLE heaps)
{
    WM_TRACE(GetProcessHeaps, count, heaps);
    return wm_heap_list(count, heaps);
}

WINMEM_API BOOL WINAPI HeapSetInformation(HANDLE heap, HEAP_INFORMATION_CLASS cls, PVOID info,
                                          SIZE_T len)
{
    WM_TRACE(HeapSetInformation, heap, cls, info, len);
    NTSTATUS st = wm_heapwalk_set_info(heap, cls, info, len);
    return NT_SUCCESS(st) ? TRUE : wm_win32_status(st);
}

WINMEM_API BOOL WINAPI HeapQueryInformation(HANDLE heap, HEAP_INFORMATION_CLASS cls, PVOID info,
                                            SIZE_T len, PSIZE_T ret)
{
    WM_TRACE(HeapQueryInformation, heap, cls, info, len, ret);
    NTSTATUS st = wm_heapwalk_query_info(heap, cls, info, len, ret);
    return NT_SUCCESS(st) ? TRUE : wm_win32_status(st);
}
