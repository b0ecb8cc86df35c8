/*
 * space.c - the address space: every region, ordered by base, in a two-level sorted index.
 *
 * The bottom level is leaves of up to LEAF_CAP (base, region) pairs, the top level the
 * first base of each leaf.  A lookup is two binary searches over contiguous keys, so it
 * touches a handful of cache lines (a pointer tree touches one per level), and an insert or
 * delete moves at most one leaf's entries.  Index memory comes from the type-stable arena,
 * and the lookups bound every loop and clamp every index they read, so a reader racing with
 * a writer can come back with a wrong answer (its sequence check then discards it) but never
 * crash: that is what makes them _sigsafe and usable without the VM lock.
 */
#include "vm.h"

#include <string.h>

/* A leaf fills one 8 KiB arena block (the arena rounds every size up to a power of two):
 * 511 entries of 16 bytes, a key and a region pointer.  Nothing else is copied from the
 * region (a lookup that finds it reads its one cache line), so an entry costs 16 bytes. */
#define LEAF_BYTES 8192u
#define LEAF_CAP \
    ((uint32_t)((LEAF_BYTES - sizeof(uint64_t)) / (sizeof(uintptr_t) + sizeof(struct wm_region *))))

struct wm_leaf {
    uint32_t n;
    uintptr_t base[LEAF_CAP];
    struct wm_region *reg[LEAF_CAP];
};

_Static_assert(sizeof(struct wm_leaf) <= LEAF_BYTES, "a leaf fills one arena block");

struct wm_top {
    size_t cap; /* fixed for the life of the block */
    size_t n;
    uintptr_t *first;      /* first base of each leaf; points into this block */
    struct wm_leaf **leaf; /* ditto */
};

static struct wm_top *top_new(size_t cap)
{
    struct wm_top *t = wm_arena_alloc(sizeof(*t) + cap * (sizeof(uintptr_t) + sizeof(void *)));
    if (!t)
        return NULL;
    t->cap = cap;
    t->n = 0;
    t->first = (uintptr_t *)(t + 1);
    t->leaf = (struct wm_leaf **)(t->first + cap);
    return t;
}

static void top_free(struct wm_top *t)
{
    wm_arena_free(t, sizeof(*t) + t->cap * (sizeof(uintptr_t) + sizeof(void *)));
}

/* ---- lookups: read-only, bounded, safe against a concurrent writer ------------------------ */

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* Index of the last of keys[0..n) that is <= addr, or -1.  Branch-free: the comparison
 * feeds a conditional move, so random lookups cost no mispredicted branches and the next
 * probe's load can start early. */
static long last_le(const uintptr_t *keys, size_t n, uintptr_t addr)
{
    if (n == 0 || LOAD(keys[0]) > addr)
        return -1;
    const uintptr_t *base = keys;
    while (n > 1) {
        size_t half = n / 2;
        base = LOAD(base[half]) <= addr ? base + half : base;
        n -= half;
    }
    return base - keys;
}

/* Index of the last leaf whose first base is <= addr, or -1. */
WM_HOT static long leaf_at(const struct wm_top *t, uintptr_t addr)
{
    size_t n = LOAD(t->n), cap = LOAD(t->cap);
    return last_le(LOAD(t->first), n < cap ? n : cap, addr);
}

/* Index of the last entry whose base is <= addr, or -1. */
static long entry_at(const struct wm_leaf *l, uintptr_t addr)
{
    uint32_t n = LOAD(l->n);
    return last_le(l->base, n < LEAF_CAP ? n : LEAF_CAP, addr);
}

WM_HOT struct wm_region *wm_space_prev(const struct wm_space *s, uintptr_t addr)
{
    const struct wm_top *t = LOAD(s->top);
    if (!t)
        return NULL;
    long li = leaf_at(t, addr);
    if (li < 0)
        return NULL;
    const struct wm_leaf *l = LOAD(t->leaf[li]);
    long e = entry_at(l, addr);
    return e < 0 ? NULL : LOAD(l->reg[e]);
}

