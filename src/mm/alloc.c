/*
 * alloc.c - NtAllocateVirtualMemory: reserve, commit, MEM_RESET / MEM_RESET_UNDO and large
 * pages.
 *
 * Reservations are PROT_NONE + MAP_NORESERVE mappings of page-rounded size at 64 KiB
 * aligned bases; committing is a protection change on pages that were never touched or were
 * dropped at decommit, so they read as zero.  Releasing and decommitting are free.c's;
 * where a reservation with no address goes is place.c's.
 */
#include "mm.h"
#include "rtl/trace.h"

#include <errno.h>

#define KNOWN_TYPES                                                                           \
    (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_TOP_DOWN | MEM_WRITE_WATCH | \
     MEM_PHYSICAL | MEM_LARGE_PAGES | MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER)

/* Placement's claim for a reservation: fresh anonymous memory with the access it needs. */
static int claim_private(void *ctx, uintptr_t addr, size_t len, bool over)
{
    unsigned acc = *(const unsigned *)ctx;

    if (over)
        return acc ? wm_os_protect(addr, len, acc) : 0;
    return wm_os_map(&addr, len, acc, true);
}

/* The range a reservation of size bytes at addr (0: the system chooses) covers: the start
 * rounded down to the granularity, the end up to a page. */
static NTSTATUS reserve_range(uintptr_t addr, size_t size, uintptr_t *start, uintptr_t *end)
{
    if (addr) {
        *start = addr & ~(WM_GRANULARITY - 1);
        if (!wm_vmstate_page_range(addr, size, &addr, end) || *end - 1 > WM_MAX_ADDRESS)
            return STATUS_INVALID_PARAMETER_2;
    } else if (!wm_vmstate_page_range(0, size, start, end) || *end > WM_MAX_ADDRESS) {
        return STATUS_NO_MEMORY;
    }
    return STATUS_SUCCESS;
}

static struct wm_region *reserve_region(uintptr_t start, size_t size, ULONG type, ULONG prot)
{
    bool commit = type & MEM_COMMIT;

    /* CFG flags are accepted but are not part of the recorded protection. */
    prot &= ~(ULONG)PAGE_TARGETS_INVALID;
    struct wm_region *r =
        wm_region_new(start, size, prot, MEM_PRIVATE,
                      commit ? WM_STATE_COMMITTED : WM_STATE_RESERVED, commit ? prot : 0);
    if (r)
        r->flags |= (uint16_t)(wm_vmstate_thread_tag() << WM_REGION_PLACER_SHIFT);
    if (r && (type & MEM_RESERVE_PLACEHOLDER))
        r->flags |= WM_REGION_PLACEHOLDER;
    return r;
}

/* Map the new region r (r->base: the address the caller named, 0: the system chooses) with the
 * lock held, and insert it; on failure nothing is mapped or inserted.  Caller holds the write
 * lock and, unless it named the address, has quiesced. */
static NTSTATUS reserve_locked(struct wm_region *r, ULONG type, uintptr_t limit, uintptr_t refused)
{
    WM_ASSERT(wm_vmstate_write_held());
    unsigned acc = (type & MEM_COMMIT) ? wm_prot_access(r->alloc_prot) : 0;
    size_t large = (type & MEM_LARGE_PAGES) ? wm_os_large_page_size() : 0;
    uintptr_t start = r->base;
    NTSTATUS st;
    int rc;

    if (large) {
        r->flags |= WM_REGION_LARGE;
        rc = wm_os_map_large(&start, r->size, acc, large);
        st = wm_status_from_errno(rc, WM_ERRNO_LARGE_PAGES);
    } else if (start) {
        rc = wm_os_map(&start, r->size, acc, true);
        st = wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    } else {
        st = wm_place_locked(r->size, limit, type & MEM_TOP_DOWN, refused, claim_private, &acc,
                             &start);
    }
    if (st)
        return st;
    r->base = start;
    if ((type & MEM_WRITE_WATCH) && (st = wm_watch_start_locked(r))) {
        wm_os_unmap(start, r->size);
        wm_place_freed_locked(start);
        return st;
    }
    if (wm_space_insert(&wm_vm.space, r)) {
        wm_os_unmap(start, r->size);
        wm_place_freed_locked(start);
        return STATUS_NO_MEMORY;
    }
    return STATUS_SUCCESS;
}

