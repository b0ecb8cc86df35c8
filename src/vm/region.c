/*
 * region.c - one reservation (Windows' "allocation") and the attribute runs of its pages.
 *
 * A region never stores anything per page: its pages are described by a sorted array of
 * runs, each a maximal stretch of pages with the same state, protection and flags, so a
 * 1 TiB reservation is one run.  Placement in the address-space index is space.c's job.
 */
#include "vm.h"

#include <string.h>

struct wm_region *wm_region_new(uintptr_t base, size_t size, uint32_t alloc_prot, uint32_t type,
                                uint32_t state, uint32_t prot)
{
    WM_ASSERT((type & 0xffffu) == 0 && type >> 16 <= 0xffffu);
    struct wm_region *r = wm_arena_alloc(sizeof(*r));

    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->cap = 1;
    r->runs = r->inline_run;
    r->base = base;
    r->size = size;
    r->alloc_prot = alloc_prot;
    r->type_code = (uint16_t)(type >> 16);
    r->nruns = 1;
    r->runs[0] = (struct wm_run){ .off = 0, .state = state, .prot = prot, .flags = 0 };
    return r;
}

void wm_region_free(struct wm_region *r)
{
    if (r) {
        if (r->runs != r->inline_run)
            wm_arena_free(r->runs, r->cap * sizeof(*r->runs));
        if (r->ext) {
            if (r->ext->dirty)
                wm_arena_free(r->ext->dirty, r->ext->dirty_words * sizeof(*r->ext->dirty));
            wm_arena_free(r->ext, sizeof(*r->ext));
        }
        wm_arena_free(r, sizeof(*r));
    }
}

void wm_region_reset(struct wm_region *r, uint32_t alloc_prot, uint32_t type, uint16_t flags,
                     uint32_t state, uint32_t prot)
{
    WM_ASSERT((type & 0xffffu) == 0 && type >> 16 <= 0xffffu);
    if (r->runs != r->inline_run) {
        struct wm_run *old = r->runs;
        uint32_t old_cap = r->cap;
        /* As in wm_region_reserve_runs: a lock-free reader validates cap and runs together;
         * the smaller cap goes first so no cap ever exceeds the array beside it. */
        __atomic_store_n(&r->cap, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&r->runs, r->inline_run, __ATOMIC_RELEASE);
        wm_arena_free(old, old_cap * sizeof(*old));
    }
    r->inline_run[0] = (struct wm_run){ .off = 0, .state = state, .prot = prot, .flags = 0 };
    r->nruns = 1;
    r->alloc_prot = alloc_prot;
    r->type_code = (uint16_t)(type >> 16);
    r->flags = flags;
    if (r->ext) {
        struct wm_region_ext *x = r->ext;
        r->ext = NULL;
        if (x->dirty)
            wm_arena_free(x->dirty, x->dirty_words * sizeof(*x->dirty));
        wm_arena_free(x, sizeof(*x));
    }
}

struct wm_region *wm_region_slice(const struct wm_region *r, size_t off, size_t len)
{
    WM_ASSERT(!r->ext && off + len <= r->size && len > 0);
    uint32_t first = wm_region_run_index(r, off), last = wm_region_run_index(r, off + len - 1);
    uint32_t n = last - first + 1;
    struct wm_region *s = wm_region_new(r->base + off, len, r->alloc_prot, wm_region_type(r),
                                        r->runs[first].state, r->runs[first].prot);

    if (!s)
        return NULL;
    s->flags = r->flags;
    if (n > 1 && wm_region_reserve_runs_n(s, n - 1)) {
        wm_region_free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        s->runs[i] = r->runs[first + i];
        s->runs[i].off = i ? r->runs[first + i].off - off : 0;
    }
    s->nruns = n;
    return s;
}

void wm_region_truncate(struct wm_region *r, size_t size)
{
    WM_ASSERT(size > 0 && size <= r->size);
    r->nruns = wm_region_run_index(r, size - 1) + 1;
    r->size = size;
}

/* r's extension, allocated (zeroed) on first use; NULL when out of memory. */
static struct wm_region_ext *ext_of(struct wm_region *r)
{
    if (!r->ext) {
        r->ext = wm_arena_alloc(sizeof(*r->ext));
        if (r->ext)
            memset(r->ext, 0, sizeof(*r->ext));
    }
    return r->ext;
}

int wm_region_watch(struct wm_region *r, size_t page_size)
{
    size_t words = (r->size / page_size + 63) / 64;
    struct wm_region_ext *x = ext_of(r);
    uint64_t *bits = x ? wm_arena_alloc(words * sizeof(*bits)) : NULL;

    if (!bits)
        return -1; /* an extension just made stays: it is freed with the region */
    memset(bits, 0, words * sizeof(*bits));
    x->dirty = bits;
    x->dirty_words = words;
    r->flags |= WM_REGION_WATCHED;
    return 0;
}

