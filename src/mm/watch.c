/*
 * watch.c - write watches: MEM_WRITE_WATCH regions, NtGetWriteWatch, NtResetWriteWatch, and
 * the policy that keeps a watched region's dirty record true.
 *
 * The record is the model's (vm/region.c: one bit per page of a watched region, `dirty`).
 * How writes reach it depends on the mechanism chosen once per process (wm_watch_init):
 *
 * - fast (Linux 6.7+, userfaultfd permitted): the region is registered with a userfaultfd in
 *   asynchronous write-protect mode (os/uffd.c).  The kernel clears a page's write-protect bit
 *   on its first write (no signal, and the kernel's own writes, read(2) into the buffer, count
 *   too); PAGEMAP_SCAN reads the written pages and write-protects them again in one ioctl.
 *   The bitmap then only holds what the kernel's page tables cannot keep: written pages that
 *   were decommitted since (Windows keeps reporting them).
 * - fallback: a clean committed page that its protection lets be written is mapped without
 *   write access; the first write faults, fault.c calls wm_watch_fault_locked, which sets the
 *   bit and gives the page its access back.  A reset takes write access away again.  The
 *   kernel does not fault into user handlers, so read(2) into a clean watched page fails with
 *   EFAULT there (docs/compat.md).
 *
 * Every function that changes kernel protection of watched memory (commit, VirtualProtect,
 * guard consumption, MEM_RESET_UNDO) calls wm_watch_arm_locked afterwards.
 */
#include "mm.h"
#include "rtl/trace.h"

#include <stdlib.h>
#include <string.h>

int wm_watch_mode = WM_WATCH_UNKNOWN;

/* Chosen once: WINMEM_WRITE_WATCH=fallback forces the fallback; otherwise the fast path when
 * the kernel offers it.  Caller holds the write lock (the fault handler only reads the mode
 * of a region that exists, so it was chosen before). */
static void choose_mode_locked(void)
{
    WM_ASSERT(wm_vmstate_write_held());
    if (wm_watch_mode != WM_WATCH_UNKNOWN)
        return;
    const char *env = getenv("WINMEM_WRITE_WATCH");
    int mode = (env && strcmp(env, "fallback") == 0) || wm_os_uffd_open() != 0 ? WM_WATCH_FALLBACK
                                                                               : WM_WATCH_FAST;
    /* The fault handler reads it without the lock. */
    __atomic_store_n(&wm_watch_mode, mode, __ATOMIC_RELEASE);
}

static size_t page_index(const struct wm_region *r, uintptr_t a)
{
    return (a - r->base) / wm_vm.page;
}

/* The bits change only under the write lock (the fault path, resets, and the fast path's
 * scans of the kernel), so plain stores do; GetWriteWatch without reset on the fallback path
 * reads them under the read lock. */
static void bits_change(struct wm_region *r, size_t i, size_t j, bool set)
{
    while (i < j) {
        size_t w = i / 64, lo = i % 64, n = j - i < 64 - lo ? j - i : 64 - lo;
        uint64_t mask = (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << lo;
        r->ext->dirty[w] = set ? r->ext->dirty[w] | mask : r->ext->dirty[w] & ~mask;
        i += n;
    }
}

static void bit_set(struct wm_region *r, size_t i)
{
    bits_change(r, i, i + 1, true);
}

/* The next page index >= i below n whose bit equals want, or n. */
static size_t bit_find(const struct wm_region *r, size_t i, size_t n, bool want)
{
    while (i < n) {
        uint64_t w = r->ext->dirty[i / 64];
        if (!want)
            w = ~w;
        w >>= i % 64;
        if (w) {
            i += (size_t)__builtin_ctzll(w);
            return i < n ? i : n;
        }
        i = (i / 64 + 1) * 64;
    }
    return n;
}

/* Kernel access of a committed page with protection prot while it is clean (fallback). */
static unsigned armed_access(uint32_t prot)
{
    return wm_prot_access(prot) & ~(unsigned)WM_ACC_W;
}

struct arm_ctx {
    struct wm_region *r;
};

static int arm_run(void *ctx, const struct wm_region *rc, size_t off, size_t len,
                   const struct wm_run *run)
{
    struct wm_region *r = ((struct arm_ctx *)ctx)->r;

    (void)rc;
    if (run->state != WM_STATE_COMMITTED || !(wm_prot_access(run->prot) & WM_ACC_W))
        return 0;
    size_t i = page_index(r, r->base + off), n = page_index(r, r->base + off + len);
    while ((i = bit_find(r, i, n, false)) < n) {
        size_t j = bit_find(r, i, n, true);
        /* Write access that cannot be taken away would let writes go unseen: such pages
         * count as written instead. */
        if (wm_os_protect(r->base + i * wm_vm.page, (j - i) * wm_vm.page, armed_access(run->prot)))
            bits_change(r, i, j, true);
        i = j;
    }
    return 0;
}

WM_HOT void wm_watch_arm_locked(struct wm_region *r, size_t off, size_t len)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct arm_ctx c = { r };

    if (!(r->flags & WM_REGION_WATCHED) || wm_watch_mode != WM_WATCH_FALLBACK)
        return;
    wm_region_walk(r, off, len, arm_run, &c);
}

