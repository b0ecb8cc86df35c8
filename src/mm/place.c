/*
 * place.c - where a reservation or view goes when the caller names no address, and the
 * ZeroBits limit on it.  NtAllocateVirtualMemory (alloc.c) and NtMapViewOfSection (view.c)
 * both place through wm_place_locked; each says how to map at a chosen address.
 *
 * Windows places bottom-up: each new allocation in the lowest free 64 KiB aligned range, so a
 * program's successive allocations climb and a freed gap is reused first (allocators such as
 * dlmalloc's Windows path join a new region to the one below it and depend on this).
 * MEM_TOP_DOWN takes the highest free range instead.
 *
 * Threads: a reservation does not start right above another thread's (each region records
 * which thread reserved it, WM_REGION_PLACER) or above a range another thread is mapping; the
 * search steps one granule up, a few times at most.  The kernel would otherwise merge the two
 * mappings into one VMA and split it again at the next munmap, so two threads churning
 * VirtualAlloc/VirtualFree side by side each paid for the other's neighbour on every call
 * (and more when its pages were resident).  One thread's reservations still climb side by
 * side, and a single-threaded program's placement is exactly bottom-up.
 *
 * The bottom-up search starts at PLACE_FLOOR (4 GiB), not at the bottom of user space:
 * 64-bit Windows with high-entropy ASLR puts bottom-up allocations above 4 GiB too, and the
 * low 4 GiB stay free for the callers that need 32-bit addresses (ZeroBits, MAP_32BIT users).
 * Below 4 GiB Linux also keeps a non-PIE executable and its brk heap.
 *
 * Fast path: wm_vm.place_low is the lowest address at or above the floor where a free range
 * may start (everything in [floor, place_low) was found taken); it rises as allocations fill
 * the space and falls when one is freed.  place_fit_at does the same for requests of at least
 * place_fit_len bytes, which the holes below it are too small for.  From there the model's
 * ordered index skips winmem's own regions, and one MAP_FIXED_NOREPLACE mmap claims the
 * range.  Memory winmem does not own (a sanitizer's shadow, the executable, libraries) only
 * shows up as a refused mmap: then, and only then, /proc/self/maps says where the next free
 * range is.  An address refused though nothing is mapped there (ThreadSanitizer's mmap accepts
 * fixed addresses only in its application ranges) becomes wm_vm.place_wall: from there up the
 * kernel chooses.  No state is kept per page or per hole.
 *
 * A plain reservation or view maps outside the VM lock (mm.h, busy ranges) through
 * wm_place_outside_locked: the model's choice alone (pick_locked), that range claimed, mapped
 * with the lock dropped.  Every search steps over claimed ranges as over regions.  Only when
 * the model cannot say (the first placement, the wall, a ZeroBits limit below the floor) or
 * the kernel refused the choice does the caller come back to wm_place_locked, with every claim
 * settled first, since the kernel's map shows a range being released as free before its
 * region is gone.
 */
#include "mm.h"

#include <errno.h>

#define PLACE_FLOOR ((uintptr_t)1 << 32)
/* Refusals in a row (other threads mapping what the kernel's map showed free) before
 * leaving the choice to the kernel. */
#define PLACE_RETRIES 8

static uintptr_t align_up(uintptr_t a)
{
    return (a + WM_GRANULARITY - 1) & ~(WM_GRANULARITY - 1);
}

/* True when [a, a+len) ends at or below limit. */
static bool fits(uintptr_t a, size_t len, uintptr_t limit)
{
    return a <= limit && limit - a >= len - 1;
}

uintptr_t wm_place_zero_bits_limit(ULONG_PTR zero_bits, bool *bad)
{
    *bad = false;
    if (zero_bits == 0)
        return 0;
    if (zero_bits < 32) {
        if (zero_bits > 21) {
            *bad = true;
            return 0;
        }
        return ((uintptr_t)1 << (32 - zero_bits)) - 1;
    }
    int lz = __builtin_clzll((unsigned long long)zero_bits);
    return lz == 0 ? 0 : ((uintptr_t)1 << (64 - lz)) - 1;
}