/* MEM_RESERVE (with or without MEM_COMMIT): a new region.  Takes and drops the VM lock. */
static NTSTATUS reserve(uintptr_t addr, size_t size, ULONG type, ULONG prot, uintptr_t limit,
                        uintptr_t *base_out, size_t *size_out)
{
    uintptr_t start, end, refused = 0;
    NTSTATUS st = reserve_range(addr, size, &start, &end);
    struct wm_region *r;

    if (st)
        return st;
    size = end - start;
    if (addr)
        wm_vmstate_wrlock_range(start, end);
    else
        wm_vmstate_wrlock();
    if (addr && wm_space_overlaps(&wm_vm.space, start, size)) {
        st = STATUS_CONFLICTING_ADDRESSES;
    } else if (!(r = reserve_region(start, size, type, prot))) {
        st = STATUS_NO_MEMORY;
    } else {
        bool declined = true;
        /* A plain reservation is mapped outside the lock (place.c); large pages, write watches
         * and top-down are rare enough to keep it. */
        if (!(type & (MEM_LARGE_PAGES | MEM_WRITE_WATCH | MEM_TOP_DOWN)) &&
            wm_vmstate_busy_allowed_locked()) {
            unsigned acc = (type & MEM_COMMIT) ? wm_prot_access(r->alloc_prot) : 0;
            st = wm_place_outside_locked(r, start, limit, claim_private, &acc, &declined, &refused);
        }
        if (declined) {
            /* The kernel's choice or its map of mappings may name a range another thread has
             * unmapped but not yet removed from the model: let every claim settle first. */
            if (!addr)
                wm_vmstate_quiesce_locked();
            st = reserve_locked(r, type, limit, refused);
        }
        if (st)
            wm_region_free(r);
        else
            *base_out = r->base; /* read now: once unlocked, another thread may release it */
    }
    wm_vmstate_wrunlock();
    if (st == STATUS_SUCCESS)
        *size_out = size;
    return st;
}

/* MEM_COMMIT inside an existing reservation. */
static NTSTATUS commit_locked(uintptr_t start, uintptr_t end, ULONG prot)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);

    /* Copy-on-write exists only in views (NtAllocateVirtualMemory let it through for them). */
    if ((!r || !(r->flags & WM_REGION_VIEW)) && wm_prot_is_cow(prot))
        return STATUS_INVALID_PAGE_PROTECTION;
    /* A placeholder is committed only by replacing it. */
    if (!r || end - r->base > r->size || (r->flags & WM_REGION_PLACEHOLDER))
        return STATUS_CONFLICTING_ADDRESSES;
    if (r->flags & WM_REGION_VIEW) {
        /* Windows decides by the view, whatever the protection: a view of a file is
         * committed by its file (ERROR_ACCESS_DENIED); one of the paging file takes the
         * commit as a protection change within the view's access class (copy-on-write
         * counting as read), so PAGE_WRITECOPY in a read-write view is fine. */
        struct wm_section *s = r->ext->object;
        unsigned want = wm_prot_class(prot), have = wm_prot_class(r->alloc_prot);
        if (s->attrs & SEC_FILE)
            return STATUS_ALREADY_COMMITTED;
        if ((want & have) != want)
            return STATUS_INVALID_PAGE_PROTECTION;
        if (s->commit)
            return wm_view_commit_locked(r, start - r->base, end - start, prot);
        if (wm_prot_is_cow(prot) && wm_protect_any_copied(r, start - r->base, end - start)) {
            /* Every page is committed already: as VirtualProtect, written pages keep their
             * copy and report read-write. */
            uint32_t old;
            return wm_protect_copied_locked(r, start - r->base, end - start,
                                            wm_prot_effective(r->alloc_prot, prot), &old);
        }
    }
    if (wm_region_reserve_runs(r))
        return STATUS_NO_MEMORY;
    prot = wm_prot_effective(r->alloc_prot, prot);
    wm_vmstate_model_stable_locked();
    int rc = wm_os_protect(start, end - start, wm_prot_access(prot));
    wm_vmstate_model_changing_locked();
    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    /* Committed pages keep their data (committing twice is not an error); all of them take
     * the new protection (with the allocation's caching attribute), a VirtualLock stays in
     * force, and a written copy-on-write page of a view keeps its private copy. */
    wm_region_set(r, start - r->base, end - start, WM_STATE_COMMITTED, prot,
                  WM_RUN_LOCKED | WM_RUN_COPIED, 0);
    wm_space_refresh(&wm_vm.space, r);
    wm_watch_arm_locked(r, start - r->base, end - start);
    return STATUS_SUCCESS;
}