NTSTATUS wm_watch_start_locked(struct wm_region *r)
{
    WM_ASSERT(wm_vmstate_write_held());
    choose_mode_locked();
    if (wm_region_watch(r, wm_vm.page))
        return STATUS_NO_MEMORY;
    if (wm_watch_mode == WM_WATCH_FAST) {
        int rc = wm_os_uffd_watch(r->base, r->size);
        if (rc)
            return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    }
    wm_watch_arm_locked(r, 0, r->size);
    return STATUS_SUCCESS;
}

enum wm_fault wm_watch_fault_locked(struct wm_region *r, uintptr_t page, uint32_t prot)
{
    WM_ASSERT(wm_vmstate_write_held());
    size_t i = page_index(r, page);
    bool was = (r->ext->dirty[i / 64] >> (i % 64)) & 1;

    if (wm_os_protect(page, wm_vm.page, wm_prot_access(prot)))
        return WM_FAULT_VIOLATION;
    bit_set(r, i);
    return was ? WM_FAULT_RETRY : WM_FAULT_WATCHED;
}

static void harvest_range(void *ctx, uintptr_t s, uintptr_t e)
{
    struct wm_region *r = ctx;

    bits_change(r, page_index(r, s), page_index(r, e), true);
}

/* Fast path: move the kernel's record of [off, off+len) into the bitmap, write-protecting the
 * pages again when rearm is set.  A failed scan counts every page as written (over-reporting
 * is safe for a collector, losing a write is not) and registers the region again: in a child
 * after fork() the inherited registration is gone (userfaultfd is per address space), so the
 * child's first scan reports every page and later ones are exact. */
static void harvest(struct wm_region *r, size_t off, size_t len, bool rearm)
{
    if (wm_os_uffd_scan(r->base + off, r->base + off + len, rearm, 0, harvest_range, r, NULL)) {
        harvest_range(r, r->base, r->base + r->size);
        /* Registered again and every page write-protected: the bitmap says written. */
        if (wm_os_uffd_watch(r->base, r->size) == 0)
            (void)wm_os_uffd_scan(r->base, r->base + r->size, true, 0, harvest_range, r, NULL);
    }
}

void wm_watch_harvest_locked(struct wm_region *r, size_t off, size_t len)
{
    WM_ASSERT(wm_vmstate_write_held());
    if ((r->flags & WM_REGION_WATCHED) && wm_watch_mode == WM_WATCH_FAST)
        harvest(r, off, len, false);
}

void wm_watch_rewatch_locked(struct wm_region *r, size_t off, size_t len)
{
    WM_ASSERT(wm_vmstate_write_held());
    if (!(r->flags & WM_REGION_WATCHED) || wm_watch_mode != WM_WATCH_FAST)
        return;
    /* A fresh mapping dropped the registration: written pages are in the bitmap already. */
    if (wm_os_uffd_watch(r->base + off, len))
        harvest_range(r, r->base + off, r->base + off + len);
}

struct direct_ctx {
    uintptr_t *out; /* NULL: count only */
    size_t n, max;
};

