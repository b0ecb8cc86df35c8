/*
 * basehash.c - regions by exact base address, in an open-addressing hash table beside the
 * sorted index (space.c).  Every region starts on a 64 KiB boundary and most queries name an
 * address in a region's first 64 KiB (the pointer VirtualAlloc returned, a view's base), so
 * one hash probe answers them where the index needs two binary searches.  Like the index,
 * the table lives in the type-stable arena and its lookup bounds every loop, so it can run
 * without the lock under a sequence check.  Callers serialise updates (the VM write lock).
 */
#include "vm.h"

#include <string.h>

#define EMPTY ((uintptr_t)0)
#define TOMB ((uintptr_t)1) /* a removed entry: probes go on past it */
#define MAX_PROBE 64

struct wm_hslot {
    uintptr_t key; /* region base, EMPTY or TOMB */
    struct wm_region *reg;
};

struct wm_htab {
    unsigned shift; /* 64 - log2(slots) */
    size_t slots, used, tombs;
    struct wm_hslot slot[];
};

static size_t home(const struct wm_htab *t, uintptr_t key, unsigned shift)
{
    (void)t;
    return (size_t)(((uint64_t)(key >> 16) * 0x9e3779b97f4a7c15ull) >> shift);
}

static struct wm_htab *table_new(size_t slots)
{
    struct wm_htab *t = wm_arena_alloc(sizeof(*t) + slots * sizeof(struct wm_hslot));
    if (!t)
        return NULL;
    unsigned bits = 0;
    while (((size_t)1 << bits) < slots)
        bits++;
    t->shift = 64 - bits;
    t->slots = slots;
    t->used = t->tombs = 0;
    memset(t->slot, 0, slots * sizeof(struct wm_hslot));
    return t;
}

static void table_free(struct wm_htab *t)
{
    if (t)
        wm_arena_free(t, sizeof(*t) + t->slots * sizeof(struct wm_hslot));
}

/* Place an entry in a table with room (no duplicate keys). */
static bool place(struct wm_htab *t, uintptr_t key, struct wm_region *r)
{
    size_t i = home(t, key, t->shift);
    for (size_t n = 0; n < t->slots && n < MAX_PROBE; n++, i = (i + 1) & (t->slots - 1)) {
        struct wm_hslot *s = &t->slot[i];
        if (s->key == EMPTY || s->key == TOMB) {
            if (s->key == TOMB)
                t->tombs--;
            /* The region before the key: a lock-free reader that sees the key sees it. */
            __atomic_store_n(&s->reg, r, __ATOMIC_RELAXED);
            __atomic_store_n(&s->key, key, __ATOMIC_RELEASE);
            t->used++;
            return true;
        }
    }
    return false;
}

/* A table twice as big as the live entries need, with them in it; NULL when out of memory. */
static struct wm_htab *rebuilt(const struct wm_htab *old, size_t live)
{
    size_t slots = 64;
    while (slots < 4 * (live + 1))
        slots *= 2;
    for (;; slots *= 2) {
        struct wm_htab *t = table_new(slots);
        if (!t)
            return NULL;
        bool ok = true;
        for (size_t i = 0; old && ok && i < old->slots; i++)
            if (old->slot[i].key != EMPTY && old->slot[i].key != TOMB)
                ok = place(t, old->slot[i].key, old->slot[i].reg);
        if (ok)
            return t;
        table_free(t); /* a probe chain too long: spread out more */
    }
}

int wm_basehash_insert(struct wm_htab **tp, struct wm_region *r)
{
    struct wm_htab *t = *tp;

    if (!t || (t->used + t->tombs + 1) * 2 > t->slots) {
        struct wm_htab *n = rebuilt(t, t ? t->used : 0);
        if (!n)
            return -1;
        __atomic_store_n(tp, n, __ATOMIC_RELEASE);
        table_free(t);
        t = n;
    }
    while (!place(t, r->base, r)) {
        struct wm_htab *n = rebuilt(t, t->used + t->slots / 2);
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
    size_t i = t ? home(t, r->base, t->shift) : 0;
    for (size_t n = 0; t && n < t->slots && n < MAX_PROBE; n++, i = (i + 1) & (t->slots - 1)) {
        struct wm_hslot *s = &t->slot[i];
        if (s->key == EMPTY)
            return;
        if (s->key == r->base) {
            __atomic_store_n(&s->key, TOMB, __ATOMIC_RELEASE);
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
    if (!t || base < 2)
        return NULL;
    unsigned shift = WM_LOAD(t->shift);
    size_t slots = WM_LOAD(t->slots);
    if (!valid(ctx) || slots == 0 || (slots & (slots - 1)))
        return NULL;
    size_t i = home(t, base, shift) & (slots - 1);
    for (size_t n = 0; n < MAX_PROBE; n++, i = (i + 1) & (slots - 1)) {
        uintptr_t key = __atomic_load_n(&t->slot[i].key, __ATOMIC_ACQUIRE);
        if (key == EMPTY)
            return NULL;
        if (key == base)
            return WM_LOAD(t->slot[i].reg);
    }
    return NULL;
}

size_t wm_basehash_count(const struct wm_htab *t)
{
    return t ? t->used : 0;
}