/* MEM_REPLACE_PLACEHOLDER: the placeholder [start, end) becomes a private allocation in
 * place, reserved or committed with prot (its pages were never accessible, so they read as
 * zero).  Caller holds the write lock. */
static NTSTATUS replace_locked(uintptr_t start, uintptr_t end, ULONG type, ULONG prot)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);
    bool commit = type & MEM_COMMIT;

    /* BaseAddress and size must be exactly the placeholder's. */
    if (!r || !(r->flags & WM_REGION_PLACEHOLDER) || r->base != start || r->size != end - start)
        return STATUS_CONFLICTING_ADDRESSES;
    uint32_t p = prot & ~(uint32_t)PAGE_TARGETS_INVALID;
    int rc = commit ? wm_os_protect(start, end - start, wm_prot_access(p)) : 0;
    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    wm_region_reset(r, p, MEM_PRIVATE, WM_REGION_REPLACED,
                    commit ? WM_STATE_COMMITTED : WM_STATE_RESERVED, commit ? p : 0);
    NTSTATUS st = (type & MEM_WRITE_WATCH) ? wm_watch_start_locked(r) : STATUS_SUCCESS;
    if (st) {
        /* Back to the placeholder it was (a fresh mapping: nothing was written). */
        wm_os_decommit(start, end - start);
        wm_region_reset(r, PAGE_NOACCESS, MEM_PRIVATE, WM_REGION_PLACEHOLDER, WM_STATE_RESERVED, 0);
        return st;
    }
    if (commit)
        wm_cfg_commit_locked(start, end - start, prot);
    return STATUS_SUCCESS;
}

