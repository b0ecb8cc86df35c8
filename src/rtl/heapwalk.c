/*
 * heapwalk.c - HeapWalk, HeapValidate, HeapCompact, HeapLock/HeapUnlock and the heap
 * information classes, over the structures of heapseg.c and heap.c.
 *
 * HeapWalk enumerates as Windows does: for each region, a PROCESS_HEAP_REGION entry (lpData
 * the region's base, so the first is the heap handle itself), its blocks in address order
 * (busy ones with PROCESS_HEAP_ENTRY_BUSY, cbData the size asked for), then its uncommitted
 * tail as a PROCESS_HEAP_UNCOMMITTED_RANGE; after the last region, the large blocks
 * (iRegionIndex 64).  The walk's position is the previous entry itself.
 */
#include "heap.h"

#include <string.h>

#define BYTES(grans) ((size_t)(grans)*WM_HEAP_GRAN)

static void put_region(PROCESS_HEAP_ENTRY *e, const struct wm_hseg *s)
{
    memset(e, 0, sizeof(*e));
    e->lpData = (PVOID)s->base;
    e->cbData = (DWORD)(s->first - s->base);
    e->iRegionIndex = (BYTE)s->index;
    e->wFlags = PROCESS_HEAP_REGION;
    e->Region.dwCommittedSize = (DWORD)s->commit;
    e->Region.dwUnCommittedSize = (DWORD)(s->reserve - s->commit);
    e->Region.lpFirstBlock = (LPVOID)(s->first + WM_HEAP_HDR);
    e->Region.lpLastBlock = (LPVOID)(s->base + s->reserve);
}

static void put_block(PROCESS_HEAP_ENTRY *e, const struct wm_hseg *s, const struct wm_hblk *b)
{
    size_t gross = BYTES(b->size);
    memset(e, 0, sizeof(*e));
    e->lpData = (PVOID)((uintptr_t)b + WM_HEAP_HDR);
    e->iRegionIndex = (BYTE)s->index;
    if (WM_RD(b->state) == WM_HBLK_BUSY) {
        e->cbData = WM_RD(b->req);
        e->cbOverhead = (BYTE)(gross - WM_HEAP_HDR - WM_RD(b->req));
        e->wFlags = PROCESS_HEAP_ENTRY_BUSY;
    } else { /* free, or in a thread's cache */
        e->cbData = (DWORD)(gross - 2 * WM_HEAP_HDR);
        e->cbOverhead = WM_HEAP_HDR;
    }
}

static void put_uncommitted(PROCESS_HEAP_ENTRY *e, const struct wm_hseg *s)
{
    memset(e, 0, sizeof(*e));
    e->lpData = (PVOID)(s->base + s->commit);
    e->cbData = (DWORD)(s->reserve - s->commit);
    e->iRegionIndex = (BYTE)s->index;
    e->wFlags = PROCESS_HEAP_UNCOMMITTED_RANGE;
}

static void put_large(PROCESS_HEAP_ENTRY *e, const struct wm_hlarge *l)
{
    memset(e, 0, sizeof(*e));
    e->lpData = (PVOID)((uintptr_t)l + WM_HEAP_LARGE_DATA);
    e->cbData = l->h.req;
    e->iRegionIndex = WM_HEAP_MAX_SEGS;
    e->wFlags = PROCESS_HEAP_ENTRY_BUSY;
}

/* The entry after region index i: the next region, else the first large block. */
static NTSTATUS after_region(struct wm_heap *h, unsigned i, PROCESS_HEAP_ENTRY *e)
{
    for (unsigned j = i + 1; j < h->nsegs; j++) {
        if (h->segs[j]) {
            put_region(e, h->segs[j]);
            return STATUS_SUCCESS;
        }
    }
    pthread_mutex_lock(&h->seglock);
    struct wm_hlarge *l = h->large;
    if (l)
        put_large(e, l);
    pthread_mutex_unlock(&h->seglock);
    return l ? STATUS_SUCCESS : STATUS_NO_MORE_ENTRIES;
}

/* The entry after the blocks of s that end at `at`. */
static NTSTATUS after_blocks(struct wm_heap *h, const struct wm_hseg *s, uintptr_t at,
                             PROCESS_HEAP_ENTRY *e)
{
    if (at < s->base + s->commit) {
        const struct wm_hblk *b = (const struct wm_hblk *)at;
        if (!wm_heapseg_intact(h, b))
            return STATUS_INVALID_PARAMETER;
        put_block(e, s, b);
        return STATUS_SUCCESS;
    }
    if (s->commit < s->reserve) {
        put_uncommitted(e, s);
        return STATUS_SUCCESS;
    }
    return after_region(h, s->index, e);
}

