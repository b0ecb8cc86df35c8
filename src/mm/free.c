/*
 * free.c - NtFreeVirtualMemory: decommit pages (they read as zero when committed again) or
 * release a whole reservation.
 *
 * Addresses are page-rounded before the "at base" test, as Windows does, so releasing at
 * base+0xfff with size 0 succeeds.  Decommitting drops a VirtualLock with the pages.  A
 * release with a size releases that part of the allocation, and the placeholder operations
 * (MEM_PRESERVE_PLACEHOLDER, MEM_COALESCE_PLACEHOLDERS) are placeholder.c's.
 */
#include "mm.h"
#include "rtl/trace.h"

/* Find the region and the page range a free request covers; fills *r, *start, *end. */
static NTSTATUS free_range_locked(uintptr_t addr, size_t size, struct wm_region **rp,
                                  uintptr_t *start, uintptr_t *end)
{
    WM_ASSERT(wm_vmstate_write_held());
    uintptr_t page_addr = addr & ~(uintptr_t)(wm_vm.page - 1);
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, page_addr);

    if (!r)
        return STATUS_MEMORY_NOT_ALLOCATED;
    if (size == 0) {
        /* Size 0 means the whole allocation, and only from its base. */
        if (page_addr != r->base)
            return STATUS_FREE_VM_NOT_AT_BASE;
        *start = r->base;
        *end = r->base + r->size;
    } else if (!wm_vmstate_page_range(addr, size, start, end) || *end - r->base > r->size) {
        return STATUS_UNABLE_TO_FREE_VM;
    }
    *rp = r;
    return STATUS_SUCCESS;
}

int wm_release_locked(struct wm_region *r)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct wm_busy claim;
    uintptr_t base = r->base;
    size_t size = r->size;
    int rc;

    /* A view of a SEC_RESERVE section is unmapped under the lock: a commit in another view
     * of the section changes this one's pages too (view.c), which must not happen to a range
     * that may be unmapped already, nor be missed if the munmap fails. */
    bool shared_commit =
        (r->flags & WM_REGION_VIEW) && ((struct wm_section *)r->ext->object)->commit;
    if (shared_commit || !wm_vmstate_busy_allowed_locked()) {
        rc = wm_os_unmap(base, size);
    } else {
        /* Claimed, the region stays in the index while the lock is dropped: queries read it
         * as it was, placement does not reuse its range, and any other call on it waits.  A
         * failed munmap then leaves it exactly as it was. */
        wm_vmstate_busy_add_locked(&claim, base, base + size, false);
        wm_vmstate_wrunlock();
        rc = wm_os_unmap(base, size);
        wm_vmstate_wrlock();
        wm_vmstate_busy_settle_locked(&claim);
    }
    if (rc == 0) {
        wm_space_remove(&wm_vm.space, r);
        wm_place_freed_locked(base);
        wm_cfg_release_locked(base, size);
    }
    return rc;
}