static void direct_range(void *ctx, uintptr_t s, uintptr_t e)
{
    struct direct_ctx *c = ctx;

    for (uintptr_t p = s; p < e && c->n < c->max; p += wm_vm.page) {
        if (c->out)
            c->out[c->n] = p;
        c->n++;
    }
}

/* Fast path with nothing in the bitmap: the kernel's answer goes straight to out, and with
 * max_pages the kernel re-arms exactly the pages returned.  false: the scan failed (the
 * caller falls back to the bitmap, which harvest() fills with every page). */
static bool direct_locked(uintptr_t *pos, uintptr_t end, bool reset, uintptr_t *out, size_t max,
                          size_t *n)
{
    struct direct_ctx c = { out, 0, max };
    uintptr_t stop;

    if (wm_os_uffd_scan(*pos, end, reset, max == SIZE_MAX ? 0 : max, direct_range, &c, &stop))
        return false;
    *pos = stop;
    *n = c.n;
    return true;
}

/* One batch of a GetWriteWatch / ResetWriteWatch: up to max written pages from [*pos, end)
 * into out (NULL: just reset), reset too when asked.  *pos moves past what was looked at. */
static size_t batch_locked(struct wm_region *r, uintptr_t *pos, uintptr_t end, bool reset,
                           uintptr_t *out, size_t max)
{
    size_t n = 0;
    uintptr_t a = *pos;

    size_t i = page_index(r, a), last = page_index(r, end);
    while (n < max && (i = bit_find(r, i, last, true)) < last) {
        size_t j = bit_find(r, i, last, false);
        if (j - i > max - n)
            j = i + (max - n);
        for (size_t k = i; k < j; k++) {
            if (out)
                out[n] = r->base + k * wm_vm.page;
            n++;
        }
        if (reset && wm_watch_mode == WM_WATCH_FALLBACK) {
            /* Write access goes first, then the bits: a write racing the reset either lands
             * before it (and is reported now) or faults and is recorded after it.  Pages
             * whose write access the kernel would not take away are reported but stay
             * written, so no later write to them goes unseen. */
            size_t k = i;
            while (k < j) {
                size_t off = k * wm_vm.page;
                uint32_t ri = wm_region_run_index(r, off);
                const struct wm_run *run = &r->runs[ri];
                size_t run_end = wm_region_run_end(r, ri) / wm_vm.page;
                size_t stop = run_end < j ? run_end : j;
                if (!(run->state == WM_STATE_COMMITTED && (wm_prot_access(run->prot) & WM_ACC_W) &&
                      wm_os_protect(r->base + off, (stop - k) * wm_vm.page,
                                    armed_access(run->prot))))
                    bits_change(r, k, stop, false);
                k = stop;
            }
        } else if (reset) {
            bits_change(r, i, j, false);
        }
        i = j;
    }
    *pos = n < max ? end : r->base + i * wm_vm.page;
    return n;
}

/* The watched region holding [start, end), or NULL. */
static struct wm_region *watched_locked(uintptr_t start, uintptr_t end)
{
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);

    if (!r || !(r->flags & WM_REGION_WATCHED) || end - r->base > r->size)
        return NULL;
    return r;
}

#define BATCH 256