/* The placeholder rules NtAllocateVirtualMemoryEx checks first. */
static NTSTATUS check_placeholder_type(uintptr_t addr, ULONG type, ULONG prot)
{
    if (type & MEM_RESERVE_PLACEHOLDER) {
        /* Address space only: nothing else may be asked of it. */
        if ((type & ~(ULONG)MEM_TOP_DOWN) != (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER) ||
            prot != PAGE_NOACCESS)
            return STATUS_INVALID_PARAMETER;
        return STATUS_SUCCESS;
    }
    /* MEM_REPLACE_PLACEHOLDER makes an allocation where the placeholder is: a reservation,
     * committed or not, at an address, with ordinary pages. */
    if (!(type & MEM_RESERVE) || !addr ||
        (type & (MEM_LARGE_PAGES | MEM_PHYSICAL | MEM_TOP_DOWN | MEM_RESET | MEM_RESET_UNDO)))
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

struct reset_ctx {
    bool undo;
    int rc;
    bool lost;
    size_t stuck_off, stuck_len; /* pages left writable by a refused restore (len 0: none) */
};

static int reset_run(void *ctx, const struct wm_region *r, size_t off, size_t len,
                     const struct wm_run *run)
{
    struct reset_ctx *c = ctx;
    uintptr_t a = r->base + off;

    (void)r;
    /* Reserved pages hold nothing, locked pages cannot be discarded, and a view's pages belong
     * to its section (resetting them is accepted and does nothing). */
    if (run->state != WM_STATE_COMMITTED || (run->flags & WM_RUN_LOCKED) ||
        (r->flags & WM_REGION_VIEW))
        return 0;
    if (!c->undo) {
        c->rc = wm_os_reset(a, len);
        return c->rc;
    }
    bool all;
    c->rc = wm_os_resident(a, len, &all);
    if (c->rc)
        return c->rc;
    if (!all)
        c->lost = true;
    /* Dirty every page so the kernel no longer treats it as free to discard.  This is the one
     * place winmem touches caller memory with the VM lock held: the pages are committed and
     * made writable first, so the access cannot fault into a handler that would want the
     * lock.  Execute access is kept, so code running there elsewhere does not fault. */
    unsigned acc = wm_prot_access(run->prot);
    /* Clean pages of a watched region are read-only in the kernel on the fallback path (the
     * caller re-arms them afterwards): the dirtying is not the program's write. */
    bool ro =
        !(acc & WM_ACC_W) || ((r->flags & WM_REGION_WATCHED) && wm_watch_mode == WM_WATCH_FALLBACK);
    if (ro && (c->rc = wm_os_protect(a, len, acc | WM_ACC_R | WM_ACC_W)))
        return c->rc;
    wm_os_keep(a, len, wm_vm.page);
    if (ro && (c->rc = wm_os_protect(a, len, acc))) {
        c->stuck_off = off;
        c->stuck_len = len;
    }
    return c->rc;
}

/* MEM_RESET / MEM_RESET_UNDO: contents may be discarded / are kept if still there. */
static NTSTATUS reset_locked(uintptr_t start, uintptr_t end, bool undo)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);
    struct reset_ctx c = { .undo = undo };

    /* Reserved pages are accepted (there is nothing to discard); a range running past the
     * allocation is not. */
    if (!r || end - r->base > r->size)
        return STATUS_CONFLICTING_ADDRESSES;
    /* MEM_RESET may let the kernel drop written pages: their record stays in the model. */
    wm_watch_harvest_locked(r, start - r->base, end - start);
    wm_region_walk(r, start - r->base, end - start, reset_run, &c);
    wm_watch_arm_locked(r, start - r->base, end - start);
    /* The kernel refused to take write access away again: the model must not go on saying
     * the pages are not writable. */
    if (c.stuck_len)
        wm_protect_adopt_locked(r, c.stuck_off, c.stuck_len, 0);
    if (c.rc)
        return wm_status_from_errno(c.rc, WM_ERRNO_MEMORY);
    /* Some data is gone: Windows reports the failure, and the pages stay usable. */
    return c.lost ? STATUS_CONFLICTING_ADDRESSES : STATUS_SUCCESS;
}

/* NtAllocateVirtualMemory: reserve and/or commit pages in the current process. */
WINMEM_API NTSTATUS NTAPI NtAllocateVirtualMemory(HANDLE process, PVOID *base_ptr,
                                                  ULONG_PTR zero_bits, PSIZE_T size_ptr, ULONG type,
                                                  ULONG prot)
{
    WM_TRACE(NtAllocateVirtualMemory, process, base_ptr, zero_bits, size_ptr, type, prot);
    return wm_allocate(process, base_ptr, zero_bits, size_ptr, type, prot, false);
}

