/*
 * protect.c - NtProtectVirtualMemory: change the protection of committed pages.
 *
 * The whole page range changes with one mprotect, or not at all: every page must be
 * committed and inside one allocation before anything happens, and a kernel refusal part
 * way (ENOMEM at vm.max_map_count) is rolled back run by run.  Should the rollback be refused
 * too, the model takes what the kernel then has (wm_protect_adopt_locked), so the two agree.
 */
#include "mm.h"
#include "rtl/trace.h"

/* Rollback: give pages back the protection the model still records for them.  Every run is
 * tried; the first failure is kept in *ctx. */
static int restore_run(void *ctx, const struct wm_region *r, size_t off, size_t len,
                       const struct wm_run *run)
{
    int rc = wm_os_protect(r->base + off, len, wm_prot_access(run->prot));
    if (rc && *(int *)ctx == 0)
        *(int *)ctx = rc;
    return 0;
}

void wm_protect_adopt_locked(struct wm_region *r, size_t off, size_t len, uint32_t want)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct wm_maps m;
    struct wm_maps_entry e;
    uintptr_t lo = r->base + off, hi = lo + len;

    if (wm_maps_open(&m))
        return;
    while (wm_maps_next(&m, &e) == 1 && e.start < hi) {
        uintptr_t a = e.start > lo ? e.start : lo, b = e.end < hi ? e.end : hi;
        for (uintptr_t pos = a; pos < b;) {
            uint32_t i = wm_region_run_index(r, pos - r->base);
            uintptr_t end = r->base + wm_region_run_end(r, i);
            const struct wm_run *run = &r->runs[i];
            if (end > b)
                end = b;
            if (run->state == WM_STATE_COMMITTED && wm_prot_access(run->prot) != e.acc) {
                /* The step that failed was giving these pages `want`; anything else the
                 * kernel shows is reported by its access alone, with the allocation's
                 * caching attribute. */
                uint32_t w = (run->flags & WM_RUN_COPIED) ? wm_prot_written(want) : want;
                uint32_t p = want && wm_prot_access(w) == e.acc
                                 ? w
                                 : wm_prot_from_access(e.acc) |
                                       (run->prot & (PAGE_NOCACHE | PAGE_WRITECOMBINE));
                if (wm_region_reserve_runs(r))
                    goto out;
                wm_region_protect(r, pos - r->base, end - pos, p);
            }
            pos = end;
        }
    }
out:
    wm_maps_close(&m);
    wm_space_refresh(&wm_vm.space, r);
}

/* Undo a protection change that the kernel refused part way through [off, off+len), which was
 * giving the pages `want`; if the undo fails too, make the model say what the kernel has. */
static void roll_back_locked(struct wm_region *r, size_t off, size_t len, uint32_t want)
{
    WM_ASSERT(wm_vmstate_write_held());
    int rc = 0;

    wm_region_walk(r, off, len, restore_run, &rc);
    if (rc)
        wm_protect_adopt_locked(r, off, len, want);
    else
        wm_watch_arm_locked(r, off, len); /* the restored access included clean pages' write */
}

static int has_copied(void *ctx, const struct wm_region *r, size_t off, size_t len,
                      const struct wm_run *run)
{
    (void)ctx, (void)r, (void)off, (void)len;
    return (run->flags & WM_RUN_COPIED) != 0;
}

bool wm_protect_any_copied(const struct wm_region *r, size_t off, size_t len)
{
    return wm_region_walk(r, off, len, has_copied, NULL) != 0;
}

struct cow_pass {
    uint32_t prot;
    int rc;
};

static int protect_piece(void *ctx, const struct wm_region *r, size_t off, size_t len,
                         const struct wm_run *run)
{
    struct cow_pass *c = ctx;
    uint32_t p = (run->flags & WM_RUN_COPIED) ? wm_prot_written(c->prot) : c->prot;
    c->rc = wm_os_protect(r->base + off, len, wm_prot_access(p));
    return c->rc;
}

