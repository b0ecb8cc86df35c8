/*
 * placeholder.c - placeholders and the NT release of part of an allocation: the model's
 * regions cut in two or three, joined again, and turned into placeholders and back.
 *
 * A placeholder (MEM_RESERVE_PLACEHOLDER) is a region flagged WM_REGION_PLACEHOLDER over the
 * same PROT_NONE + MAP_NORESERVE mapping a reservation has, so splitting and coalescing change
 * only the model: the kernel's mapping stays as it is.  Replacing one (alloc.c for private
 * memory, view.c for a view) maps over it in place; MEM_PRESERVE_PLACEHOLDER maps a fresh
 * PROT_NONE range over the allocation or view, which drops its pages, their lock and their
 * charge as a release would, and the region becomes a placeholder again.  Pieces keep page
 * granularity, as Windows' do: a placeholder split at base + 16 KiB gives two allocations,
 * the second with its AllocationBase there.
 *
 * Every change is prepared first (new regions allocated and indexed while the old one still
 * covers their range, which no lookup sees: the VM write lock is held and the model's
 * sequence is odd), then made, so a failure leaves the model and the kernel as they were.
 */
#include "mm.h"

/* [start, end) cut out of r as a region of its own; what undo_cut needs to put r back. */
struct cut {
    struct wm_region *r; /* the region cut */
    size_t size;         /* r's size and run count before */
    uint32_t nruns;
    struct wm_region *mid;  /* [start, end): r itself when start is r's base */
    struct wm_region *tail; /* [end, r's end), or NULL */
};

/* Make [start, end), strictly inside r or sharing one end with it, a region of its own, the
 * rest of r staying r (before start) and a new region (after end).  Nothing changes on
 * failure (STATUS_NO_MEMORY).  Caller holds the write lock. */
static NTSTATUS cut_locked(struct wm_region *r, uintptr_t start, uintptr_t end, struct cut *c)
{
    WM_ASSERT(wm_vmstate_write_held());
    size_t off = start - r->base, end_off = end - r->base;
    struct wm_region *mid = NULL, *tail = NULL;

    WM_ASSERT(off < end_off && end_off <= r->size && (off > 0 || end_off < r->size));
    /* Regions with an extension (views, watched regions) are never cut (the callers refuse). */
    if (off > 0 && !(mid = wm_region_slice(r, off, end_off - off)))
        return STATUS_NO_MEMORY;
    if (end_off < r->size && !(tail = wm_region_slice(r, end_off, r->size - end_off))) {
        wm_region_free(mid);
        return STATUS_NO_MEMORY;
    }
    /* Indexed beside r, which still covers them until it is truncated below. */
    if (mid && wm_space_insert(&wm_vm.space, mid)) {
        wm_region_free(mid);
        wm_region_free(tail);
        return STATUS_NO_MEMORY;
    }
    if (tail && wm_space_insert(&wm_vm.space, tail)) {
        if (mid) {
            wm_space_remove(&wm_vm.space, mid);
            wm_region_free(mid);
        }
        wm_region_free(tail);
        return STATUS_NO_MEMORY;
    }
    *c = (struct cut){ r, r->size, r->nruns, mid ? mid : r, tail };
    /* Truncating keeps the run array's entries past the new end: undo_cut restores them. */
    wm_region_truncate(r, off > 0 ? off : end_off);
    return STATUS_SUCCESS;
}

/* Put r back as it was before cut_locked, the pieces gone.  Caller holds the write lock. */
static void undo_cut(struct cut *c)
{
    if (c->mid != c->r) {
        wm_space_remove(&wm_vm.space, c->mid);
        wm_region_free(c->mid);
    }
    if (c->tail) {
        wm_space_remove(&wm_vm.space, c->tail);
        wm_region_free(c->tail);
    }
    c->r->size = c->size;
    c->r->nruns = c->nruns;
}