NTSTATUS wm_allocate(HANDLE process, PVOID *base_ptr, ULONG_PTR zero_bits, PSIZE_T size_ptr,
                     ULONG type, ULONG prot, bool ex)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    uintptr_t addr, start, end, limit;
    size_t size;
    bool bad_bits;

    if (st)
        return st;
    if ((st = wm_vmstate_args_in(base_ptr, size_ptr, &addr, &size)))
        return st;
    wm_vmstate_init();

    /* ZeroBits constrains only an address the system chooses. */
    limit = wm_place_zero_bits_limit(zero_bits, &bad_bits);
    if (bad_bits)
        return STATUS_INVALID_PARAMETER_3;
    if (type & ~(ULONG)KNOWN_TYPES)
        return STATUS_INVALID_PARAMETER_5;
    /* Placeholders exist only through the Ex call, and both flags at once mean nothing. */
    ULONG ph = type & (MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER);
    if (ph && (!ex || ph == (MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER)))
        return STATUS_INVALID_PARAMETER;
    if (ph && (st = check_placeholder_type(addr, type, prot)))
        return st;
    if (type & (MEM_RESET | MEM_RESET_UNDO)) {
        /* Each stands alone; the protection is ignored but must still be a valid one. */
        if (type != MEM_RESET && type != MEM_RESET_UNDO)
            return STATUS_INVALID_PARAMETER_5;
    } else if (!(type & (MEM_COMMIT | MEM_RESERVE))) {
        return STATUS_INVALID_PARAMETER_5;
    }
    if (size == 0 || size > WM_MAX_ADDRESS + 1 - WM_MIN_ADDRESS)
        return STATUS_INVALID_PARAMETER_4;
    /* A commit at an address may land in a view, where the copy-on-write protections are
     * valid: commit_locked decides by what it finds there. */
    bool may_be_view = addr && !(type & (MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO));
    if (!wm_prot_valid(prot, may_be_view ? WM_PROT_VIEW : WM_PROT_ALLOC))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (addr > WM_MAX_ADDRESS || (addr && addr < WM_MIN_ADDRESS))
        return STATUS_INVALID_PARAMETER_2;
    if ((type & MEM_WRITE_WATCH) && !(type & MEM_RESERVE))
        return STATUS_INVALID_PARAMETER_5;
    if ((type & MEM_PHYSICAL) && (type != (MEM_RESERVE | MEM_PHYSICAL) || prot != PAGE_READWRITE))
        return STATUS_INVALID_PARAMETER_5;
    if (type & MEM_PHYSICAL)
        return STATUS_NOT_SUPPORTED; /* AWE is not implemented */
    /* A write watch records 4 KiB pages; a large page has no such pages to protect. */
    if ((type & (MEM_LARGE_PAGES | MEM_WRITE_WATCH)) == (MEM_LARGE_PAGES | MEM_WRITE_WATCH))
        return STATUS_INVALID_PARAMETER_5;
    if (type & MEM_LARGE_PAGES) {
        size_t large = wm_os_large_page_size();
        if (!large)
            return STATUS_NOT_SUPPORTED;
        if ((type & (MEM_COMMIT | MEM_RESERVE)) != (MEM_COMMIT | MEM_RESERVE))
            return STATUS_INVALID_PARAMETER_5;
        if (size % large || addr % large)
            return STATUS_INVALID_PARAMETER;
    }

    size_t done_size = 0;
    uintptr_t done_base = 0;
    if (type & MEM_REPLACE_PLACEHOLDER) {
        if (!wm_vmstate_page_range(addr, size, &start, &end) || end - 1 > WM_MAX_ADDRESS) {
            st = STATUS_CONFLICTING_ADDRESSES;
        } else {
            wm_vmstate_wrlock_range(start, end);
            st = replace_locked(start, end, type, prot);
            wm_vmstate_wrunlock();
            done_base = start;
            done_size = end - start;
        }
    } else if ((type & MEM_RESERVE) || (!addr && !(type & (MEM_RESET | MEM_RESET_UNDO)))) {
        /* A commit with no address reserves as well. */
        st = reserve(addr, size, type | MEM_RESERVE, prot, limit, &done_base, &done_size);
        /* Executable pages committed: their call targets are decided (mm/cfg.c). */
        if (st == STATUS_SUCCESS && (type & MEM_COMMIT) && (prot & 0xf0)) {
            wm_vmstate_wrlock();
            wm_cfg_commit_locked(done_base, done_size, prot);
            wm_vmstate_wrunlock();
        }
    } else if (!wm_vmstate_page_range(addr, size, &start, &end) || end - 1 > WM_MAX_ADDRESS) {
        st = STATUS_INVALID_PARAMETER_2;
    } else {
        /* A range another thread is creating or releasing is waited for, so the call sees
         * what that call did, not the middle of it. */
        wm_vmstate_wrlock_range(start, end);
        if (type & (MEM_RESET | MEM_RESET_UNDO))
            st = reset_locked(start, end, type & MEM_RESET_UNDO);
        else if ((st = commit_locked(start, end, prot)) == STATUS_SUCCESS)
            wm_cfg_commit_locked(start, end - start, prot);
        wm_vmstate_wrunlock();
        done_base = start;
        done_size = end - start;
    }

    if (st == STATUS_SUCCESS)
        wm_vmstate_args_out(base_ptr, size_ptr, done_base, done_size);
    return st;
}