void wm_place_freed_locked(uintptr_t base)
{
    WM_ASSERT(wm_vmstate_write_held());
    /* Part of an allocation released may start on any page; nothing is placed below the next
     * granule boundary, so the hints never name an unaligned address. */
    base = align_up(base);
    /* Below the floor nothing is hinted (ZeroBits searches start from the bottom). */
    if (base < PLACE_FLOOR)
        return;
    if (base < wm_vm.place_low)
        wm_vm.place_low = base;
    if (base < wm_vm.place_fit_at) {
        /* The range joins whatever is clear below it, back to the region before it. */
        const struct wm_region *r = wm_space_prev(&wm_vm.space, base - 1);
        uintptr_t start = r ? align_up(r->base + r->size) : PLACE_FLOOR;
        if (start < wm_vm.place_fit_at)
            wm_vm.place_fit_at = start;
    }
}

/* Highest 64 KiB aligned free gap of len bytes ending at or below limit, from the kernel's
 * list of mappings (which includes winmem's own). */
static NTSTATUS top_down_gap(size_t len, uintptr_t limit, uintptr_t *out)
{
    struct wm_maps m;
    struct wm_maps_entry e;
    uintptr_t gap_start = WM_MIN_ADDRESS, best = 0;
    int rc = wm_maps_open(&m);

    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    for (;;) {
        rc = wm_maps_next(&m, &e);
        uintptr_t gap_end = rc == 1 ? e.start : limit + 1;
        if (rc < 0)
            break;
        if (gap_end > limit + 1)
            gap_end = limit + 1;
        if (gap_end > gap_start && gap_end - gap_start >= len) {
            uintptr_t cand = (gap_end - len) & ~(WM_GRANULARITY - 1);
            if (cand >= gap_start)
                best = cand;
        }
        if (rc != 1 || e.end > limit)
            break;
        if (e.end > gap_start)
            gap_start = align_up(e.end);
    }
    wm_maps_close(&m);
    if (rc < 0)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    if (!best)
        return STATUS_NO_MEMORY;
    *out = best;
    return STATUS_SUCCESS;
}

/* Times one search steps over a clear range only because it touches another thread's
 * reservation (skip_regions), before it takes the lowest clear range whatever touches it. */
#define PLACE_SHY_STEPS 4

/* Whether a new private mapping at [a, a+len) would touch, from above, a region another thread
 * reserved (r: the region below a) or a range another thread is creating: the kernel would
 * merge the two mappings into one and split them again on each thread's next munmap, paying
 * for the other thread's neighbour on every call (worse when its pages are resident: the
 * merge copies its anon_vma chain). */
static bool touches_other(const struct wm_region *r, uintptr_t a, unsigned tag)
{
    if (r && r->base + r->size == a && wm_region_placer(r) && wm_region_placer(r) != tag)
        return true;
    const struct wm_busy *b = wm_vmstate_busy_find_locked(a - 1, a);
    return b && b->creating;
}

/* The first 64 KiB aligned address at or above a where len bytes are clear of every region
 * winmem holds and every range another thread is creating (busy, not yet in the index).  *gap
 * falls to the start of any clear stretch passed over as too small, *shy to that of one passed
 * over because it touches another thread's reservation from above (touches_other; up to
 * PLACE_SHY_STEPS of them): each thread's reservations then climb side by side, as on
 * Windows, and two threads' stay one granule apart. */