/* Async-signal-safe and lock-free (see the file comment); the caller validates the answer. */
WM_HOT struct wm_region *wm_space_find_sigsafe(const struct wm_space *s, uintptr_t addr)
{
    struct wm_region *r = wm_space_prev(s, addr);
    return r && addr - LOAD(r->base) < LOAD(r->size) ? r : NULL;
}

struct wm_region *wm_space_next(const struct wm_space *s, uintptr_t addr)
{
    const struct wm_top *t = LOAD(s->top);
    if (!t)
        return NULL;
    size_t n = LOAD(t->n);
    long li = leaf_at(t, addr);
    for (size_t i = li < 0 ? 0 : (size_t)li; i < n && i < LOAD(t->cap); i++) {
        const struct wm_leaf *l = LOAD(t->leaf[i]);
        long e = i == (size_t)li ? entry_at(l, addr) + 1 : 0;
        if (e < (long)LOAD(l->n) && e < LEAF_CAP)
            return LOAD(l->reg[e]);
    }
    return NULL;
}

/* Lock-free: every pointer read from memory a writer may have recycled is checked with
 * valid(ctx) before it is followed, and every index stays inside the block it was read
 * from (arena blocks keep their size class), so no read leaves mapped memory. */
struct wm_region *wm_space_find_lockfree(const struct wm_space *s, uintptr_t addr,
                                         bool (*valid)(void *ctx), void *ctx,
                                         struct wm_summary *sum)
{
    const struct wm_top *t = __atomic_load_n(&s->top, __ATOMIC_ACQUIRE);
    if (!t)
        return NULL;
    size_t n = LOAD(t->n), cap = LOAD(t->cap);
    const uintptr_t *first = LOAD(t->first);
    struct wm_leaf *const *leaves = LOAD(t->leaf);
    if (!valid(ctx))
        return NULL;
    long lo = last_le(first, n < cap ? n : cap, addr);
    if (lo < 0)
        return NULL;
    const struct wm_leaf *l = LOAD(leaves[lo]);
    if (!valid(ctx))
        return NULL;
    long e = entry_at(l, addr);
    if (e < 0)
        return NULL;
    struct wm_region *r = LOAD(l->reg[e]);
    if (!valid(ctx))
        return NULL;
    /* r was a region when the sequence was last seen unchanged, and region memory stays
     * mapped: its fields can be read (the caller's sequence check decides if they count). */
    sum->base = LOAD(r->base);
    sum->size = LOAD(r->size);
    sum->alloc_prot = LOAD(r->alloc_prot);
    sum->type = (uint32_t)LOAD(r->type_code) << 16;
    /* The one inline run is inside r: read without following a pointer. */
    if (LOAD(r->nruns) == 1 && LOAD(r->runs) == r->inline_run) {
        sum->state = LOAD(r->inline_run[0].state);
        sum->prot = LOAD(r->inline_run[0].prot);
    } else {
        sum->state = WM_SUMMARY_MANY;
        sum->prot = 0;
    }
    return addr - sum->base < sum->size ? r : NULL;
}

bool wm_space_overlaps(const struct wm_space *s, uintptr_t addr, size_t len)
{
    if (wm_space_find_sigsafe(s, addr))
        return true;
    struct wm_region *n = wm_space_next(s, addr);
    return n && n->base - addr < len;
}

/* ---- updates: the caller holds the VM write lock ------------------------------------------ */

/* Insert leaf l at position i of the top level, growing it into *spare if full. */
static void top_insert(struct wm_space *s, size_t i, struct wm_leaf *l, struct wm_top **spare)
{
    struct wm_top *t = s->top;

    if (t->n == t->cap) {
        struct wm_top *g = *spare;
        *spare = NULL;
        g->n = t->n;
        memcpy(g->first, t->first, t->n * sizeof(*t->first));
        memcpy(g->leaf, t->leaf, t->n * sizeof(*t->leaf));
        __atomic_store_n(&s->top, g, __ATOMIC_RELEASE);
        top_free(t);
        t = g;
    }
    memmove(&t->first[i + 1], &t->first[i], (t->n - i) * sizeof(*t->first));
    memmove(&t->leaf[i + 1], &t->leaf[i], (t->n - i) * sizeof(*t->leaf));
    t->first[i] = l->base[0];
    t->leaf[i] = l;
    t->n++;
}