/* Copy-on-write asked for over pages some of which are already written: those keep (and
 * report) their read-write protection, as on Windows; the rest become copy-on-write.  One
 * mprotect per run, undone run by run if the kernel refuses part way. */
NTSTATUS wm_protect_copied_locked(struct wm_region *r, size_t off, size_t len, uint32_t prot,
                                  uint32_t *old)
{
    WM_ASSERT(wm_vmstate_write_held());
    uint32_t n;
    struct cow_pass c = { prot, 0 };

    n = wm_region_count_runs(r, off, len);
    if (wm_region_reserve_runs_n(r, 2 * n + 2))
        return STATUS_NO_MEMORY;
    wm_region_walk(r, off, len, protect_piece, &c);
    if (c.rc) {
        /* The piece that failed may have changed part way too: undo the whole range. */
        roll_back_locked(r, off, len, prot);
        return wm_status_from_errno(c.rc, WM_ERRNO_MEMORY);
    }
    *old = r->runs[wm_region_run_index(r, off)].prot;
    for (size_t pos = off; pos < off + len;) {
        uint32_t i = wm_region_run_index(r, pos);
        size_t end = wm_region_run_end(r, i) < off + len ? wm_region_run_end(r, i) : off + len;
        uint32_t p = (r->runs[i].flags & WM_RUN_COPIED) ? wm_prot_written(prot) : prot;
        wm_region_protect(r, pos, end - pos, p);
        pos = end;
    }
    wm_space_refresh(&wm_vm.space, r);
    return STATUS_SUCCESS;
}

/* One attempt at NtProtectVirtualMemory. */
WM_HOT static NTSTATUS protect_once(HANDLE process, PVOID *base_ptr, PSIZE_T size_ptr,
                                    ULONG new_prot, PULONG old_ptr)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    struct wm_region *r;
    uintptr_t start, end;
    size_t off, len = 0;
    uint32_t old = PAGE_NOACCESS;
    int rc;
    struct wm_busy claim;
    bool claimed = false;

    uintptr_t addr;
    size_t size;
    ULONG probe;
    ULONG asked = new_prot; /* with PAGE_TARGETS_NO_UPDATE, which is not a protection */

    if (st)
        return st;
    wm_secure_clear_refusal();
    if ((st = wm_vmstate_args_in(base_ptr, size_ptr, &addr, &size)))
        return st;
    if (!old_ptr || wm_os_copy(&probe, old_ptr, sizeof(probe)) ||
        wm_os_copy(old_ptr, &probe, sizeof(probe)))
        return STATUS_ACCESS_VIOLATION;
    if (!wm_prot_valid(new_prot, WM_PROT_VIEW))
        return STATUS_INVALID_PAGE_PROTECTION;
    wm_vmstate_init();
    if (addr > WM_MAX_ADDRESS || !wm_vmstate_page_range(addr, size, &start, &end))
        return STATUS_INVALID_PARAMETER_2;
    if (end == start)
        end = start + wm_vm.page; /* a zero size still names the page holding addr */

    wm_vmstate_wrlock_range(start, end);
    r = wm_space_find_sigsafe(&wm_vm.space, start);
    /* Copy-on-write exists only in views: anywhere else it is an invalid protection, whatever
     * else is wrong with the range. */
    if ((!r || !(r->flags & WM_REGION_VIEW)) && !wm_prot_valid(new_prot, WM_PROT_PROTECT)) {
        st = STATUS_INVALID_PAGE_PROTECTION;
        goto out_unlock;
    }
    if (!r || end - r->base > r->size) {
        st = STATUS_CONFLICTING_ADDRESSES;
        goto out_unlock;
    }
    off = start - r->base;
    len = end - start;
    if (!wm_region_all_committed(r, off, len)) {
        st = STATUS_NOT_COMMITTED;
        goto out_unlock;
    }
    if (r->flags & WM_REGION_VIEW) {
        /* Within the view's access class only. */
        unsigned want = wm_prot_class(new_prot), have = wm_prot_class(r->alloc_prot);
        if ((want & have) != want) {
            st = STATUS_INVALID_PAGE_PROTECTION;
            goto out_unlock;
        }
    }
    new_prot = wm_prot_effective(r->alloc_prot, new_prot);
    st = wm_secure_check_protect_locked(start, end, new_prot);
    if (st)
        goto out_unlock;
    if ((r->flags & WM_REGION_VIEW) && wm_prot_is_cow(new_prot) &&
        wm_protect_any_copied(r, off, len)) {
        st = wm_protect_copied_locked(r, off, len, new_prot, &old);
        goto out_unlock;
    }
    if (wm_region_reserve_runs(r)) {
        st = STATUS_NO_MEMORY;
        goto out_unlock;
    }
    uint32_t was = r->runs[wm_region_run_index(r, off)].prot;
    if ((r->flags & WM_REGION_WATCHED) || !wm_vmstate_busy_allowed_locked() ||
        wm_vmstate_alone_locked()) {
        /* Watched pages get their write access taken back (wm_watch_arm_locked) before
         * anyone may write unrecorded: the lock stays held, readers go on meanwhile.  So it
         * does in a program with one thread, which nobody could wait for. */
        wm_vmstate_model_stable_locked();
        rc = wm_os_protect(start, len, wm_prot_access(new_prot));
        wm_vmstate_model_changing_locked();
    } else {
        /* The mprotect runs with the lock dropped and the allocation claimed, as a
         * reservation's mmap does (mm.h, busy ranges): other threads' calls on other
         * allocations go on, calls on this one wait for the outcome (a free names only its
         * first page, a decommit or a guard page consumed elsewhere in it would use the room
         * reserved for the update), queries read the model as it was, and a fault the new
         * protection caused is decided once the model says it (fault.c). */
        wm_vmstate_busy_change_locked(&claim, r->base, r->base + r->size);
        claimed = true;
        wm_vmstate_wrunlock();
        rc = wm_os_protect(start, len, wm_prot_access(new_prot));
        wm_vmstate_wrlock();
    }
    if (rc) {
        roll_back_locked(r, off, len, new_prot);
        st = wm_status_from_errno(rc, WM_ERRNO_MEMORY);
        goto out_settle;
    }
    old = was;
    wm_region_protect(r, off, len, new_prot);
    wm_space_refresh(&wm_vm.space, r);
    wm_watch_arm_locked(r, off, len);