static NTSTATUS walk_locked(struct wm_heap *h, PROCESS_HEAP_ENTRY *e)
{
    uintptr_t at = (uintptr_t)e->lpData;

    if (!at) {
        put_region(e, &h->seg0);
        return STATUS_SUCCESS;
    }
    if (e->iRegionIndex == WM_HEAP_MAX_SEGS && (e->wFlags & PROCESS_HEAP_ENTRY_BUSY)) {
        struct wm_hlarge *l = wm_heapvm_owner(at);
        if (!l || l->magic != WM_HLARGE_MAGIC || l->heap != h)
            return STATUS_INVALID_PARAMETER;
        pthread_mutex_lock(&h->seglock);
        struct wm_hlarge *n = l->next;
        if (n)
            put_large(e, n);
        pthread_mutex_unlock(&h->seglock);
        return n ? STATUS_SUCCESS : STATUS_NO_MORE_ENTRIES;
    }
    struct wm_hseg *s = wm_heapvm_owner(e->wFlags & PROCESS_HEAP_UNCOMMITTED_RANGE ? at - 1 : at);
    if (!s || s->magic != WM_HSEG_MAGIC || s->heap != h)
        return STATUS_INVALID_PARAMETER;
    if (e->wFlags & PROCESS_HEAP_REGION)
        return after_blocks(h, s, s->first, e);
    if (e->wFlags & PROCESS_HEAP_UNCOMMITTED_RANGE)
        return after_region(h, s->index, e);
    const struct wm_hblk *b = (const struct wm_hblk *)(at - WM_HEAP_HDR);
    if (at < s->first + WM_HEAP_HDR || at >= s->base + s->commit || !wm_heapseg_intact(h, b))
        return STATUS_INVALID_PARAMETER;
    return after_blocks(h, s, (uintptr_t)b + BYTES(b->size), e);
}

NTSTATUS wm_heapwalk_next(HANDLE heap, PROCESS_HEAP_ENTRY *e)
{
    struct wm_heap *h = wm_heap_from_handle(heap);
    if (!h)
        return STATUS_INVALID_HANDLE;
    wm_heap_lock_all(h);
    NTSTATUS st = walk_locked(h, e);
    wm_heap_unlock_all(h);
    return st;
}

bool wm_heapwalk_regions(struct wm_heap *h, bool wait, wm_heapwalk_region_fn fn, void *ctx)
{
    if (!wait) {
        if (pthread_mutex_trylock(&h->seglock))
            return false;
    } else {
        pthread_mutex_lock(&h->seglock);
    }
    /* A segment's commit moves under its arena's lock, not this one: read it once. */
    for (unsigned i = 0; i < h->nsegs; i++) {
        const struct wm_hseg *s = h->segs[i];
        if (s)
            fn(ctx, h, s->index, s->base, s->reserve, WM_RD(s->commit));
    }
    for (const struct wm_hlarge *l = h->large; l; l = l->next)
        fn(ctx, h, WM_HEAP_MAX_SEGS, (uintptr_t)l, l->reserve, WM_RD(l->commit));
    pthread_mutex_unlock(&h->seglock);
    return true;
}

/* A busy block at p (its header and its right neighbour's intact), or why not. */
static NTSTATUS validate_block(struct wm_heap *h, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    void *owner = wm_heapvm_owner(a);
    if (owner && *(uint32_t *)owner == WM_HLARGE_MAGIC) {
        const struct wm_hlarge *l = owner;
        if (l->heap == h && a == (uintptr_t)l + WM_HEAP_LARGE_DATA &&
            l->h.check == wm_heapseg_sum(h, &l->h) && l->h.state == WM_HBLK_BUSY)
            return STATUS_SUCCESS;
        return STATUS_INVALID_PARAMETER;
    }
    struct wm_hblk *b;
    struct wm_hseg *s = wm_heapseg_find(h, p, &b);
    if (!s) {
        if (owner)
            return STATUS_INVALID_PARAMETER;
        MEMORY_BASIC_INFORMATION mbi;
        if (NT_SUCCESS(NtQueryVirtualMemory(NtCurrentProcess(), (PVOID)a, MemoryBasicInformation,
                                            &mbi, sizeof(mbi), NULL)) &&
            mbi.State == MEM_FREE)
            return STATUS_ACCESS_VIOLATION;
        return STATUS_INVALID_PARAMETER;
    }
    if (!wm_heapseg_intact(h, b) || WM_RD(b->state) != WM_HBLK_BUSY)
        return STATUS_INVALID_PARAMETER;
    const struct wm_hblk *n = (const struct wm_hblk *)((uintptr_t)b + BYTES(b->size));
    if ((uintptr_t)n < s->base + s->commit && (!wm_heapseg_intact(h, n) || n->prev != b->size))
        return STATUS_HEAP_CORRUPTION;
    return STATUS_SUCCESS;
}