static uintptr_t skip_regions(uintptr_t a, size_t len, uintptr_t *gap, uintptr_t *shy)
{
    a = align_up(a);
    unsigned tag = wm_vmstate_thread_tag();
    int shy_steps = 0;

    for (;;) {
        /* The region holding a (wm_space_next only finds those starting above it). */
        const struct wm_region *r = wm_space_prev(&wm_vm.space, a);
        if (r && a - r->base < r->size) {
            a = align_up(r->base + r->size);
            continue;
        }
        const struct wm_region *n = wm_space_next(&wm_vm.space, a);
        if (n && n->base - a < len) {
            if (a < *gap)
                *gap = a;
            a = align_up(n->base + n->size);
            continue;
        }
        const struct wm_busy *b = wm_vmstate_busy_find_locked(a, a + len);
        if (b) {
            if (b->start > a && a < *gap)
                *gap = a;
            a = align_up(b->end);
            continue;
        }
        if (shy_steps < PLACE_SHY_STEPS && touches_other(r, a, tag)) {
            shy_steps++;
            if (a < *shy)
                *shy = a;
            a += WM_GRANULARITY;
            continue;
        }
        return a;
    }
}

/* The same as skip_regions from the kernel's map, for when the kernel refused a: 0 when
 * nothing fits below limit. */
static NTSTATUS skip_mappings(uintptr_t a, size_t len, uintptr_t limit, uintptr_t *gap,
                              uintptr_t *out)
{
    struct wm_maps m;
    struct wm_maps_entry e;
    int rc = wm_maps_open(&m);

    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    *out = 0;
    while ((rc = wm_maps_next(&m, &e)) == 1 && fits(a, len, limit)) {
        if (e.end <= a)
            continue;
        if (e.start > a && e.start - a >= len)
            break;
        if (e.start > a && a < *gap)
            *gap = a;
        a = align_up(e.end);
    }
    wm_maps_close(&m);
    if (rc < 0)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    if (fits(a, len, limit))
        *out = a;
    return STATUS_SUCCESS;
}

static bool address_refused(int rc)
{
    /* EEXIST: something is mapped there.  EINVAL / EPERM: the address itself is refused, by
     * an interposed mmap (ThreadSanitizer allows fixed mappings only in its application
     * ranges) or by vm.mmap_min_addr. */
    return rc == -EEXIST || rc == -EINVAL || rc == -EPERM;
}

/* Let the kernel choose: hold an aligned range by over-mapping by the granularity and
 * trimming both ends, then claim it. */
static NTSTATUS kernel_choice(size_t len, uintptr_t limit, wm_place_claim claim, void *ctx,
                              uintptr_t *out)
{
    size_t span = len + WM_GRANULARITY - wm_vm.page;
    uintptr_t p = 0;
    int rc = wm_os_map(&p, span, 0, false);

    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    uintptr_t aligned = align_up(p);
    if (aligned > p)
        wm_os_unmap(p, aligned - p);
    if (p + span > aligned + len)
        wm_os_unmap(aligned + len, p + span - (aligned + len));
    if (!fits(aligned, len, limit)) {
        wm_os_unmap(aligned, len);
        return STATUS_NO_MEMORY;
    }
    rc = claim(ctx, aligned, len, true);
    if (rc) {
        wm_os_unmap(aligned, len);
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    }
    *out = aligned;
    return STATUS_SUCCESS;
}

/* First fit from a upwards.  *gap: the start of the lowest clear stretch passed over as too
 * small (UINTPTR_MAX: none; 0: the kernel chose the address); *shy: the lowest passed over
 * because it touches another thread's reservation (UINTPTR_MAX: none). */
