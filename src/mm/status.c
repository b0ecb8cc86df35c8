/*
 * status.c - what GlobalMemoryStatusEx, GetPhysicallyInstalledSystemMemory and the
 * working-set calls report: the machine's memory as the process's cgroup limits it, the
 * commit limit, the user address space and what of it is free, and the VirtualLock quota.
 *
 * Windows' working-set minimum is also the ceiling on what VirtualLock may lock; on Linux the
 * ceiling is RLIMIT_MEMLOCK.  So a program that raises its minimum before locking (the
 * documented way on Windows) gets the soft limit raised as far as the hard one allows.
 */
#include "mm.h"

#include <stdatomic.h>

#define NONE UINT64_MAX
/* Above every user address on x86-64 and arm64; [vsyscall] lies beyond it. */
#define USER_TOP ((uintptr_t)1 << 56)

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t room(uint64_t limit, uint64_t usage)
{
    if (limit == NONE)
        return NONE;
    return usage != NONE && usage < limit ? limit - usage : (usage == NONE ? limit : 0);
}

void wm_status_combine(const struct wm_os_memstat *m, struct wm_memory_status *out)
{
    uint64_t total = min64(m->total, m->cg_limit);
    uint64_t avail = min64(min64(m->avail, room(m->cg_limit, m->cg_usage)), total);
    uint64_t swap_total = m->swap_total, swap_free = m->swap_free;
    if (!m->cg_memsw && m->cg_swap_limit != NONE) {
        swap_total = min64(swap_total, m->cg_swap_limit);
        swap_free = min64(swap_free, room(m->cg_swap_limit, m->cg_swap_usage));
    }
    uint64_t commit_total = total + swap_total, commit_avail = avail + swap_free;
    if (m->cg_memsw && m->cg_swap_limit != NONE) {
        commit_total = min64(commit_total, m->cg_swap_limit);
        commit_avail = min64(commit_avail, room(m->cg_swap_limit, m->cg_swap_usage));
    }
    if (m->strict_commit && m->commit_limit != NONE) {
        commit_total = min64(commit_total, m->commit_limit);
        commit_avail = min64(commit_avail, room(m->commit_limit, m->committed));
    }
    out->total_phys = total;
    out->avail_phys = avail;
    /* The share in use, rounded to the nearest percent. */
    out->load = total ? (uint32_t)(((total - avail) * 100 + total / 2) / total) : 0;
    out->total_commit = commit_total;
    out->avail_commit = min64(commit_avail, commit_total);
}

NTSTATUS wm_status_memory(struct wm_memory_status *out)
{
    struct wm_os_memstat m;
    int rc = wm_os_memstat("", &m);
    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    wm_status_combine(&m, out);

    /* User address space: what GetSystemInfo's minimum and maximum application addresses
     * bound, less every mapping there (winmem's and everyone else's).  Under RLIMIT_AS
     * (ulimit -v) no more can be reserved than the limit leaves over every mapping the kernel
     * counts against it (all of the process's, [vsyscall] above user space aside). */
    uintptr_t lo = WM_MIN_ADDRESS, hi = WM_MAX_ADDRESS + 1;
    uint64_t used = 0, counted = 0;
    struct wm_maps maps;
    struct wm_maps_entry e;
    if ((rc = wm_maps_open(&maps)))
        return wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    while ((rc = wm_maps_next(&maps, &e)) == 1) {
        uintptr_t s = e.start < lo ? lo : e.start, t = e.end > hi ? hi : e.end;
        if (t > s)
            used += t - s;
        if (e.start < USER_TOP)
            counted += e.end - e.start;
    }
    wm_maps_close(&maps);
    if (rc < 0)
        return wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    out->total_virtual = hi - lo;
    out->avail_virtual = min64(out->total_virtual - used, room(wm_os_as_limit(), counted));
    return STATUS_SUCCESS;
}