static void top_remove(struct wm_top *t, size_t i)
{
    memmove(&t->first[i], &t->first[i + 1], (t->n - i - 1) * sizeof(*t->first));
    memmove(&t->leaf[i], &t->leaf[i + 1], (t->n - i - 1) * sizeof(*t->leaf));
    t->n--;
}

/* r as the only entry of the new leaf fresh, at position i of the top array (spare: a
 * bigger top array ready for it, freed when not needed). */
static void new_leaf_with(struct wm_space *s, size_t i, struct wm_leaf *fresh, struct wm_region *r,
                          struct wm_top *spare)
{
    fresh->base[0] = r->base;
    fresh->reg[0] = r;
    fresh->n = 1;
    top_insert(s, i, fresh, &spare);
    s->count++;
    if (spare)
        top_free(spare);
}

static int index_insert(struct wm_space *s, struct wm_region *r)
{
    struct wm_top *t = s->top, *spare = NULL;
    struct wm_leaf *fresh = NULL;
    long li = t && t->n ? leaf_at(t, r->base) : -1;

    if (li < 0 && t && t->n)
        li = 0; /* below every region: goes at the front of the first leaf */
    /* Allocate everything the insert may need first, so it cannot fail half-way. */
    bool split = li >= 0 && t->leaf[li]->n == LEAF_CAP;
    if (li < 0 || split) {
        fresh = wm_arena_alloc(sizeof(*fresh));
        if (!fresh)
            return -1;
        fresh->n = 0;
    }
    if (!t || ((li < 0 || split) && t->n == t->cap)) {
        spare = top_new(t ? t->cap * 2 : 16);
        if (!spare) {
            wm_arena_free(fresh, sizeof(*fresh));
            return -1;
        }
    }
    if (!t) {
        __atomic_store_n(&s->top, spare, __ATOMIC_RELEASE);
        t = spare;
        spare = NULL;
    }

    if (li < 0) {
        new_leaf_with(s, 0, fresh, r, spare);
        return 0;
    }
    struct wm_leaf *l = t->leaf[li];
    if (split && r->base > l->base[LEAF_CAP - 1]) {
        /* Past the full leaf's last entry, which is where bottom-up placement puts nearly
         * every new region: a new leaf starts with it, and the full one stays full (a split
         * in halves would leave every leaf behind the growing end half empty). */
        new_leaf_with(s, (size_t)li + 1, fresh, r, spare);
        return 0;
    }
    if (split && r->base < l->base[0]) {
        /* Below every region, where top-down placement (the kernel's, when it chooses) puts
         * each new one: the same, at the front. */
        new_leaf_with(s, 0, fresh, r, spare);
        return 0;
    }
    if (split) {
        /* Move the upper half to the new leaf, then insert into whichever half fits. */
        uint32_t half = LEAF_CAP / 2;
        memcpy(fresh->base, &l->base[half], (LEAF_CAP - half) * sizeof(*l->base));
        memcpy(fresh->reg, &l->reg[half], (LEAF_CAP - half) * sizeof(*l->reg));
        fresh->n = LEAF_CAP - half;
        l->n = half;
        top_insert(s, (size_t)li + 1, fresh, &spare);
        t = s->top;
        if (r->base >= fresh->base[0]) {
            l = fresh;
            li++;
        }
    }
    long e = entry_at(l, r->base) + 1;
    memmove(&l->base[e + 1], &l->base[e], (l->n - (uint32_t)e) * sizeof(*l->base));
    memmove(&l->reg[e + 1], &l->reg[e], (l->n - (uint32_t)e) * sizeof(*l->reg));
    l->base[e] = r->base;
    l->reg[e] = r;
    l->n++;
    if (e == 0)
        t->first[li] = r->base;
    s->count++;
    if (spare)
        top_free(spare);
    return 0;
}

size_t wm_space_leaf_count(const struct wm_space *s, size_t *cap)
{
    if (cap)
        *cap = LEAF_CAP;
    return s->top ? s->top->n : 0;
}