out_settle:
    if (claimed)
        wm_vmstate_busy_settle_locked(&claim);
out_unlock:
    if (st == STATUS_SUCCESS)
        wm_cfg_protect_locked(start, len, asked);
    wm_vmstate_wrunlock();
    /* Windows reports PAGE_NOACCESS as the old protection even when it refuses.  When the
     * change just made old_ptr's own page read-only, the write fails and is ignored: the
     * protection is changed, as on Windows. */
    ULONG old_out = old;
    (void)wm_os_copy(old_ptr, &old_out, sizeof(old_out));
    if (st == STATUS_SUCCESS)
        wm_vmstate_args_out(base_ptr, size_ptr, start, len);
    return st;
}

/* NtProtectVirtualMemory: set the protection of committed pages in the current process.  A
 * protection taking away access a secured range promised is refused, the secure memory cache
 * callbacks run on the range asked for, and the change is tried once more (secure.c). */
WM_HOT WINMEM_API NTSTATUS NTAPI NtProtectVirtualMemory(HANDLE process, PVOID *base_ptr,
                                                        PSIZE_T size_ptr, ULONG new_prot,
                                                        PULONG old_ptr)
{
    WM_TRACE(NtProtectVirtualMemory, process, base_ptr, size_ptr, new_prot, old_ptr);
    NTSTATUS st = protect_once(process, base_ptr, size_ptr, new_prot, old_ptr);

    if (st == STATUS_INVALID_PAGE_PROTECTION) {
        uintptr_t addr;
        size_t size;
        (void)wm_vmstate_args_in(base_ptr, size_ptr, &addr, &size);
        if (wm_secure_flush_refused(st, addr, size))
            st = protect_once(process, base_ptr, size_ptr, new_prot, old_ptr);
        wm_secure_clear_refusal();
    }
    return st;
}
