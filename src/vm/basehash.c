/*
 * basehash.c - regions by exact base address, in an open-addressing hash table beside the
 * sorted index (space.c).  Every region starts on a 64 KiB boundary and most queries name an
 * address in a region's first 64 KiB (the pointer VirtualAlloc returned, a view's base), so
 * one hash probe answers them where the index needs two binary searches.  Like the index,
 * the table lives in the arena and its lookup bounds every loop, so it can run without the
 * lock under a sequence check.  Callers serialise updates (the VM write lock).
 *
 * A slot is one word: the region pointer (arena blocks of 64 bytes are 64-byte aligned) with
 * six bits of its key in the low bits.  The key itself is the region's base, read from the
 * region only when the tag matches, so a probe past a neighbour's slot costs no cache miss,
 * and a million regions cost 16 to 32 MB of slots (a quarter to half of them in use).
 */
#include "vm.h"

#include <string.h>

#define EMPTY ((uintptr_t)0)
#define TOMB ((uintptr_t)1) /* a removed entry: probes go on past it */
#define TAG_MASK ((uintptr_t)63)
#define MAX_PROBE 64

_Static_assert(sizeof(struct wm_region) == TAG_MASK + 1, "regions are aligned to their size");

struct wm_htab {
    unsigned shift; /* 64 - log2(slots) */
    size_t slots, used, tombs;
    uintptr_t *slot; /* its own arena block: a power of two words, no header to round up */
};

static size_t home(uintptr_t key, unsigned shift)
{
    return (size_t)(((uint64_t)(key >> 16) * 0x9e3779b97f4a7c15ull) >> shift);
}

static uintptr_t tag(uintptr_t key)
{
    return (key >> 16) & TAG_MASK;
}

static bool live(uintptr_t s)
{
    return s != EMPTY && s != TOMB;
}

static struct wm_region *region_of(uintptr_t s)
{
    return (struct wm_region *)(s & ~TAG_MASK);
}

static void table_free(struct wm_htab *t)
{
    if (t) {
        wm_arena_free(t->slot, t->slots * sizeof(*t->slot));
        wm_arena_free(t, sizeof(*t));
    }
}

static struct wm_htab *table_new(size_t slots)
{
    struct wm_htab *t = wm_arena_alloc(sizeof(*t));
    uintptr_t *slot = t ? wm_arena_alloc(slots * sizeof(*slot)) : NULL;
    if (!slot) {
        wm_arena_free(t, sizeof(*t));
        return NULL;
    }
    unsigned bits = 0;
    while (((size_t)1 << bits) < slots)
        bits++;
    t->shift = 64 - bits;
    t->slots = slots;
    t->used = t->tombs = 0;
    memset(slot, 0, slots * sizeof(*slot));
    t->slot = slot;
    return t;
}

/* Place an entry in a table with room (no duplicate keys). */
static bool place(struct wm_htab *t, struct wm_region *r)
{
    WM_ASSERT(((uintptr_t)r & TAG_MASK) == 0);
    size_t i = home(r->base, t->shift);
    for (size_t n = 0; n < t->slots && n < MAX_PROBE; n++, i = (i + 1) & (t->slots - 1)) {
        uintptr_t *s = &t->slot[i];
        if (!live(*s)) {
            if (*s == TOMB)
                t->tombs--;
            /* The region's fields are written before it is inserted; the release makes a
             * reader that sees the slot see them. */
            __atomic_store_n(s, (uintptr_t)r | tag(r->base), __ATOMIC_RELEASE);
            t->used++;
            return true;
        }
    }
    return false;
}

/* A table of at least `slots` slots, with room for the live entries at a quarter full at
 * most, holding them; NULL when out of memory. */