NTSTATUS wm_heapwalk_validate(HANDLE heap, ULONG flags, const void *p)
{
    struct wm_heap *h = wm_heap_from_handle(heap);
    NTSTATUS st = STATUS_SUCCESS;

    (void)flags;
    if (!h)
        return STATUS_INVALID_HANDLE;
    wm_heap_lock_all(h);
    if (p) {
        st = validate_block(h, p);
    } else {
        for (unsigned i = 0; i < h->nsegs && NT_SUCCESS(st); i++)
            if (h->segs[i] && wm_heapseg_check(h, h->segs[i]))
                st = STATUS_HEAP_CORRUPTION;
        pthread_mutex_lock(&h->seglock);
        for (struct wm_hlarge *l = h->large; l && NT_SUCCESS(st); l = l->next)
            if (l->h.check != wm_heapseg_sum(h, &l->h) || l->h.state != WM_HBLK_BUSY)
                st = STATUS_HEAP_CORRUPTION;
        pthread_mutex_unlock(&h->seglock);
    }
    wm_heap_unlock_all(h);
    return st;
}

NTSTATUS wm_heapwalk_compact(HANDLE heap, ULONG flags, SIZE_T *largest)
{
    struct wm_heap *h = wm_heap_from_handle(heap);
    (void)flags;
    if (!h)
        return STATUS_INVALID_HANDLE;
    wm_heapcache_flush(h);
    wm_heap_lock_all(h);
    *largest = 0;
    for (unsigned i = 0; i < WM_HEAP_NARENA; i++) {
        struct wm_harena *a = atomic_load(&h->arenas[i]);
        if (a) {
            size_t l = wm_heapseg_compact_locked(a);
            if (l > *largest)
                *largest = l;
        }
    }
    wm_heap_unlock_all(h);
    return STATUS_SUCCESS;
}

NTSTATUS wm_heapwalk_lock(HANDLE heap, bool lock)
{
    struct wm_heap *h = wm_heap_from_handle(heap);
    if (!h)
        return STATUS_INVALID_HANDLE;
    if (h->flags & HEAP_NO_SERIALIZE)
        return STATUS_SUCCESS; /* Windows: a no-serialize heap's lock does not exclude */
    if (lock) {
        wm_heap_lock_all(h);
        if (h->big_depth++ == 0)
            h->big_owner = pthread_self();
        return STATUS_SUCCESS;
    }
    /* only the thread that took it may release it */
    if (pthread_mutex_trylock(&h->big) != 0)
        return STATUS_NOT_LOCKED;
    bool mine = h->big_depth > 0 && pthread_equal(h->big_owner, pthread_self());
    pthread_mutex_unlock(&h->big);
    if (!mine)
        return STATUS_NOT_LOCKED;
    h->big_depth--;
    wm_heap_unlock_all(h);
    return STATUS_SUCCESS;
}

NTSTATUS wm_heapwalk_set_info(HANDLE heap, HEAP_INFORMATION_CLASS cls, PVOID info, SIZE_T len)
{
    switch (cls) {
    case HeapEnableTerminationOnCorruption:
        /* process-wide and for good, whatever heap is named */
        wm_heap_set_terminate_on_corruption();
        return STATUS_SUCCESS;
    case HeapCompatibilityInformation: {
        struct wm_heap *h = wm_heap_from_handle(heap);
        if (!h)
            return STATUS_INVALID_HANDLE;
        if (len < sizeof(ULONG))
            return STATUS_BUFFER_TOO_SMALL;
        ULONG v;
        memcpy(&v, info, sizeof(v));
        if (v > WM_HEAP_COMPAT_LFH)
            return STATUS_INVALID_PARAMETER;
        if (v == WM_HEAP_COMPAT_LFH) {
            if ((h->flags & (HEAP_GROWABLE | HEAP_NO_SERIALIZE)) != HEAP_GROWABLE)
                return STATUS_UNSUCCESSFUL; /* no LFH on fixed or unserialised heaps */
            atomic_store(&h->lfh, 1);
            return STATUS_SUCCESS;
        }
        /* the LFH cannot be turned off; look-aside lists (1) are gone since Vista */
        if (v == 1 || atomic_load(&h->lfh))
            return STATUS_UNSUCCESSFUL;
        return STATUS_SUCCESS;
    }
    case HeapOptimizeResources:
        return STATUS_SUCCESS;
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

NTSTATUS wm_heapwalk_query_info(HANDLE heap, HEAP_INFORMATION_CLASS cls, PVOID info, SIZE_T len,
                                SIZE_T *ret)
{
    if (cls != HeapCompatibilityInformation)
        return STATUS_INVALID_PARAMETER;
    struct wm_heap *h = wm_heap_from_handle(heap);
    if (!h)
        return STATUS_ACCESS_VIOLATION; /* Windows reads the heap: ERROR_NOACCESS */
    if (ret)
        *ret = sizeof(ULONG);
    if (len < sizeof(ULONG))
        return STATUS_BUFFER_TOO_SMALL;
    ULONG v = atomic_load(&h->lfh) ? WM_HEAP_COMPAT_LFH : WM_HEAP_COMPAT_STANDARD;
    memcpy(info, &v, sizeof(v));
    return STATUS_SUCCESS;
}