NTSTATUS wm_release_part_locked(struct wm_region *r, uintptr_t start, uintptr_t end)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct cut c;
    NTSTATUS st;

    /* A view is unmapped whole; a watched region's bitmap and large pages are not cut. */
    if (r->ext || (r->flags & WM_REGION_LARGE))
        return STATUS_UNABLE_TO_FREE_VM;
    if ((st = cut_locked(r, start, end, &c)))
        return st;
    /* The munmap stays under the lock: were it to fail, the pieces are joined again, which
     * another thread's change to one of them meanwhile would make wrong. */
    int rc = wm_os_unmap(start, end - start);
    if (rc) {
        undo_cut(&c);
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    }
    wm_space_remove(&wm_vm.space, c.mid);
    wm_region_free(c.mid);
    wm_place_freed_locked(start);
    wm_cfg_release_locked(start, end - start);
    return STATUS_SUCCESS;
}

/* MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER: a placeholder is split, leaving [start, end) a
 * placeholder of its own; an allocation that replaced one becomes a placeholder again. */
static NTSTATUS preserve_locked(uintptr_t start, uintptr_t end)
{
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);
    struct cut c;

    if (!r)
        return STATUS_MEMORY_NOT_ALLOCATED;
    if (end - r->base > r->size)
        return STATUS_UNABLE_TO_FREE_VM;
    bool whole = start == r->base && end == r->base + r->size;
    if (r->flags & WM_REGION_PLACEHOLDER)
        /* Splitting a placeholder into itself is not a split. */
        return whole ? STATUS_CONFLICTING_ADDRESSES : cut_locked(r, start, end, &c);
    if (!(r->flags & WM_REGION_REPLACED) || (r->flags & WM_REGION_VIEW) || !whole)
        return STATUS_CONFLICTING_ADDRESSES;
    NTSTATUS st = wm_secure_check_free_locked(start, end);
    if (st)
        return st;
    /* A fresh PROT_NONE mapping over it: the pages, their lock and their charge go, and with
     * them any write-watch registration (the bitmap goes with the region's extension). */
    int rc = wm_os_decommit(start, end - start);
    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    wm_region_reset(r, PAGE_NOACCESS, MEM_PRIVATE, WM_REGION_PLACEHOLDER, WM_STATE_RESERVED, 0);
    wm_cfg_release_locked(start, end - start);
    return STATUS_SUCCESS;
}

/* MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS: [start, end) must be exactly two or more adjacent
 * placeholders, which become one. */
static NTSTATUS coalesce_locked(uintptr_t start, uintptr_t end)
{
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);

    if (!r)
        return STATUS_MEMORY_NOT_ALLOCATED;
    if (!(r->flags & WM_REGION_PLACEHOLDER) || r->base != start || end - start <= r->size)
        return STATUS_CONFLICTING_ADDRESSES;
    /* Check the whole chain before changing anything. */
    uintptr_t at = r->base + r->size;
    while (at < end) {
        struct wm_region *n = wm_space_find_sigsafe(&wm_vm.space, at);
        if (!n || n->base != at || !(n->flags & WM_REGION_PLACEHOLDER) || end - at < n->size)
            return STATUS_CONFLICTING_ADDRESSES;
        at += n->size;
    }
    at = r->base + r->size;
    while (at < end) {
        struct wm_region *n = wm_space_find_sigsafe(&wm_vm.space, at);
        at += n->size;
        wm_space_remove(&wm_vm.space, n);
        wm_region_free(n);
    }
    r->size = end - start; /* one reserved run, as every placeholder has */
    return STATUS_SUCCESS;
}

NTSTATUS wm_placeholder_free_locked(uintptr_t start, uintptr_t end, ULONG how)
{
    WM_ASSERT(wm_vmstate_write_held());
    return how == MEM_COALESCE_PLACEHOLDERS ? coalesce_locked(start, end)
                                            : preserve_locked(start, end);
}