static void index_remove(struct wm_space *s, struct wm_region *r)
{
    struct wm_top *t = s->top;
    long li = leaf_at(t, r->base);
    struct wm_leaf *l = t->leaf[li];
    long e = entry_at(l, r->base);

    memmove(&l->base[e], &l->base[e + 1], (l->n - (uint32_t)e - 1) * sizeof(*l->base));
    memmove(&l->reg[e], &l->reg[e + 1], (l->n - (uint32_t)e - 1) * sizeof(*l->reg));
    l->n--;
    s->count--;
    if (l->n == 0) {
        top_remove(t, (size_t)li);
        wm_arena_free(l, sizeof(*l));
        return;
    }
    t->first[li] = l->base[0];
    /* Keep leaves at least a quarter full by merging a sparse one into its neighbour. */
    if ((size_t)li + 1 < t->n) {
        struct wm_leaf *nx = t->leaf[li + 1];
        if (l->n + nx->n <= LEAF_CAP / 2) {
            memcpy(&l->base[l->n], nx->base, nx->n * sizeof(*l->base));
            memcpy(&l->reg[l->n], nx->reg, nx->n * sizeof(*l->reg));
            l->n += nx->n;
            top_remove(t, (size_t)li + 1);
            wm_arena_free(nx, sizeof(*nx));
        }
    }
}

int wm_space_insert(struct wm_space *s, struct wm_region *r)
{
    if (wm_basehash_insert(&s->hash, r))
        return -1;
    if (index_insert(s, r)) {
        wm_basehash_remove(s->hash, r);
        return -1;
    }
    return 0;
}

void wm_space_remove(struct wm_space *s, struct wm_region *r)
{
    wm_basehash_remove(s->hash, r);
    index_remove(s, r);
}

void wm_space_swap(struct wm_space *s, struct wm_region *old, struct wm_region *r)
{
    struct wm_top *t = s->top;
    long li = leaf_at(t, old->base);
    struct wm_leaf *l = t->leaf[li];
    long e = entry_at(l, old->base);

    WM_ASSERT(e >= 0 && l->reg[e] == old && old->base == r->base);
    __atomic_store_n(&l->reg[e], r, __ATOMIC_RELEASE);
    wm_basehash_swap(s->hash, old, r);
}

struct wm_region *wm_space_find_base_lockfree(const struct wm_space *s, uintptr_t base,
                                              bool (*valid)(void *ctx), void *ctx)
{
    return wm_basehash_find_lockfree(&s->hash, base, valid, ctx);
}

WM_HOT void wm_space_refresh(struct wm_space *s, const struct wm_region *r)
{
    WM_ASSERT(wm_space_prev(s, r->base) == r);
    (void)s, (void)r;
}

static bool always(void *ctx)
{
    (void)ctx;
    return true;
}

const char *wm_space_check(const struct wm_space *s, size_t page_size)
{
    const struct wm_top *t = s->top;
    uintptr_t last_end = 0;
    size_t count = 0;

    for (size_t i = 0; t && i < t->n; i++) {
        const struct wm_leaf *l = t->leaf[i];
        if (l->n == 0 || l->n > LEAF_CAP)
            return "leaf empty or overfull";
        if (t->first[i] != l->base[0])
            return "leaf key stale";
        for (uint32_t e = 0; e < l->n; e++) {
            const struct wm_region *r = l->reg[e];
            if (r->base != l->base[e])
                return "index key differs from region base";
            if (r->base < last_end)
                return "regions overlap or are out of order";
            const char *err = wm_region_check(r, page_size);
            if (err)
                return err;
            last_end = r->base + r->size;
            count++;
        }
    }
    if (count != s->count)
        return "region count stale";
    for (size_t i = 0; t && i < t->n; i++) {
        const struct wm_leaf *l = t->leaf[i];
        for (uint32_t e = 0; e < l->n; e++)
            if (wm_basehash_find_lockfree(&s->hash, l->base[e], always, NULL) != l->reg[e])
                return "base hash misses a region";
    }
    return wm_basehash_count(s->hash) == count ? NULL : "base hash holds stale regions";
}