static NTSTATUS bottom_up(uintptr_t a, size_t len, uintptr_t limit, bool hinted, uintptr_t refused,
                          wm_place_claim claim, void *ctx, uintptr_t *out, uintptr_t *gap,
                          uintptr_t *shy)
{
    int tries = 0;

    *gap = UINTPTR_MAX;
    *shy = UINTPTR_MAX;
    for (;;) {
        a = skip_regions(a, len, gap, shy);
        if (!fits(a, len, limit))
            return STATUS_NO_MEMORY;
        if (hinted && wm_vm.place_wall && a >= wm_vm.place_wall) {
            *gap = 0;
            return kernel_choice(len, limit, claim, ctx, out);
        }
        /* An address the caller's own mmap was refused at is not asked again. */
        int rc = a == refused ? -EEXIST : claim(ctx, a, len, false);
        refused = 0;
        if (rc == 0)
            break;
        if (!address_refused(rc))
            return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
        /* Something winmem does not own is there: the kernel's map says what. */
        uintptr_t next;
        NTSTATUS st = skip_mappings(a, len, limit, gap, &next);
        if (st)
            return st;
        if (!next) {
            /* No room left in the kernel's map above a: the range below it is taken, but
             * the kernel may still find one (under ThreadSanitizer, in ranges it maps
             * itself). */
            *gap = 0;
            return kernel_choice(len, limit, claim, ctx, out);
        }
        if (next == a || ++tries == PLACE_RETRIES) {
            /* Refused where nothing is mapped: not a place the kernel lets us pick.  Later
             * searches that reach it go straight to the kernel's choice. */
            if (hinted && next == a && (!wm_vm.place_wall || a < wm_vm.place_wall))
                wm_vm.place_wall = a;
            *gap = 0;
            return kernel_choice(len, limit, claim, ctx, out);
        }
        a = next;
    }
    *out = a;
    return STATUS_SUCCESS;
}

static void note_placed(size_t len, bool sized, uintptr_t a, uintptr_t gap, uintptr_t shy);

/* Bottom-up from the hints: place_low, or for a request at least place_fit_len long,
 * place_fit_at (every clear stretch below it is shorter), so a large request does not walk
 * past every small hole each time. */
static NTSTATUS bottom_up_hinted(size_t len, uintptr_t limit, uintptr_t refused,
                                 wm_place_claim claim, void *ctx, uintptr_t *out)
{
    uintptr_t low = wm_vm.place_low, gap, shy;
    bool sized = wm_vm.place_fit_len && len >= wm_vm.place_fit_len && wm_vm.place_fit_at > low;
    NTSTATUS st = bottom_up(sized ? wm_vm.place_fit_at : low, len, limit, true, refused, claim, ctx,
                            out, &gap, &shy);

    if (st || gap == 0)
        return st;
    note_placed(len, sized, *out, gap, shy);
    return st;
}

/* Move the hints past a placement at a (gap, shy: as bottom_up found them; sized: the search
 * began at place_fit_at).  A range passed over as shy is free for other threads, so
 * place_low stays at or below it, but it says nothing about size. */
static void note_placed(size_t len, bool sized, uintptr_t a, uintptr_t gap, uintptr_t shy)
{
    uintptr_t low = gap < shy ? gap : shy;

    if (!sized)
        wm_vm.place_low = low < a ? low : align_up(a + len);
    if (gap < a && (!wm_vm.place_fit_len || len <= wm_vm.place_fit_len)) {
        /* Holes were passed over: none below a holds len bytes.  The smallest such size
         * is kept, as it serves every larger request too. */
        wm_vm.place_fit_len = len;
        wm_vm.place_fit_at = a;
    } else if (sized && low == UINTPTR_MAX) {
        /* All taken from place_fit_at to the end of this one: the next large request starts
         * above it, not back over every one placed before. */
        wm_vm.place_fit_at = align_up(a + len);
    }
}

/* The bottom-up choice from the model alone: true with *out when the lowest free range of len
 * bytes (below limit) is one the model can name; false when only the kernel can say (the first
 * placement, a ZeroBits limit below the floor, the range the kernel refuses fixed addresses
 * in).  The hints move as if *out were taken. */