int wm_region_view(struct wm_region *r, void *object, uint64_t offset, bool private_view)
{
    struct wm_region_ext *x = ext_of(r);

    if (!x)
        return -1;
    x->object = object;
    x->offset = offset;
    r->flags |= WM_REGION_VIEW | (private_view ? WM_REGION_VIEW_PRIVATE : 0);
    return 0;
}

WM_HOT uint32_t wm_region_run_index(const struct wm_region *r, size_t off)
{
    uint32_t lo = 0, hi = r->nruns; /* answer in [lo, hi) */

    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->runs[mid].off <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

WM_HOT size_t wm_region_run_end(const struct wm_region *r, uint32_t i)
{
    return i + 1 < r->nruns ? r->runs[i + 1].off : r->size;
}

WM_HOT int wm_region_reserve_runs(struct wm_region *r)
{
    return wm_region_reserve_runs_n(r, 2);
}

WM_HOT int wm_region_reserve_runs_n(struct wm_region *r, uint32_t n)
{
    if (r->nruns + n <= r->cap)
        return 0;
    uint32_t cap = r->cap * 2;
    while (cap < r->nruns + n)
        cap *= 2;
    struct wm_run *runs = wm_arena_alloc(cap * sizeof(*runs)), *old = r->runs;
    uint32_t old_cap = r->cap;
    if (!runs)
        return -1;
    memcpy(runs, old, r->nruns * sizeof(*runs));
    /* A lock-free reader validates cap and runs together before it reads the array; the
     * bigger array goes first all the same, so no cap ever exceeds the array beside it. */
    __atomic_store_n(&r->runs, runs, __ATOMIC_RELEASE);
    __atomic_store_n(&r->cap, cap, __ATOMIC_RELEASE);
    if (old != r->inline_run)
        wm_arena_free(old, old_cap * sizeof(*old));
    return 0;
}

static bool same(const struct wm_run *a, const struct wm_run *b)
{
    return a->state == b->state && a->prot == b->prot && a->flags == b->flags;
}

/* Split so that a run starts exactly at off (0 < off < size).  Returns that run's index. */
WM_HOT static uint32_t split_at(struct wm_region *r, size_t off)
{
    uint32_t i = wm_region_run_index(r, off);

    if (r->runs[i].off == off)
        return i;
    memmove(&r->runs[i + 2], &r->runs[i + 1], (r->nruns - i - 1) * sizeof(*r->runs));
    r->runs[i + 1] = r->runs[i];
    r->runs[i + 1].off = off;
    r->nruns++;
    return i + 1;
}

/* Restore maximal runs after an update that touched runs from index `from` on: the
 * runs before from-1 were maximal already, so one compaction pass from there suffices. */
static void merge(struct wm_region *r, uint32_t from)
{
    uint32_t w = from > 0 ? from - 1 : 0;

    for (uint32_t i = w + 1; i < r->nruns; i++) {
        if (!same(&r->runs[w], &r->runs[i]))
            r->runs[++w] = r->runs[i];
    }
    r->nruns = w + 1;
}

enum { SET_STATE = 1, SET_PROT = 2 };

/* Update the runs covering [off, off+len), splitting at both ends first.  SET_STATE sets
 * state and protection; SET_PROT sets the protection of committed runs only. */
static void update(struct wm_region *r, size_t off, size_t len, unsigned what, uint32_t state,
                   uint32_t prot, uint32_t keep, uint32_t setf)
{
    size_t end = off + len;
    uint32_t first = off ? split_at(r, off) : 0;
    uint32_t last = end < r->size ? split_at(r, end) : r->nruns; /* exclusive */

    for (uint32_t i = first; i < last; i++) {
        struct wm_run *run = &r->runs[i];
        if (what & SET_STATE) {
            run->state = state;
            run->prot = prot;
        } else if ((what & SET_PROT) && run->state == WM_STATE_COMMITTED) {
            run->prot = prot;
        }
        run->flags = (run->flags & keep) | setf;
    }
    merge(r, first);
}

void wm_region_set(struct wm_region *r, size_t off, size_t len, uint32_t state, uint32_t prot,
                   uint32_t keep, uint32_t set)
{
    update(r, off, len, SET_STATE, state, prot, keep, set);
}

WM_HOT void wm_region_protect(struct wm_region *r, size_t off, size_t len, uint32_t prot)
{
    update(r, off, len, SET_PROT, 0, prot, ~0u, 0);
}

void wm_region_set_flags(struct wm_region *r, size_t off, size_t len, uint32_t set, uint32_t clear)
{
    update(r, off, len, 0, 0, 0, ~clear, set);
}

WM_HOT int wm_region_walk(const struct wm_region *r, size_t off, size_t len, wm_region_walk_fn fn,
                          void *ctx)
{
    size_t end = off + len;

    for (uint32_t i = wm_region_run_index(r, off); i < r->nruns && r->runs[i].off < end; i++) {
        size_t s = r->runs[i].off > off ? r->runs[i].off : off;
        size_t e = wm_region_run_end(r, i);
        if (e > end)
            e = end;
        int rc = fn(ctx, r, s, e - s, &r->runs[i]);
        if (rc)
            return rc;
    }
    return 0;
}

WM_HOT static int not_committed(void *ctx, const struct wm_region *r, size_t off, size_t len,
                                const struct wm_run *run)
{
    (void)ctx, (void)r, (void)off, (void)len;
    return run->state != WM_STATE_COMMITTED;
}

WM_HOT bool wm_region_all_committed(const struct wm_region *r, size_t off, size_t len)
{
    return wm_region_walk(r, off, len, not_committed, NULL) == 0;
}

static int lacks_flags(void *ctx, const struct wm_region *r, size_t off, size_t len,
                       const struct wm_run *run)
{
    uint32_t want = *(const uint32_t *)ctx;
    (void)r, (void)off, (void)len;
    return (run->flags & want) != want;
}

bool wm_region_all_flagged(const struct wm_region *r, size_t off, size_t len, uint32_t flags)
{
    return wm_region_walk(r, off, len, lacks_flags, &flags) == 0;
}

size_t wm_region_extent(const struct wm_region *r, size_t off)
{
    uint32_t i = wm_region_run_index(r, off);
    uint32_t j = i;

    /* Runs also differ by flags VirtualQuery does not show (locked): look past them. */
    while (j + 1 < r->nruns && r->runs[j + 1].state == r->runs[i].state &&
           r->runs[j + 1].prot == r->runs[i].prot)
        j++;
    return wm_region_run_end(r, j) - off;
}

const char *wm_region_check(const struct wm_region *r, size_t page_size)
{
    if (r->size == 0 || r->size % page_size || r->base % page_size)
        return "region base or size not page aligned";
    if (r->base + r->size < r->base)
        return "region wraps";
    if (r->nruns == 0 || r->nruns > r->cap || r->runs[0].off != 0 ||
        (r->runs == r->inline_run && r->cap != 1))
        return "bad run array";
    if ((r->flags & WM_REGION_VIEW) && (!r->ext || !r->ext->object))
        return "view without its section";
    if ((r->flags & WM_REGION_WATCHED) && (!r->ext || !r->ext->dirty))
        return "watched region without its bitmap";
    for (uint32_t i = 0; i < r->nruns; i++) {
        const struct wm_run *run = &r->runs[i];
        if (run->off % page_size || run->off >= r->size)
            return "run offset out of place";
        if (i > 0 && (run->off <= r->runs[i - 1].off || same(run, &r->runs[i - 1])))
            return "runs unsorted or not maximal";
        if (run->state == WM_STATE_RESERVED && run->prot != 0)
            return "reserved run with a protection";
        if (run->state == WM_STATE_COMMITTED && run->prot == 0)
            return "committed run without a protection";
        if (run->state != WM_STATE_RESERVED && run->state != WM_STATE_COMMITTED)
            return "bad run state";
    }
    return NULL;
}

uint32_t wm_region_count_runs(const struct wm_region *r, size_t off, size_t len)
{
    uint32_t first = wm_region_run_index(r, off), last = wm_region_run_index(r, off + len - 1);
    return last - first + 1;
}

bool wm_region_read_lockfree(const struct wm_region *r, uintptr_t addr, struct wm_run_read *out,
                             bool (*valid)(void *ctx), void *ctx)
{
    uint32_t cap = __atomic_load_n(&r->cap, __ATOMIC_ACQUIRE);
    const struct wm_run *runs = __atomic_load_n(&r->runs, __ATOMIC_ACQUIRE);
    uint32_t n = WM_LOAD(r->nruns);

    out->base = WM_LOAD(r->base);
    out->size = WM_LOAD(r->size);
    if (n == 0 || n > cap || addr < out->base || addr - out->base >= out->size)
        return false;
    /* The inline run is inside r; any other array is followed only once cap and runs are
     * known to be a pair a writer left, so every index below stays inside that array. */
    if (runs == r->inline_run ? n > 1 : !valid(ctx))
        return false;
    size_t off = addr - out->base;
    uint32_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (WM_LOAD(runs[mid].off) <= off)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t j = lo;
    out->state = WM_LOAD(runs[lo].state);
    out->prot = WM_LOAD(runs[lo].prot);
    /* Runs also differ by flags VirtualQuery does not show: look past them. */
    while (j + 1 < n && WM_LOAD(runs[j + 1].state) == out->state &&
           WM_LOAD(runs[j + 1].prot) == out->prot)
        j++;
    out->end = j + 1 < n ? WM_LOAD(runs[j + 1].off) : out->size;
    out->alloc_prot = WM_LOAD(r->alloc_prot);
    out->type = (uint32_t)WM_LOAD(r->type_code) << 16;
    return true;
}