static struct wm_htab *rebuilt(const struct wm_htab *old, size_t slots)
{
    size_t live_n = old ? old->used : 0;
    if (slots < 64)
        slots = 64;
    while (slots < 4 * live_n)
        slots *= 2;
    for (;; slots *= 2) {
        struct wm_htab *t = table_new(slots);
        if (!t)
            return NULL;
        bool ok = true;
        for (size_t i = 0; old && ok && i < old->slots; i++)
            if (live(old->slot[i]))
                ok = place(t, region_of(old->slot[i]));
        if (ok)
            return t;
        table_free(t); /* a probe chain too long: spread out more */
    }
}

int wm_basehash_insert(struct wm_htab **tp, struct wm_region *r)
{
    struct wm_htab *t = *tp;

    /* Past half full (tombstones count): a table the live entries fill a quarter of at most
     * (twice the size when they filled it; smaller when removals left mostly tombstones). */
    if (!t || (t->used + t->tombs + 1) * 2 > t->slots) {
        struct wm_htab *n = rebuilt(t, 64);
        if (!n)
            return -1;
        __atomic_store_n(tp, n, __ATOMIC_RELEASE);
        table_free(t);
        t = n;
    }
    while (!place(t, r)) {
        struct wm_htab *n = rebuilt(t, t->slots * 2);
        if (!n)
            return -1;
        __atomic_store_n(tp, n, __ATOMIC_RELEASE);
        table_free(t);
        t = n;
    }
    return 0;
}

void wm_basehash_remove(struct wm_htab *t, const struct wm_region *r)
{
    size_t i = t ? home(r->base, t->shift) : 0;
    for (size_t n = 0; t && n < t->slots && n < MAX_PROBE; n++, i = (i + 1) & (t->slots - 1)) {
        uintptr_t *s = &t->slot[i];
        if (*s == EMPTY)
            return;
        if (live(*s) && region_of(*s) == r) {
            __atomic_store_n(s, TOMB, __ATOMIC_RELEASE);
            t->used--;
            t->tombs++;
            return;
        }
    }
}

struct wm_region *wm_basehash_find_lockfree(struct wm_htab *const *tp, uintptr_t base,
                                            bool (*valid)(void *ctx), void *ctx)
{
    const struct wm_htab *t = __atomic_load_n(tp, __ATOMIC_ACQUIRE);
    if (!t)
        return NULL;
    unsigned shift = WM_LOAD(t->shift);
    size_t slots = WM_LOAD(t->slots);
    const uintptr_t *slot = WM_LOAD(t->slot);
    if (!valid(ctx) || slots == 0 || (slots & (slots - 1)))
        return NULL;
    size_t i = home(base, shift) & (slots - 1);
    for (size_t n = 0; n < MAX_PROBE; n++, i = (i + 1) & (slots - 1)) {
        uintptr_t s = __atomic_load_n(&slot[i], __ATOMIC_ACQUIRE);
        if (s == EMPTY)
            return NULL;
        if (s == TOMB || (s & TAG_MASK) != tag(base))
            continue;
        /* Follow the pointer only once the table is known to be the one the writer left. */
        if (!valid(ctx))
            return NULL;
        struct wm_region *r = region_of(s);
        if (WM_LOAD(r->base) == base)
            return r;
    }
    return NULL;
}

void wm_basehash_swap(struct wm_htab *t, const struct wm_region *old, struct wm_region *r)
{
    WM_ASSERT(old->base == r->base && ((uintptr_t)r & TAG_MASK) == 0);
    size_t i = t ? home(r->base, t->shift) : 0;
    for (size_t n = 0; t && n < t->slots && n < MAX_PROBE; n++, i = (i + 1) & (t->slots - 1)) {
        uintptr_t *s = &t->slot[i];
        if (*s == EMPTY)
            break;
        if (live(*s) && region_of(*s) == old) {
            __atomic_store_n(s, (uintptr_t)r | tag(r->base), __ATOMIC_RELEASE);
            return;
        }
    }
    WM_ASSERT(!"region to swap not in the base hash");
}

size_t wm_basehash_count(const struct wm_htab *t)
{
    return t ? t->used : 0;
}
