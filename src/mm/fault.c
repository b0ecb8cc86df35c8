/*
 * fault.c - what a memory fault means to the memory manager: a guard page to consume, a
 * stale fault to retry (another thread changed the page meanwhile), or an access
 * violation.  Called from the SIGSEGV handler (except/signal.c), so everything here is
 * async-signal-safe: the VM lock is a futex lock, model memory comes from the mmap-backed
 * arena, and the system calls are raw ones (mprotect for a guard page or a copy-on-write
 * page, mmap to remap one page of a shared view privately).
 */
#include "mm.h"

/* The committed protection at addr (0 when reserved), read without the lock.  1: winmem's
 * memory; 0: not winmem's; -1: writers kept moving, decide under the lock. */
static int prot_lockfree(uintptr_t addr, uint32_t *prot)
{
    /* Under ThreadSanitizer, decide under the lock (it cannot see the sequence validation). */
    for (int tries = 0; !WM_TSAN && tries < 8; tries++) {
        uint32_t seq = wm_vmstate_read_begin();
        if (seq & 1)
            continue;
        struct wm_summary sum;
        struct wm_run_read rd;
        const struct wm_region *r =
            wm_space_find_lockfree(&wm_vm.space, addr, wm_vmstate_seq_valid, &seq, &sum);
        uint32_t p = 0;
        bool mine = r != NULL;
        if (mine && sum.state != WM_SUMMARY_MANY) {
            p = sum.state == WM_STATE_COMMITTED ? sum.prot : 0;
        } else if (mine) {
            if (!wm_region_read_lockfree(r, addr, &rd, wm_vmstate_seq_valid, &seq))
                continue;
            p = rd.state == WM_STATE_COMMITTED ? rd.prot : 0;
        }
        if (!wm_vmstate_read_valid(seq))
            continue;
        *prot = p;
        return mine ? 1 : 0;
    }
    return -1; /* writers kept moving: the caller decides under the lock */
}

/* The first write to a copy-on-write page: give this page alone its private copy (the
 * kernel makes it on the retried write) and record PAGE_READWRITE / PAGE_EXECUTE_READWRITE,
 * as Windows reports a written copy-on-write page.  Caller holds the write lock. */
static bool cow_upgrade_locked(struct wm_region *r, uintptr_t page, uint32_t prot)
{
    WM_ASSERT(wm_vmstate_write_held());
    uint32_t written = wm_prot_written(prot);
    unsigned acc = wm_prot_access(written);
    int rc;

    if (wm_region_reserve_runs(r))
        return false;
    if (r->flags & WM_REGION_VIEW_PRIVATE) {
        rc = wm_os_protect(page, wm_vm.page, acc);
    } else {
        /* A page of a shared view made copy-on-write by VirtualProtect: map that page
         * privately from the same offset (same contents now), then the write copies it. */
        const struct wm_section *s = r->ext->object;
        rc = wm_os_map_file(page, wm_vm.page, acc, s->fd,
                            s->data_off + r->ext->offset + (page - r->base), false, true);
    }
    if (rc)
        return false;
    wm_region_set(r, page - r->base, wm_vm.page, WM_STATE_COMMITTED, written, ~0u, WM_RUN_COPIED);
    wm_space_refresh(&wm_vm.space, r);
    return true;
}

/* Async-signal-safe: classify a fault at addr with access acc (WM_ACC_R/W/X). */
enum wm_fault wm_fault_classify_sigsafe(uintptr_t addr, unsigned acc)
{
    uint32_t prot = 0;
    int mine = prot_lockfree(addr, &prot);

    if (mine == 0)
        return WM_FAULT_VIOLATION; /* not winmem's memory: an ordinary access violation */
    /* A write the protection allows may be the first write to a watched page (fallback write
     * watches): decided under the lock. */
    bool watch_write = (acc & WM_ACC_W) && WM_LOAD(wm_watch_mode) == WM_WATCH_FALLBACK;
    if (mine == 1 && !(prot & PAGE_GUARD) && !(wm_prot_is_cow(prot) && (acc & WM_ACC_W))) {
        bool allowed = prot && (wm_prot_access(prot) & acc) == acc;
        /* Allowed by the model, refused by the kernel: a change that got there first (retry),
         * unless a writer is in the middle of its system call (the model says what was before
         * it: a guard page being set must raise its exception, not a violation after the
         * retries run out), which the lock, or the protection change's claim, waits for. */
        if (!allowed)
            return WM_FAULT_VIOLATION;
        if (!watch_write && !wm_vmstate_writer_active_sigsafe())
            return WM_FAULT_RETRY;
    }

    /* A guard page (or an undecided read): consume the guard under the write lock.  Two
     * threads touching one guard page both get here; the second finds it gone and retries,
     * so exactly one exception is raised. */
    enum wm_fault result = WM_FAULT_VIOLATION;
    uintptr_t page = addr & ~(uintptr_t)(wm_vm.page - 1);
    /* Another thread's VirtualProtect of this page may have changed the kernel's protection
     * with its model update still to come: decide on the outcome, and never consume a guard
     * (with an mprotect of its own) under a change in flight. */
    wm_vmstate_wrlock_unchanging_sigsafe(page, page + 1);
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, page);
    /* A region being released may be unmapped already, and its range reused by anyone: it is
     * not changed (no waiting either: this may be the releasing thread's own signal). */
    if (r && wm_vmstate_busy_any_locked(page, page + 1))
        r = NULL;
    if (r) {
        const struct wm_run *run = &r->runs[wm_region_run_index(r, page - r->base)];
        prot = run->state == WM_STATE_COMMITTED ? run->prot : 0;
        if (prot & PAGE_GUARD) {
            uint32_t plain = prot & ~(uint32_t)PAGE_GUARD;
            if (wm_region_reserve_runs(r) == 0 &&
                wm_os_protect(page, wm_vm.page, wm_prot_access(plain)) == 0) {
                wm_region_protect(r, page - r->base, wm_vm.page, plain);
                wm_space_refresh(&wm_vm.space, r);
                /* In watched memory the write itself is recorded when it is retried. */
                wm_watch_arm_locked(r, page - r->base, wm_vm.page);
                result = WM_FAULT_GUARD;
            }
        } else if (wm_prot_is_cow(prot) && (acc & WM_ACC_W) && (r->flags & WM_REGION_VIEW)) {
            if (cow_upgrade_locked(r, page, prot))
                result = WM_FAULT_RETRY;
        } else if (prot && (wm_prot_access(prot) & acc) == acc && (acc & WM_ACC_W) &&
                   (r->flags & WM_REGION_WATCHED) && wm_watch_mode == WM_WATCH_FALLBACK) {
            result = wm_watch_fault_locked(r, page, prot);
        } else if (prot && (wm_prot_access(prot) & acc) == acc) {
            result = WM_FAULT_RETRY;
        }
    }
    wm_vmstate_wrunlock();
    return result;
}