NTSTATUS wm_status_installed(uint64_t *bytes)
{
    uint64_t n = wm_os_installed_memory("");
    if (!n) {
        /* No memory blocks in sysfs (some virtual machines, some arm64 boards): what the
         * kernel manages is the best figure left. */
        struct wm_os_memstat m;
        int rc = wm_os_memstat("", &m);
        if (rc)
            return wm_status_from_errno(rc, WM_ERRNO_OBJECT);
        n = m.total;
    }
    *bytes = n;
    return STATUS_SUCCESS;
}

/* The working-set sizes last set; 0 until then (the defaults below apply). */
static _Atomic size_t ws_min, ws_max;
static _Atomic ULONG ws_flags = QUOTA_LIMITS_HARDWS_MIN_DISABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE;

NTSTATUS wm_status_working_set(HANDLE process, size_t *min, size_t *max, ULONG *flags)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    if (st)
        return st;
    wm_vmstate_init();
    size_t page = wm_vm.page;
    size_t lo = atomic_load(&ws_min), hi = atomic_load(&ws_max);
    /* Windows' defaults: 50 pages and 345 pages. */
    *min = lo ? lo : 50 * page;
    *max = hi ? hi : 345 * page;
    *flags = atomic_load(&ws_flags);
    return STATUS_SUCCESS;
}

#define WS_FLAGS                                                        \
    (QUOTA_LIMITS_HARDWS_MIN_ENABLE | QUOTA_LIMITS_HARDWS_MIN_DISABLE | \
     QUOTA_LIMITS_HARDWS_MAX_ENABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE)

NTSTATUS wm_status_set_working_set(HANDLE process, size_t min, size_t max, ULONG flags)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    if (st)
        return st;
    wm_vmstate_init();
    size_t page = wm_vm.page;

    if (flags & ~(ULONG)WS_FLAGS)
        return STATUS_INVALID_PARAMETER;
    if ((flags & QUOTA_LIMITS_HARDWS_MIN_ENABLE) && (flags & QUOTA_LIMITS_HARDWS_MIN_DISABLE))
        return STATUS_INVALID_PARAMETER;
    if ((flags & QUOTA_LIMITS_HARDWS_MAX_ENABLE) && (flags & QUOTA_LIMITS_HARDWS_MAX_DISABLE))
        return STATUS_INVALID_PARAMETER;
    if (min == (size_t)-1 && max == (size_t)-1) {
        /* "Remove as many pages as possible": Linux pages out on its own schedule, and the
         * sizes stay as they were, as on Windows. */
        return STATUS_SUCCESS;
    }
    if (min == 0 || max == 0 || min > max)
        return STATUS_INVALID_PARAMETER;
    if (max < 13 * page)
        return STATUS_INVALID_PARAMETER;
    if (min < 20 * page)
        min = 20 * page; /* Windows raises a small minimum to 20 pages */
    /* The minimum is also how much VirtualLock may lock: raise the memlock limit to match (a
     * refusal leaves it where it was; VirtualLock then reports the quota as Windows would). */
    wm_os_memlock_raise(min);
    atomic_store(&ws_min, min);
    atomic_store(&ws_max, max);
    ULONG f = atomic_load(&ws_flags);
    if (flags & QUOTA_LIMITS_HARDWS_MIN_ENABLE)
        f = (f & ~(ULONG)QUOTA_LIMITS_HARDWS_MIN_DISABLE) | QUOTA_LIMITS_HARDWS_MIN_ENABLE;
    if (flags & QUOTA_LIMITS_HARDWS_MIN_DISABLE)
        f = (f & ~(ULONG)QUOTA_LIMITS_HARDWS_MIN_ENABLE) | QUOTA_LIMITS_HARDWS_MIN_DISABLE;
    if (flags & QUOTA_LIMITS_HARDWS_MAX_ENABLE)
        f = (f & ~(ULONG)QUOTA_LIMITS_HARDWS_MAX_DISABLE) | QUOTA_LIMITS_HARDWS_MAX_ENABLE;
    if (flags & QUOTA_LIMITS_HARDWS_MAX_DISABLE)
        f = (f & ~(ULONG)QUOTA_LIMITS_HARDWS_MAX_ENABLE) | QUOTA_LIMITS_HARDWS_MAX_DISABLE;
    atomic_store(&ws_flags, f);
    return STATUS_SUCCESS;
}
