/*
 * lock.c - NtLockVirtualMemory / NtUnlockVirtualMemory: keep committed pages resident.
 *
 * Windows keeps no lock count: a page is locked or not.  Locking needs every page committed
 * and accessible; a guard page in the range has its guard consumed and the call reports
 * STATUS_GUARD_PAGE_VIOLATION, so a second call succeeds (as Windows does).  Memory winmem
 * did not allocate is locked directly with mlock.
 */
#include "mm.h"
#include "rtl/trace.h"

#include <errno.h>

struct lock_scan {
    bool inaccessible;
    size_t guard_off; /* first guard page, or SIZE_MAX */
};

static int scan_run(void *ctx, const struct wm_region *r, size_t off, size_t len,
                    const struct wm_run *run)
{
    struct lock_scan *c = ctx;

    (void)r, (void)len;
    if (run->state != WM_STATE_COMMITTED || (run->prot & WM_PAGE_BASE_MASK) == PAGE_NOACCESS) {
        c->inaccessible = true;
        return 1;
    }
    if ((run->prot & PAGE_GUARD) && c->guard_off == SIZE_MAX)
        c->guard_off = off;
    return 0;
}

static NTSTATUS lock_args(HANDLE process, PVOID *base_ptr, PSIZE_T size_ptr, ULONG map_type,
                          uintptr_t *start, uintptr_t *end)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    uintptr_t addr;
    size_t size;

    if (st)
        return st;
    if ((st = wm_vmstate_args_in(base_ptr, size_ptr, &addr, &size)))
        return st;
    if (map_type == MAP_SYSTEM)
        return STATUS_PRIVILEGE_NOT_HELD; /* locking in physical memory needs a privilege */
    if (map_type != MAP_PROCESS)
        return STATUS_INVALID_PARAMETER;
    wm_vmstate_init();
    if (addr > WM_MAX_ADDRESS || !wm_vmstate_page_range(addr, size, start, end))
        return STATUS_INVALID_PARAMETER;
    if (*end == *start)
        *end = *start + wm_vm.page;
    return STATUS_SUCCESS;
}

/* A range outside winmem's reservations: it must be mapped, and then mlock decides. */
static NTSTATUS lock_foreign_locked(uintptr_t start, uintptr_t end, bool lock)
{
    MEMORY_BASIC_INFORMATION m;

    for (uintptr_t p = start; p < end; p = (uintptr_t)m.BaseAddress + m.RegionSize) {
        NTSTATUS st = wm_query_locked(p, &m);
        if (st)
            return st;
        if (m.State != MEM_COMMIT || (lock && m.Protect == PAGE_NOACCESS) ||
            wm_space_find_sigsafe(&wm_vm.space, p))
            return lock ? STATUS_ACCESS_VIOLATION : STATUS_NOT_LOCKED;
    }
    return lock ? wm_status_from_errno(wm_os_lock(start, end - start), WM_ERRNO_LOCK)
                : wm_status_from_errno(wm_os_unlock(start, end - start), WM_ERRNO_MEMORY);
}

/* NtLockVirtualMemory: lock committed pages of the current process into memory. */
WINMEM_API NTSTATUS NTAPI NtLockVirtualMemory(HANDLE process, PVOID *base_ptr, PSIZE_T size_ptr,
                                              ULONG map_type)
{
    WM_TRACE(NtLockVirtualMemory, process, base_ptr, size_ptr, map_type);
    uintptr_t start = 0, end = 0;
    NTSTATUS st = lock_args(process, base_ptr, size_ptr, map_type, &start, &end);
    struct lock_scan scan = { .guard_off = SIZE_MAX };

    if (st)
        return st;
    wm_vmstate_wrlock_range(start, end);
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);
    if (!r) {
        st = lock_foreign_locked(start, end, true);
        goto out_unlock;
    }
    size_t off = start - r->base, len = end - start;
    if (end - r->base > r->size) {
        st = STATUS_ACCESS_VIOLATION;
        goto out_unlock;
    }
    wm_region_walk(r, off, len, scan_run, &scan);
    if (scan.inaccessible) {
        st = STATUS_ACCESS_VIOLATION;
        goto out_unlock;
    }
    if (wm_region_reserve_runs(r)) {
        st = STATUS_NO_MEMORY;
        goto out_unlock;
    }
    if (scan.guard_off != SIZE_MAX) {
        /* Touching the range consumes the first guard page, exactly as an access would. */
        uint32_t prot = r->runs[wm_region_run_index(r, scan.guard_off)].prot & ~PAGE_GUARD;
        int rc = wm_os_protect(r->base + scan.guard_off, wm_vm.page, wm_prot_access(prot));
        if (rc) {
            st = wm_status_from_errno(rc, WM_ERRNO_MEMORY);
            goto out_unlock;
        }
        wm_region_protect(r, scan.guard_off, wm_vm.page, prot);
        wm_space_refresh(&wm_vm.space, r);
        wm_watch_arm_locked(r, scan.guard_off, wm_vm.page);
        st = STATUS_GUARD_PAGE_VIOLATION;
        goto out_unlock;
    }
    /* mlock's populating write faults would count as writes to fast write watches. */
    int rc = (r->flags & WM_REGION_WATCHED) && wm_watch_mode == WM_WATCH_FAST
                 ? wm_os_lock_no_write(start, len)
                 : wm_os_lock(start, len);
    if (rc) {
        st = wm_status_from_errno(rc, WM_ERRNO_LOCK);
        goto out_unlock;
    }
    wm_region_set_flags(r, off, len, WM_RUN_LOCKED, 0);
    wm_space_refresh(&wm_vm.space, r);
out_unlock:
    wm_vmstate_wrunlock();
    if (st == STATUS_SUCCESS)
        wm_vmstate_args_out(base_ptr, size_ptr, start, end - start);
    return st;
}

/* NtUnlockVirtualMemory: every page of the range must be locked, or nothing changes. */
WINMEM_API NTSTATUS NTAPI NtUnlockVirtualMemory(HANDLE process, PVOID *base_ptr, PSIZE_T size_ptr,
                                                ULONG map_type)
{
    WM_TRACE(NtUnlockVirtualMemory, process, base_ptr, size_ptr, map_type);
    uintptr_t start = 0, end = 0;
    NTSTATUS st = lock_args(process, base_ptr, size_ptr, map_type, &start, &end);

    if (st)
        return st;
    wm_vmstate_wrlock_range(start, end);
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);
    if (!r) {
        st = lock_foreign_locked(start, end, false);
        goto out_unlock;
    }
    size_t off = start - r->base, len = end - start;
    if (end - r->base > r->size || !wm_region_all_flagged(r, off, len, WM_RUN_LOCKED)) {
        st = STATUS_NOT_LOCKED;
        goto out_unlock;
    }
    if (wm_region_reserve_runs(r)) {
        st = STATUS_NO_MEMORY;
        goto out_unlock;
    }
    int rc = wm_os_unlock(start, len);
    if (rc) {
        st = wm_status_from_errno(rc, WM_ERRNO_MEMORY);
        goto out_unlock;
    }
    wm_region_set_flags(r, off, len, 0, WM_RUN_LOCKED);
    wm_space_refresh(&wm_vm.space, r);
out_unlock:
    wm_vmstate_wrunlock();
    if (st == STATUS_SUCCESS)
        wm_vmstate_args_out(base_ptr, size_ptr, start, end - start);
    return st;
}