static bool pick_locked(size_t len, uintptr_t limit, uintptr_t *out)
{
    WM_ASSERT(wm_vmstate_write_held());
    uintptr_t gap = UINTPTR_MAX, shy = UINTPTR_MAX;

    if (!limit || limit > WM_MAX_ADDRESS)
        limit = WM_MAX_ADDRESS;
    /* The first placement holds the floor's anchor page, a system call: wm_place_locked. */
    if (!wm_vm.place_low || !fits(PLACE_FLOOR, len, limit))
        return false;
    bool sized =
        wm_vm.place_fit_len && len >= wm_vm.place_fit_len && wm_vm.place_fit_at > wm_vm.place_low;
    uintptr_t a = skip_regions(sized ? wm_vm.place_fit_at : wm_vm.place_low, len, &gap, &shy);
    if (!fits(a, len, limit) || (wm_vm.place_wall && a >= wm_vm.place_wall))
        return false;
    note_placed(len, sized, a, gap, shy);
    *out = a;
    return true;
}

NTSTATUS wm_place_locked(size_t len, uintptr_t limit, bool top_down, uintptr_t refused,
                         wm_place_claim claim, void *ctx, uintptr_t *out)
{
    WM_ASSERT(wm_vmstate_write_held());
    NTSTATUS st = STATUS_NO_MEMORY;

    if (!limit || limit > WM_MAX_ADDRESS)
        limit = WM_MAX_ADDRESS;
    if (top_down) {
        /* Rare: the cost of reading the kernel's whole map is fine. */
        uintptr_t p;
        st = top_down_gap(len, limit, &p);
        if (st)
            return st;
        int rc = claim(ctx, p, len, false);
        if (rc)
            return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
        *out = p;
        return STATUS_SUCCESS;
    }
    if (fits(PLACE_FLOOR, len, limit)) {
        if (!wm_vm.place_low) {
            /* One inaccessible page at the floor, kept for the life of the process, so the
             * first reservations are never the only mapping in their stretch of address
             * space: Linux then allocates and frees page tables on every map / unmap, measured
             * at some 15% of a 64 KiB VirtualAlloc+VirtualFree and of a view's map, first
             * write and unmap.  Where something is already mapped there, that serves too. */
            uintptr_t anchor = PLACE_FLOOR;
            bool held = wm_os_map(&anchor, wm_vm.page, 0, true) == 0;
            wm_vm.place_low = PLACE_FLOOR + (held ? WM_GRANULARITY : 0);
        }
        st = bottom_up_hinted(len, limit, refused, claim, ctx, out);
    }
    /* A ZeroBits limit with no room above the floor: from the bottom of user space. */
    if (st == STATUS_NO_MEMORY && limit < WM_MAX_ADDRESS) {
        uintptr_t gap, shy;
        st = bottom_up(WM_MIN_ADDRESS, len, limit, false, 0, claim, ctx, out, &gap, &shy);
    }
    return st;
}

NTSTATUS wm_place_outside_locked(struct wm_region *r, uintptr_t want, uintptr_t limit,
                                 wm_place_claim claim, void *ctx, bool *declined,
                                 uintptr_t *refused_at)
{
    WM_ASSERT(wm_vmstate_write_held());
    uintptr_t base = want;
    struct wm_busy busy;

    *declined = false;
    if (!want && !pick_locked(r->size, limit, &base)) {
        *declined = true;
        return STATUS_SUCCESS;
    }
    wm_vmstate_busy_add_locked(&busy, base, base + r->size, true);
    wm_vmstate_wrunlock();
    int rc = claim(ctx, base, r->size, false);
    wm_vmstate_wrlock();
    wm_vmstate_busy_settle_locked(&busy);
    if (rc == 0) {
        r->base = base;
        if (wm_space_insert(&wm_vm.space, r) == 0)
            return STATUS_SUCCESS;
        wm_os_unmap(base, r->size);
        rc = -ENOMEM;
    }
    if (!want) {
        wm_place_freed_locked(base);
        /* Memory winmem does not own is there: wm_place_locked finds where it ends, starting
         * from what the kernel's map says about base. */
        *declined = address_refused(rc);
        *refused_at = base;
    }
    return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
}
