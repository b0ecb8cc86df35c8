/*
 * heapvm.c - the heap's memory: reserve, commit, decommit and release through the Nt
 * virtual-memory calls only (so a secured range inside a heap is refused like any other and
 * runs the secure memory cache callbacks), and the granule map that tells which heap region
 * or large block owns an address without touching the address.
 */
#include "heap.h"

#include <string.h>

/* Where the heaps' regions and large blocks go: from 1 TiB up, away from the program's own
 * VirtualAllocs, which climb from 4 GiB.  Side by side with a heap region of the same
 * protection, a program's reservation would be merged with it by the kernel and split again
 * on every protection change and release there (the cost bench/README.md measures); apart,
 * each keeps its own mapping.  Through the public call (VirtualAlloc2's lowest address), so a
 * heap is placed by the same rules as any caller; where that address range cannot be had (a
 * sanitizer's shadow, ThreadSanitizer's fixed ranges), the usual placement serves. */
#define HEAP_ZONE ((uintptr_t)1 << 40)

/* ThreadSanitizer keeps the memory above 1 TiB for its shadow and ends the process on a fixed
 * mapping there, rather than refusing it: under it the heaps are placed as anything else. */
#if defined(__SANITIZE_THREAD__)
#define HEAP_ZONE_USED 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HEAP_ZONE_USED 0
#endif
#endif
#ifndef HEAP_ZONE_USED
#define HEAP_ZONE_USED 1
#endif

NTSTATUS wm_heapvm_reserve(size_t size, ULONG prot, uintptr_t *base)
{
    MEM_ADDRESS_REQUIREMENTS req = { (PVOID)HEAP_ZONE, NULL, 0 };
    MEM_EXTENDED_PARAMETER ext;
    PVOID a = NULL;
    SIZE_T s = size;

    memset(&ext, 0, sizeof ext);
    ext.Type = MemExtendedParameterAddressRequirements;
    ext.Pointer = &req;
    NTSTATUS st = HEAP_ZONE_USED ? NtAllocateVirtualMemoryEx(NtCurrentProcess(), &a, &s,
                                                             MEM_RESERVE, prot, &ext, 1)
                                 : STATUS_NOT_SUPPORTED;
    if (!NT_SUCCESS(st)) {
        a = NULL;
        s = size;
        st = NtAllocateVirtualMemory(NtCurrentProcess(), &a, 0, &s, MEM_RESERVE, prot);
    }
    if (NT_SUCCESS(st))
        *base = (uintptr_t)a;
    return st;
}

NTSTATUS wm_heapvm_commit(uintptr_t addr, size_t size, ULONG prot)
{
    PVOID a = (PVOID)addr;
    SIZE_T s = size;
    return NtAllocateVirtualMemory(NtCurrentProcess(), &a, 0, &s, MEM_COMMIT, prot);
}

#ifdef WM_ASAN
/* The extent of the allocation at base, from the public query (the regions that share it). */
static size_t allocation_size(uintptr_t base)
{
    size_t n = 0;
    MEMORY_BASIC_INFORMATION mbi;
    while (NT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), (PVOID)(base + n),
                                           MemoryBasicInformation, &mbi, sizeof mbi, NULL)) &&
           mbi.State != MEM_FREE && (uintptr_t)mbi.AllocationBase == base)
        n += mbi.RegionSize;
    return n;
}
#endif

/* Decommit or release.  A secured range inside is handled by NtFreeVirtualMemory itself
 * (refused -> the secure memory cache callbacks -> retried once); when it stays secured the
 * call fails and the heap keeps the memory.  A callback runs with the heap's lock held, so it
 * must not use that heap (as on Windows). */
NTSTATUS wm_heapvm_free(uintptr_t addr, size_t size, ULONG type)
{
#ifdef WM_ASAN
    /* freed blocks were poisoned: memory handed back must not stay so for its next owner */
    ASAN_UNPOISON_MEMORY_REGION((void *)addr, size ? size : allocation_size(addr));
#endif
    PVOID a = (PVOID)addr;
    SIZE_T s = size;
    return NtFreeVirtualMemory(NtCurrentProcess(), &a, &s, type);
}

/* The map (wm_heapvm_owner): second-level tables are placed top-down, away from the
 * bottom-up allocations (beside the program's first VirtualAlloc, with the same protection,
 * the kernel would merge the two mappings and split them again on every free and protection
 * change there), and stay; untouched parts cost no RAM.  Readers load without a lock (a pointer
 * passed to HeapFree is looked up before it is read); writers hold map_lock. */
#define L1_BITS 16
#define L2_BITS 16
typedef void *owner_t;
void **wm_heapvm_l1[1u << L1_BITS];
#define map_l1 wm_heapvm_l1
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;

static NTSTATUS set_range(uintptr_t base, size_t size, void *owner)
{
    NTSTATUS st = STATUS_SUCCESS;

    pthread_mutex_lock(&map_lock);
    for (uintptr_t g = base; g < base + size; g += 0x10000) {
        uintptr_t hi = g >> 32;
        if (hi >= (1u << L1_BITS)) {
            st = STATUS_NO_MEMORY;
            break;
        }
        owner_t *l2 = __atomic_load_n(&map_l1[hi], __ATOMIC_RELAXED);
        if (!l2) {
            if (!owner)
                continue;
            PVOID t = NULL;
            SIZE_T len = sizeof(owner_t) << L2_BITS;
            st = NtAllocateVirtualMemory(NtCurrentProcess(), &t, 0, &len,
                                         MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
            if (!NT_SUCCESS(st))
                break;
            l2 = (owner_t *)t;
            __atomic_store_n(&map_l1[hi], l2, __ATOMIC_RELEASE);
        }
        __atomic_store_n(&l2[(g >> 16) & ((1u << L2_BITS) - 1)], owner, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&map_lock);
    return st;
}

void wm_heapvm_fork_lock(bool lock)
{
    if (lock)
        pthread_mutex_lock(&map_lock);
    else
        pthread_mutex_unlock(&map_lock);
}

void wm_heapvm_fork_child(void)
{
    pthread_mutex_init(&map_lock, NULL);
}

NTSTATUS wm_heapvm_map(uintptr_t base, size_t size, void *owner)
{
    NTSTATUS st = set_range(base, size, owner);
    if (!NT_SUCCESS(st))
        set_range(base, size, NULL);
    return st;
}

void wm_heapvm_unmap(uintptr_t base, size_t size)
{
    set_range(base, size, NULL);
}
