/*
 * rtlheap.c - the exported Rtl heap calls (RtlCreateHeap, RtlAllocateHeap ...), with ntdll's
 * return conventions, over the NTSTATUS core in heap.c and heapwalk.c.  They set no last
 * error: that is the Win32 layer's job.
 */
#include "heap.h"
#include "trace.h"

/* RtlCreateHeap: HEAP_GROWABLE with ReserveSize 0 is a growable heap; otherwise the heap
 * reserves ReserveSize and never grows past it. */
WINMEM_API PVOID NTAPI RtlCreateHeap(ULONG flags, PVOID base, SIZE_T reserve, SIZE_T commit,
                                     PVOID lock, PRTL_HEAP_PARAMETERS params)
{
    WM_TRACE(RtlCreateHeap, flags, base, reserve, commit, lock, params);
    HANDLE h;
    if (base || lock || params)
        return NULL; /* caller-supplied memory, locks and tuning are not supported */
    if (flags & HEAP_GROWABLE)
        reserve = 0;
    else if (reserve == 0)
        reserve = commit ? commit : WM_HEAP_SEG_MIN;
    return NT_SUCCESS(wm_heap_create(flags, commit, reserve, &h)) ? h : NULL;
}

WINMEM_API PVOID NTAPI RtlDestroyHeap(PVOID heap)
{
    WM_TRACE(RtlDestroyHeap, heap);
    return NT_SUCCESS(wm_heap_destroy(heap)) ? NULL : heap;
}

WINMEM_API PVOID NTAPI RtlAllocateHeap(PVOID heap, ULONG flags, SIZE_T size)
{
    WM_TRACE(RtlAllocateHeap, heap, flags, size);
    void *p;
    return NT_SUCCESS(wm_heap_alloc(heap, flags, size, &p)) ? p : NULL;
}

WINMEM_API BOOLEAN NTAPI RtlFreeHeap(PVOID heap, ULONG flags, PVOID p)
{
    WM_TRACE(RtlFreeHeap, heap, flags, p);
    return NT_SUCCESS(wm_heap_free(heap, flags, p));
}

WINMEM_API SIZE_T NTAPI RtlSizeHeap(PVOID heap, ULONG flags, const void *p)
{
    WM_TRACE(RtlSizeHeap, heap, flags, p);
    SIZE_T size;
    return NT_SUCCESS(wm_heap_size(heap, flags, p, &size)) ? size : (SIZE_T)-1;
}

WINMEM_API PVOID NTAPI RtlReAllocateHeap(PVOID heap, ULONG flags, PVOID p, SIZE_T size)
{
    WM_TRACE(RtlReAllocateHeap, heap, flags, p, size);
    void *np;
    return NT_SUCCESS(wm_heap_realloc(heap, flags, p, size, &np)) ? np : NULL;
}

WINMEM_API BOOLEAN NTAPI RtlValidateHeap(PVOID heap, ULONG flags, const void *p)
{
    WM_TRACE(RtlValidateHeap, heap, flags, p);
    return NT_SUCCESS(wm_heapwalk_validate(heap, flags, p));
}

WINMEM_API BOOLEAN NTAPI RtlLockHeap(PVOID heap)
{
    WM_TRACE(RtlLockHeap, heap);
    return NT_SUCCESS(wm_heapwalk_lock(heap, true));
}

WINMEM_API BOOLEAN NTAPI RtlUnlockHeap(PVOID heap)
{
    WM_TRACE(RtlUnlockHeap, heap);
    return NT_SUCCESS(wm_heapwalk_lock(heap, false));
}

WINMEM_API ULONG NTAPI RtlGetProcessHeaps(ULONG count, PVOID *heaps)
{
    WM_TRACE(RtlGetProcessHeaps, count, heaps);
    return wm_heap_list(count, heaps);
}
