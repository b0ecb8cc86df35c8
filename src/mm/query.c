/*
 * query.c - NtQueryVirtualMemory (MemoryBasicInformation): describe the run of pages that
 * share one allocation, state and protection, starting at an address.
 *
 * Reservations winmem made are answered from the model in O(log n).  Everything else is
 * the kernel's truth, read from /proc/self/maps, rather than Wine's blanket MEM_FREE: a
 * stack or malloc arena is committed MEM_PRIVATE memory, a shared object is MEM_IMAGE, a
 * mapped data file MEM_MAPPED, a PROT_NONE reservation MEM_RESERVE.  Only the gap between
 * winmem's own neighbouring reservations is read, so the two sources never overlap.
 */
#include "mm.h"
#include "rtl/trace.h"

#include <string.h>

static void from_region(const struct wm_region *r, uintptr_t page, MEMORY_BASIC_INFORMATION *m)
{
    size_t off = page - r->base;
    const struct wm_run *run = &r->runs[wm_region_run_index(r, off)];

    m->BaseAddress = (PVOID)page;
    m->AllocationBase = (PVOID)r->base;
    m->AllocationProtect = r->alloc_prot;
    m->RegionSize = wm_region_extent(r, off);
    m->State = run->state == WM_STATE_COMMITTED ? MEM_COMMIT : MEM_RESERVE;
    m->Protect = run->prot;
    m->Type = wm_region_type(r);
}

/* Entries of one allocation: contiguous, and the same file or the same kind of anonymous
 * memory (a thread stack's guard page and the stack above it are one allocation). */
struct group {
    uintptr_t start, end;
    unsigned kind; /* WM_MAPS_* flags */
    uint64_t dev, inode;
    unsigned first_acc;
    bool exec;
};

static bool same_group(const struct group *g, const struct wm_maps_entry *e, uintptr_t s)
{
    return s == g->end && e->flags == g->kind && e->dev == g->dev && e->inode == g->inode;
}

static uint32_t group_type(const struct group *g)
{
    if (g->kind & WM_MAPS_VDSO)
        return MEM_IMAGE;
    if (g->kind & WM_MAPS_FILE)
        return g->exec ? MEM_IMAGE : MEM_MAPPED; /* code in it: an executable or .so */
    if (g->kind & (WM_MAPS_SHARED | WM_MAPS_SPECIAL))
        return MEM_MAPPED;
    return MEM_PRIVATE;
}

static NTSTATUS query_foreign_locked(uintptr_t page, MEMORY_BASIC_INFORMATION *m)
{
    const struct wm_region *prev = wm_space_prev(&wm_vm.space, page);
    const struct wm_region *next = wm_space_next(&wm_vm.space, page);
    uintptr_t lo = prev ? prev->base + prev->size : 0;
    uintptr_t hi = next ? next->base : WM_MAX_ADDRESS + 1;
    /* A range being created is the new allocation's, not foreign memory: stop before it. */
    wm_vmstate_busy_clip_locked(page, &lo, &hi);
    struct wm_maps maps;
    struct wm_maps_entry e;
    struct group g = { 0 };
    bool have_group = false, found = false, closed = false;
    uintptr_t region_end = hi, region_alloc = 0;
    unsigned region_acc = 0, region_first_acc = 0;
    int rc = wm_maps_open(&maps);

    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    while ((rc = wm_maps_next(&maps, &e)) == 1) {
        uintptr_t s = e.start > lo ? e.start : lo;
        uintptr_t t = e.end < hi ? e.end : hi;
        if (s >= t)
            continue;
        if (!have_group || !same_group(&g, &e, s)) {
            if (found)
                break; /* the allocation holding page is complete */
            if (s > page) {
                region_end = s; /* page sits in a hole before this mapping */
                break;
            }
            g = (struct group){
                .start = s, .kind = e.flags, .dev = e.dev, .inode = e.inode, .first_acc = e.acc
            };
            have_group = true;
        }
        g.end = t;
        g.exec |= (e.acc & WM_ACC_X) != 0;
        if (!found && page >= s && page < t) {
            found = true;
            region_acc = e.acc;
            region_end = t;
            region_alloc = g.start;
            region_first_acc = g.first_acc;
        } else if (found && !closed) {
            if (e.acc == region_acc)
                region_end = t;
            else
                closed = true;
        }
    }
    wm_maps_close(&maps);
    if (rc < 0)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);

    m->BaseAddress = (PVOID)page;
    m->PartitionId = 0;
    if (!found) {
        m->AllocationBase = NULL;
        m->AllocationProtect = 0;
        m->RegionSize = region_end - page;
        m->State = MEM_FREE;
        m->Protect = PAGE_NOACCESS;
        m->Type = 0;
        return STATUS_SUCCESS;
    }
    m->Type = group_type(&g);
    m->AllocationBase = (PVOID)region_alloc;
    /* Windows maps images with PAGE_EXECUTE_WRITECOPY as the allocation protection. */
    m->AllocationProtect =
        m->Type == MEM_IMAGE ? PAGE_EXECUTE_WRITECOPY : wm_prot_from_access(region_first_acc);
    m->RegionSize = region_end - page;
    /* A PROT_NONE mapping is address space held back, which Windows calls reserved. */
    m->State = region_acc ? MEM_COMMIT : MEM_RESERVE;
    m->Protect = region_acc ? wm_prot_from_access(region_acc) : 0;
    return STATUS_SUCCESS;
}