/* One attempt at NtFreeVirtualMemory. */
static NTSTATUS free_once(HANDLE process, PVOID *base_ptr, PSIZE_T size_ptr, ULONG type)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    struct wm_region *r = NULL;
    uintptr_t start = 0, end = 0;
    int rc;

    uintptr_t addr;
    size_t size;

    if (st)
        return st;
    if ((st = wm_vmstate_args_in(base_ptr, size_ptr, &addr, &size)))
        return st;
    wm_secure_clear_refusal();
    ULONG how = type & (MEM_PRESERVE_PLACEHOLDER | MEM_COALESCE_PLACEHOLDERS);
    if ((type & ~how) != MEM_DECOMMIT && (type & ~how) != MEM_RELEASE)
        return STATUS_INVALID_PARAMETER_4;
    /* The placeholder operations are releases, one at a time, of a range given by size. */
    if (how && ((type & ~how) != MEM_RELEASE ||
                how == (MEM_PRESERVE_PLACEHOLDER | MEM_COALESCE_PLACEHOLDERS)))
        return STATUS_INVALID_PARAMETER_4;
    wm_vmstate_init();
    if (addr > WM_MAX_ADDRESS)
        return STATUS_INVALID_PARAMETER_2;
    if (how) {
        if (!size)
            return STATUS_INVALID_PARAMETER_3;
        if (!wm_vmstate_page_range(addr, size, &start, &end))
            return STATUS_CONFLICTING_ADDRESSES;
        wm_vmstate_wrlock_range(start, end);
        st = wm_placeholder_free_locked(start, end, how);
        wm_vmstate_wrunlock();
        if (st == STATUS_SUCCESS)
            wm_vmstate_args_out(base_ptr, size_ptr, start, end - start);
        return st;
    }

    /* A free racing another release of the same allocation waits for it, then finds it
     * gone (STATUS_MEMORY_NOT_ALLOCATED), as if it had come second.  (The range freed must
     * lie in the allocation holding its first page, so that page is the one to wait on.) */
    uintptr_t page_addr = addr & ~(uintptr_t)(wm_vm.page - 1);
    wm_vmstate_wrlock_range(page_addr, page_addr + 1);
    st = free_range_locked(addr, size, &r, &start, &end);
    if (st)
        goto out_unlock;
    if (r->flags & WM_REGION_VIEW) {
        /* Views are released with UnmapViewOfFile and cannot be decommitted. */
        st = STATUS_INVALID_PARAMETER;
        goto out_unlock;
    }
    st = wm_secure_check_free_locked(start, end);
    if (st)
        goto out_unlock;
    if (type == MEM_RELEASE && (start != r->base || end != r->base + r->size)) {
        /* Part of an allocation: since Windows 10 the rest stays, as allocations of their
         * own (VirtualFree never asks for this: it releases with size 0). */
        st = wm_release_part_locked(r, start, end);
    } else if (type == MEM_RELEASE) {
        rc = wm_release_locked(r);
        if (rc) {
            st = wm_status_from_errno(rc, WM_ERRNO_MEMORY);
            goto out_unlock;
        }
        wm_region_free(r);
    } else {
        if (wm_region_reserve_runs(r)) {
            st = STATUS_NO_MEMORY;
            goto out_unlock;
        }
        /* Windows goes on reporting written pages after they are decommitted. */
        wm_watch_harvest_locked(r, start - r->base, end - start);
        wm_vmstate_model_stable_locked();
        rc = wm_os_decommit(start, end - start);
        wm_vmstate_model_changing_locked();
        if (rc) {
            st = wm_status_from_errno(rc, WM_ERRNO_MEMORY);
            goto out_unlock;
        }
        wm_watch_rewatch_locked(r, start - r->base, end - start);
        wm_region_set(r, start - r->base, end - start, WM_STATE_RESERVED, 0, 0, 0);
        wm_space_refresh(&wm_vm.space, r);
    }
out_unlock:
    wm_vmstate_wrunlock();
    /* Since Windows 10 1709 a whole-allocation decommit reports size 0. */
    if (st == STATUS_SUCCESS)
        wm_vmstate_args_out(base_ptr, size_ptr, start,
                            type == MEM_DECOMMIT && size == 0 ? 0 : end - start);
    return st;
}

/* NtFreeVirtualMemory: MEM_DECOMMIT or MEM_RELEASE in the current process.  A secured range
 * is refused, the secure memory cache callbacks run on the range asked for (a release of
 * size 0: the whole allocation), and the free is tried once more (secure.c). */
WINMEM_API NTSTATUS NTAPI NtFreeVirtualMemory(HANDLE process, PVOID *base_ptr, PSIZE_T size_ptr,
                                              ULONG type)
{
    WM_TRACE(NtFreeVirtualMemory, process, base_ptr, size_ptr, type);
    NTSTATUS st = free_once(process, base_ptr, size_ptr, type);

    if (st == STATUS_INVALID_PAGE_PROTECTION) {
        /* Refused: the outputs were not written, so they still hold what was asked (and they
         * could be read, or the call would have failed before that). */
        uintptr_t addr;
        size_t size;
        (void)wm_vmstate_args_in(base_ptr, size_ptr, &addr, &size);
        if (!size)
            size = wm_secure_allocation_size(addr);
        if (wm_secure_flush_refused(st, addr, size))
            st = free_once(process, base_ptr, size_ptr, type);
        wm_secure_clear_refusal();
    }
    return st;
}