static NTSTATUS scan(uintptr_t addr, size_t size, bool reset, PVOID *addresses, size_t max,
                     size_t *got)
{
    uintptr_t start, end, pos;
    uintptr_t buf[BATCH];
    size_t total = 0;

    if (!wm_vmstate_page_range(addr, size, &start, &end))
        return STATUS_INVALID_PARAMETER;
    pos = start;
    /* Only the fallback's GetWriteWatch without reset leaves the record alone; everything else
     * changes the bitmap (the fast path moves the kernel's record into it) and locks it out.
     * The mode cannot change from fallback once chosen. */
    bool excl = reset || WM_LOAD(wm_watch_mode) != WM_WATCH_FALLBACK;
    bool direct = false;
    for (bool first = true;; first = false) {
        size_t want = addresses ? (max - total < BATCH ? max - total : BATCH) : SIZE_MAX;
        size_t n;
        if (excl)
            wm_vmstate_wrlock_range(start, end);
        else
            wm_vmstate_rdlock_range(start, end);
        struct wm_region *r = watched_locked(start, end);
        /* Released meanwhile: what was returned stands. */
        if (!r) {
            if (excl)
                wm_vmstate_wrunlock();
            else
                wm_vmstate_rdunlock();
            if (first)
                return STATUS_INVALID_PARAMETER;
            break;
        }
        /* The fast path's record is the kernel's, plus the bitmap's pages that were written
         * and then decommitted or reset.  With the bitmap empty the kernel answers directly;
         * otherwise its record is moved into the bitmap once per call (one ioctl, re-arming
         * when resetting; pages written after that are the next call's) and merged there. */
        if (first && wm_watch_mode == WM_WATCH_FAST) {
            size_t i0 = page_index(r, start), i1 = page_index(r, end);
            direct = bit_find(r, i0, i1, true) == i1;
            if (!direct)
                harvest(r, start - r->base, end - start, reset);
        }
        if (!direct || !direct_locked(&pos, end, reset, addresses ? buf : NULL, want, &n)) {
            if (direct) {
                direct = false;
                harvest(r, pos - r->base, end - pos, reset);
            }
            n = batch_locked(r, &pos, end, reset, addresses ? buf : NULL, want);
        }
        if (excl)
            wm_vmstate_wrunlock();
        else
            wm_vmstate_rdunlock();
        if (addresses && n && wm_os_copy(addresses + total, buf, n * sizeof(*buf)))
            return STATUS_ACCESS_VIOLATION;
        total += n;
        if (pos >= end || (addresses && total >= max) || (!addresses && n < want))
            break;
    }
    *got = total;
    return STATUS_SUCCESS;
}

/* NtGetWriteWatch: the pages of a MEM_WRITE_WATCH region written since their last reset,
 * in ascending order, resetting the ones returned when asked. */
WINMEM_API NTSTATUS NTAPI NtGetWriteWatch(HANDLE process, ULONG flags, PVOID base, SIZE_T size,
                                          PVOID *addresses, PULONG_PTR count_ptr,
                                          PULONG granularity)
{
    WM_TRACE(NtGetWriteWatch, process, flags, base, size, addresses, count_ptr, granularity);
    NTSTATUS st = wm_vmstate_check_process(process);
    ULONG_PTR max;
    size_t got = 0;

    if (st)
        return st;
    if (flags & ~(ULONG)WRITE_WATCH_FLAG_RESET)
        return STATUS_INVALID_PARAMETER;
    if (size == 0)
        return STATUS_INVALID_PARAMETER;
    if (!count_ptr || wm_os_copy(&max, count_ptr, sizeof(max)))
        return STATUS_ACCESS_VIOLATION;
    if (max == 0)
        return STATUS_INVALID_PARAMETER;
    if (!addresses || !granularity || wm_os_probe(granularity, sizeof(*granularity)) ||
        wm_os_probe(count_ptr, sizeof(*count_ptr)))
        return STATUS_ACCESS_VIOLATION;
    wm_vmstate_init();
    st = scan((uintptr_t)base, size, flags & WRITE_WATCH_FLAG_RESET, addresses, max, &got);
    if (st)
        return st;
    ULONG_PTR n = got;
    ULONG g = (ULONG)wm_vm.page;
    (void)wm_os_copy(count_ptr, &n, sizeof(n));
    (void)wm_os_copy(granularity, &g, sizeof(g));
    return STATUS_SUCCESS;
}

/* NtResetWriteWatch: forget the writes to pages of a MEM_WRITE_WATCH region. */
WINMEM_API NTSTATUS NTAPI NtResetWriteWatch(HANDLE process, PVOID base, SIZE_T size)
{
    WM_TRACE(NtResetWriteWatch, process, base, size);
    NTSTATUS st = wm_vmstate_check_process(process);
    size_t got;

    if (st)
        return st;
    if (size == 0)
        return STATUS_INVALID_PARAMETER;
    wm_vmstate_init();
    return scan((uintptr_t)base, size, true, NULL, 0, &got);
}