/* The query of a page inside a winmem reservation, without the lock.  1: answered (valid
 * only if the sequence check after it passes); 0: not in a reservation; -1: a writer ran. */
static int query_lockfree(uintptr_t page, uint32_t seq, MEMORY_BASIC_INFORMATION *m)
{
    /* Most queries name an address in a region's first 64 KiB: one hash probe finds it.
     * Otherwise the sorted index, whose lookup reads a one-run region's whole answer. */
    const struct wm_region *r = wm_space_find_base_lockfree(
        &wm_vm.space, page & ~(WM_GRANULARITY - 1), wm_vmstate_seq_valid, &seq);
    struct wm_run_read rd;
    /* The region at the granule's start may end before page: a piece of a split placeholder
     * or of a partly released allocation, with its neighbours starting on later pages. */
    if (r && page - WM_LOAD(r->base) >= WM_LOAD(r->size))
        r = NULL;
    if (!r) {
        struct wm_summary sum;
        r = wm_space_find_lockfree(&wm_vm.space, page, wm_vmstate_seq_valid, &seq, &sum);
        if (!r)
            return wm_vmstate_read_valid(seq) ? 0 : -1;
        if (sum.state != WM_SUMMARY_MANY) {
            memset(m, 0, sizeof(*m)); /* the padding too: callers may compare whole records */
            m->BaseAddress = (PVOID)page;
            m->AllocationBase = (PVOID)sum.base;
            m->AllocationProtect = sum.alloc_prot;
            m->Type = sum.type;
            m->RegionSize = sum.base + sum.size - page;
            m->State = sum.state == WM_STATE_COMMITTED ? MEM_COMMIT : MEM_RESERVE;
            m->Protect = sum.prot;
            return 1;
        }
    }
    if (!wm_region_read_lockfree(r, page, &rd, wm_vmstate_seq_valid, &seq))
        /* Inconsistent while a writer ran, or past the end of a small region. */
        return wm_vmstate_read_valid(seq) ? 0 : -1;
    memset(m, 0, sizeof(*m));
    m->BaseAddress = (PVOID)page;
    m->AllocationBase = (PVOID)rd.base;
    m->AllocationProtect = rd.alloc_prot;
    m->Type = rd.type;
    m->RegionSize = rd.end - (page - rd.base);
    m->State = rd.state == WM_STATE_COMMITTED ? MEM_COMMIT : MEM_RESERVE;
    m->Protect = rd.prot;
    return 1;
}

NTSTATUS wm_query_locked(uintptr_t addr, MEMORY_BASIC_INFORMATION *m)
{
    WM_ASSERT(wm_vmstate_held_sigsafe());
    uintptr_t page = addr & ~(uintptr_t)(wm_vm.page - 1);
    const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, page);

    memset(m, 0, sizeof(*m));
    if (r) {
        from_region(r, page, m);
        return STATUS_SUCCESS;
    }
    return query_foreign_locked(page, m);
}

/* NtQueryVirtualMemory: MemoryBasicInformation for the current process. */
WINMEM_API NTSTATUS NTAPI NtQueryVirtualMemory(HANDLE process, PVOID base,
                                               MEMORY_INFORMATION_CLASS info_class, PVOID info,
                                               SIZE_T len, PSIZE_T ret_len)
{
    WM_TRACE(NtQueryVirtualMemory, process, base, info_class, info, len, ret_len);
    NTSTATUS st = wm_vmstate_check_process(process);
    MEMORY_BASIC_INFORMATION mbi;

    if (st)
        return st;
    if (info_class == MemoryWorkingSetExInformation)
        return wm_query_working_set_ex(info, len, ret_len); /* base is not used */
    if (info_class == MemoryRegionInformation)
        return wm_query_region_info((uintptr_t)base, info, len, ret_len);
    if (info_class != MemoryBasicInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (len < sizeof(mbi))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (!info)
        return STATUS_ACCESS_VIOLATION;
    if ((uintptr_t)base > WM_MAX_ADDRESS)
        return STATUS_INVALID_PARAMETER;
    wm_vmstate_init();

    /* Lock-free first: a query of winmem's own memory then costs a lookup and no atomic
     * read-modify-write, and never waits for a writer.  A few tries, then the lock. */
    uintptr_t page = (uintptr_t)base & ~(uintptr_t)(wm_vm.page - 1);
    for (int tries = 0; !WM_TSAN && tries < 4; tries++) {
        uint32_t seq = wm_vmstate_read_begin();
        if (seq & 1)
            continue;
        int rc = query_lockfree(page, seq, &mbi);
        if (rc >= 0 && wm_vmstate_read_valid(seq)) {
            if (rc == 0)
                break; /* not winmem's: the kernel's map is read under the lock */
            goto out;
        }
    }
    /* A range another thread is creating is neither free nor the new allocation yet: wait
     * for it (one being released reads as it was, from the index, lock-free or not). */
    wm_vmstate_rdlock_created(page, page + 1);
    st = wm_query_locked((uintptr_t)base, &mbi);
    wm_vmstate_rdunlock();
out:
    /* The caller's buffer is written only after the lock is dropped, and through the copy
     * that turns a bad pointer into STATUS_ACCESS_VIOLATION (os/uaccess.c). */
    if (st == STATUS_SUCCESS) {
        SIZE_T n = sizeof(mbi);
        if (wm_os_copy(info, &mbi, sizeof(mbi)) || (ret_len && wm_os_copy(ret_len, &n, sizeof(n))))
            st = STATUS_ACCESS_VIOLATION;
    }
    return st;
}
