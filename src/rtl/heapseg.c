/*
 * heapseg.c - the heap's back end: regions (segments) tiled with blocks, segregated free
 * lists per arena, splitting and coalescing, growing a region's committed part and giving
 * free tails back.  Every header read is checked (keyed checksum, size agreeing with the
 * neighbour's record of it) before it is trusted; a damaged one is reported, never followed.
 * The front end (thread caches) and the API are in heap.c; HeapWalk/HeapValidate in
 * heapwalk.c.
 */
#include "heap.h"

#include <string.h>

#ifdef WM_ASAN
#define HDR_OPEN(b) ASAN_UNPOISON_MEMORY_REGION((b), WM_HEAP_HDR)
#define LINKS_OPEN(f) ASAN_UNPOISON_MEMORY_REGION(&(f)->next, 2 * sizeof(void *))
#define LINKS_CLOSE(f) ASAN_POISON_MEMORY_REGION(&(f)->next, 2 * sizeof(void *))
#else
#define HDR_OPEN(b) ((void)(b))
#define LINKS_OPEN(f) ((void)(f))
#define LINKS_CLOSE(f) ((void)(f))
#endif

#define GRANS(bytes) ((uint32_t)((bytes) / WM_HEAP_GRAN))
#define BYTES(grans) ((size_t)(grans)*WM_HEAP_GRAN)
#define DECOMMIT_AT (256u << 10) /* a free tail this long is given back */

static uintptr_t seg_end(const struct wm_hseg *s)
{
    return s->base + WM_RD(s->commit); /* read unlocked by HeapFree's fast path */
}

static struct wm_hblk *next_of(const struct wm_hblk *b)
{
    return (struct wm_hblk *)((uintptr_t)b + BYTES(b->size));
}

/* Bins: exact sizes 32..512 by 16, then four per power of two. */
static unsigned bin_of(size_t gross)
{
    if (gross <= 512)
        return (unsigned)(gross / 16 - 2);
    unsigned e = 63u - (unsigned)__builtin_clzll(gross);
    unsigned idx = 31 + (e - 9) * 4 + (unsigned)((gross >> (e - 2)) & 3);
    return idx < WM_HEAP_NBINS ? idx : WM_HEAP_NBINS - 1;
}

static void bin_insert(struct wm_harena *a, struct wm_hfree *f)
{
    unsigned i = bin_of(BYTES(f->h.size));
    LINKS_OPEN(f);
    f->prev = NULL;
    f->next = a->bins[i];
    if (f->next) {
        LINKS_OPEN(f->next);
        f->next->prev = f;
        LINKS_CLOSE(f->next);
    }
    LINKS_CLOSE(f);
    a->bins[i] = f;
    a->bitmap[i / 64] |= 1ull << (i % 64);
}

static void bin_remove(struct wm_harena *a, struct wm_hfree *f)
{
    unsigned i = bin_of(BYTES(f->h.size));
    LINKS_OPEN(f);
    struct wm_hfree *n = f->next, *p = f->prev;
    LINKS_CLOSE(f);
    if (n) {
        LINKS_OPEN(n);
        n->prev = p;
        LINKS_CLOSE(n);
    }
    if (p) {
        LINKS_OPEN(p);
        p->next = n;
        LINKS_CLOSE(p);
    } else {
        a->bins[i] = n;
        if (!n)
            a->bitmap[i / 64] &= ~(1ull << (i % 64));
    }
}

/* Write b's header (size in bytes, state) and tell the block after it (or the region). */
static void put_block(struct wm_heap *h, struct wm_hseg *s, struct wm_hblk *b, size_t size,
                      uint32_t prev, uint8_t state)
{
    HDR_OPEN(b); /* it may lie in what was a freed (poisoned) block's data */
    WM_WR(b->size, GRANS(size));
    WM_WR(b->prev, prev);
    WM_WR(b->state, state);
    b->pad = 0;
    if (state == WM_HBLK_FREE)
        WM_WR(b->req, 0);
    wm_heapseg_seal(h, b);
    struct wm_hblk *n = next_of(b);
    if ((uintptr_t)n < seg_end(s)) {
        HDR_OPEN(n);
        WM_WR(n->prev, b->size);
        wm_heapseg_seal(h, n);
    } else {
        s->tail = (uintptr_t)b;
    }
}

void wm_heapseg_arena_init(struct wm_heap *h, struct wm_harena *a, unsigned idx)
{
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&a->lock, &at);
    pthread_mutexattr_destroy(&at);
    a->heap = h;
    a->idx = idx;
    a->nsegs = 0;
    a->last = NULL;
    atomic_init(&a->remote, NULL);
    memset(a->bitmap, 0, sizeof(a->bitmap));
    memset(a->bins, 0, sizeof(a->bins));
}

static ULONG heap_prot(const struct wm_heap *h)
{
    return (h->flags & HEAP_CREATE_ENABLE_EXECUTE) ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
}

NTSTATUS wm_heapseg_add_locked(struct wm_harena *a, struct wm_hseg *s, uintptr_t base,
                               size_t reserve, size_t commit, size_t header, bool pinned)
{
    struct wm_heap *h = a->heap;
    unsigned slot;

    pthread_mutex_lock(&h->seglock);
    for (slot = 0; slot < WM_HEAP_MAX_SEGS && h->segs[slot]; slot++)
        ;
    if (slot == WM_HEAP_MAX_SEGS) {
        pthread_mutex_unlock(&h->seglock);
        return STATUS_NO_MEMORY;
    }
    s->magic = WM_HSEG_MAGIC;
    s->index = slot;
    s->heap = h;
    s->arena = a;
    s->base = base;
    s->reserve = reserve;
    s->commit = commit;
    s->first = base + header;
    s->tail = 0;
    s->pinned = pinned;
    NTSTATUS st = wm_heapvm_map(base, reserve, s);
    if (NT_SUCCESS(st)) {
        h->segs[slot] = s;
        if (slot >= h->nsegs)
            h->nsegs = slot + 1;
    }
    pthread_mutex_unlock(&h->seglock);
    if (!NT_SUCCESS(st))
        return st;
    a->nsegs++;
    a->last = s;
    if (s->first + WM_HEAP_MIN_BLOCK <= seg_end(s)) {
        struct wm_hblk *b = (struct wm_hblk *)s->first;
        put_block(h, s, b, seg_end(s) - s->first, 0, WM_HBLK_FREE);
        bin_insert(a, (struct wm_hfree *)b);
    }
    return STATUS_SUCCESS;
}

/* Commit more of a's newest region, or add a region, so that a free block of gross bytes
 * exists. */
static NTSTATUS grow_locked(struct wm_harena *a, size_t gross)
{
    struct wm_heap *h = a->heap;
    struct wm_hseg *s = a->last;

    if (s) {
        struct wm_hblk *t = (struct wm_hblk *)s->tail;
        size_t have = (t && WM_RD(t->state) == WM_HBLK_FREE) ? BYTES(t->size) : 0;
        size_t extra = gross - have + (t ? 0 : WM_HEAP_MIN_BLOCK);
        size_t room = s->reserve - s->commit;
        size_t step = (extra + 0xffff) & ~(size_t)0xffff;
        if (step > room)
            step = (extra + WM_HEAP_PAGE - 1) & ~(size_t)(WM_HEAP_PAGE - 1);
        if (step <= room && NT_SUCCESS(wm_heapvm_commit(seg_end(s), step, heap_prot(h)))) {
            uintptr_t old_end = seg_end(s);
            WM_WR(s->commit, s->commit + step);
            if (t && WM_RD(t->state) == WM_HBLK_FREE) {
                bin_remove(a, (struct wm_hfree *)t);
                put_block(h, s, t, BYTES(t->size) + step, t->prev, WM_HBLK_FREE);
                bin_insert(a, (struct wm_hfree *)t);
            } else {
                struct wm_hblk *b = (struct wm_hblk *)old_end;
                put_block(h, s, b, step, t ? t->size : 0, WM_HBLK_FREE);
                bin_insert(a, (struct wm_hfree *)b);
            }
            return STATUS_SUCCESS;
        }
    }
    if (!(h->flags & HEAP_GROWABLE))
        return STATUS_NO_MEMORY;

    size_t header = (sizeof(struct wm_hseg) + 15) & ~(size_t)15;
    size_t want = (header + gross + WM_HEAP_MIN_BLOCK + 0xffff) & ~(size_t)0xffff;
    size_t reserve = (size_t)WM_HEAP_SEG_MIN << (a->nsegs < 12 ? a->nsegs : 12);
    if (reserve > WM_HEAP_SEG_MAX)
        reserve = WM_HEAP_SEG_MAX;
    if (reserve < want)
        reserve = want;
    uintptr_t base;
    NTSTATUS st = wm_heapvm_reserve(reserve, heap_prot(h), &base);
    if (!NT_SUCCESS(st))
        return STATUS_NO_MEMORY;
    st = wm_heapvm_commit(base, want, heap_prot(h));
    if (NT_SUCCESS(st))
        st = wm_heapseg_add_locked(a, (struct wm_hseg *)base, base, reserve, want, header, false);
    if (!NT_SUCCESS(st)) {
        wm_heapvm_free(base, 0, MEM_RELEASE);
        return STATUS_NO_MEMORY;
    }
    return STATUS_SUCCESS;
}

static struct wm_hfree *find_fit(struct wm_harena *a, size_t gross)
{
    unsigned i = bin_of(gross);
    if (gross > 512) { /* a log bin mixes sizes: first fit in it, a bounded look */
        struct wm_hfree *f = a->bins[i];
        for (unsigned n = 0; f && n < 64; n++) {
            if (BYTES(f->h.size) >= gross)
                return f;
            LINKS_OPEN(f);
            struct wm_hfree *nx = f->next;
            LINKS_CLOSE(f);
            f = nx;
        }
        i++;
    }
    for (unsigned w = i / 64; w < WM_HEAP_NBINS / 64; w++) {
        uint64_t m = a->bitmap[w];
        if (w == i / 64)
            m &= ~0ull << (i % 64);
        if (m)
            return a->bins[w * 64 + (unsigned)__builtin_ctzll(m)];
    }
    return NULL;
}

NTSTATUS wm_heapseg_alloc_locked(struct wm_harena *a, size_t gross, struct wm_hblk **out)
{
    struct wm_heap *h = a->heap;
    struct wm_hfree *f = find_fit(a, gross);

    if (!f) {
        NTSTATUS st = grow_locked(a, gross);
        if (!NT_SUCCESS(st))
            return st;
        f = find_fit(a, gross);
        if (!f)
            return STATUS_NO_MEMORY;
    }
    struct wm_hseg *s = wm_heapvm_owner((uintptr_t)f);
    if (!s || !wm_heapseg_intact(h, &f->h) || f->h.state != WM_HBLK_FREE)
        return wm_heap_corrupt(h, f + 1);
    bin_remove(a, f);
    size_t have = BYTES(f->h.size);
    struct wm_hblk *b = &f->h;
    if (have - gross >= WM_HEAP_MIN_BLOCK) {
        put_block(h, s, b, gross, b->prev, WM_HBLK_BUSY);
        struct wm_hblk *r = next_of(b);
        put_block(h, s, r, have - gross, b->size, WM_HBLK_FREE);
        bin_insert(a, (struct wm_hfree *)r);
    } else {
        put_block(h, s, b, have, b->prev, WM_HBLK_BUSY);
    }
    *out = b;
    return STATUS_SUCCESS;
}

/* Give back the committed pages of a region's free tail block t, or the whole region when t
 * is all of it and the region is neither pinned nor (unless may_go_last) the newest. */
static void trim_locked(struct wm_harena *a, struct wm_hseg *s, struct wm_hblk *t, bool may_go_last)
{
    struct wm_heap *h = a->heap;

    if ((uintptr_t)t == s->first && !s->pinned && (may_go_last || s != a->last)) {
        bin_remove(a, (struct wm_hfree *)t);
        pthread_mutex_lock(&h->seglock);
        h->segs[s->index] = NULL;
        pthread_mutex_unlock(&h->seglock);
        uintptr_t base = s->base;
        size_t reserve = s->reserve;
        wm_heapvm_unmap(base, reserve);
        if (NT_SUCCESS(wm_heapvm_free(base, 0, MEM_RELEASE))) {
            a->nsegs--;
            if (a->last == s) { /* the arena's newest left is its next region to grow */
                a->last = NULL;
                for (unsigned i = 0; i < h->nsegs; i++)
                    if (h->segs[i] && h->segs[i]->arena == a)
                        a->last = h->segs[i];
            }
            return;
        }
        /* secured and kept by its owner: the region stays, intact and usable */
        wm_heapvm_map(base, reserve, s);
        pthread_mutex_lock(&h->seglock);
        h->segs[s->index] = s;
        pthread_mutex_unlock(&h->seglock);
        bin_insert(a, (struct wm_hfree *)t);
        return;
    }
    uintptr_t keep =
        ((uintptr_t)t + WM_HEAP_MIN_BLOCK + WM_HEAP_PAGE - 1) & ~(uintptr_t)(WM_HEAP_PAGE - 1);
    if (s == &h->seg0 && keep < s->base + h->min_commit)
        keep = s->base + h->min_commit;
    if (keep >= seg_end(s))
        return;
    if (!NT_SUCCESS(wm_heapvm_free(keep, seg_end(s) - keep, MEM_DECOMMIT)))
        return; /* secured: the pages stay committed and the block stays free */
    bin_remove(a, (struct wm_hfree *)t);
    WM_WR(s->commit, keep - s->base);
    put_block(h, s, t, keep - (uintptr_t)t, t->prev, WM_HBLK_FREE);
    bin_insert(a, (struct wm_hfree *)t);
}

NTSTATUS wm_heapseg_free_locked(struct wm_harena *a, struct wm_hseg *s, struct wm_hblk *b)
{
    struct wm_heap *h = a->heap;
    struct wm_hblk *n = next_of(b);
    size_t size = BYTES(b->size);
    uint32_t prev = b->prev;

    if ((uintptr_t)n < seg_end(s) && (!wm_heapseg_intact(h, n) || n->prev != b->size))
        return wm_heap_corrupt(h, n + 1);
    if (prev) {
        struct wm_hblk *p = (struct wm_hblk *)((uintptr_t)b - BYTES(prev));
        if ((uintptr_t)p < s->first || !wm_heapseg_intact(h, p) || p->size != prev)
            return wm_heap_corrupt(h, p + 1);
        if (WM_RD(p->state) == WM_HBLK_FREE) {
            bin_remove(a, (struct wm_hfree *)p);
            size += BYTES(p->size);
            prev = p->prev;
            b = p;
        }
    }
    if ((uintptr_t)n < seg_end(s) && WM_RD(n->state) == WM_HBLK_FREE) {
        bin_remove(a, (struct wm_hfree *)n);
        size += BYTES(n->size);
    }
    put_block(h, s, b, size, prev, WM_HBLK_FREE);
    bin_insert(a, (struct wm_hfree *)b);
    if ((uintptr_t)b + size == seg_end(s) && (size >= DECOMMIT_AT || (uintptr_t)b == s->first))
        trim_locked(a, s, b, false);
    return STATUS_SUCCESS;
}

bool wm_heapseg_resize_locked(struct wm_harena *a, struct wm_hseg *s, struct wm_hblk *b,
                              size_t gross)
{
    struct wm_heap *h = a->heap;
    size_t have = BYTES(b->size);
    struct wm_hblk *n = next_of(b);
    bool next_free =
        (uintptr_t)n < seg_end(s) && wm_heapseg_intact(h, n) && WM_RD(n->state) == WM_HBLK_FREE;

    if (gross > have) {
        if (!next_free || have + BYTES(n->size) < gross)
            return false;
        bin_remove(a, (struct wm_hfree *)n);
        have += BYTES(n->size);
        next_free = false;
    } else if (next_free) { /* shrinking next to a free block: the freed bytes join it */
        bin_remove(a, (struct wm_hfree *)n);
        have += BYTES(n->size);
        next_free = false;
    }
    if (have - gross >= WM_HEAP_MIN_BLOCK) {
        put_block(h, s, b, gross, b->prev, b->state);
        struct wm_hblk *r = next_of(b);
        put_block(h, s, r, have - gross, b->size, WM_HBLK_FREE);
        bin_insert(a, (struct wm_hfree *)r);
    } else {
        put_block(h, s, b, have, b->prev, b->state);
    }
    return true;
}

size_t wm_heapseg_compact_locked(struct wm_harena *a)
{
    struct wm_heap *h = a->heap;
    size_t largest = 0;

    for (unsigned i = 0; i < h->nsegs; i++) {
        struct wm_hseg *s = h->segs[i];
        if (!s || s->arena != a || !s->tail)
            continue;
        struct wm_hblk *t = (struct wm_hblk *)s->tail;
        if (WM_RD(t->state) == WM_HBLK_FREE && wm_heapseg_intact(h, t))
            trim_locked(a, s, t, true);
    }
    for (unsigned i = 0; i < WM_HEAP_NBINS; i++) {
        for (struct wm_hfree *f = a->bins[i], *nx; f; f = nx) {
            if (BYTES(f->h.size) > largest)
                largest = BYTES(f->h.size);
            LINKS_OPEN(f);
            nx = f->next;
            LINKS_CLOSE(f);
        }
    }
    return largest > WM_HEAP_HDR ? largest - WM_HEAP_HDR : 0;
}

const struct wm_hblk *wm_heapseg_check(const struct wm_heap *h, const struct wm_hseg *s)
{
    uint32_t prev = 0;
    const struct wm_hblk *b = (const struct wm_hblk *)s->first;

    while ((uintptr_t)b < seg_end(s)) {
        if (!wm_heapseg_intact(h, b) || b->prev != prev ||
            (uintptr_t)b + BYTES(b->size) > seg_end(s))
            return b;
        if (WM_RD(b->state) == WM_HBLK_BUSY && WM_RD(b->req) + WM_HEAP_HDR > BYTES(b->size))
            return b;
        prev = b->size;
        b = next_of(b);
    }
    return (uintptr_t)b == seg_end(s) ? NULL : b;
}

struct wm_hseg *wm_heapseg_find(const struct wm_heap *h, const void *p, struct wm_hblk **blk)
{
    uintptr_t a = (uintptr_t)p;
    if (a & (WM_HEAP_GRAN - 1))
        return NULL;
    struct wm_hseg *s = wm_heapvm_owner(a);
    if (!s || s->magic != WM_HSEG_MAGIC || s->heap != h)
        return NULL;
    if (a < s->first + WM_HEAP_HDR || a >= seg_end(s))
        return NULL;
    *blk = (struct wm_hblk *)(a - WM_HEAP_HDR);
    return s;
}

void wm_heapseg_release_all(struct wm_heap *h)
{
    while (h->large) {
        struct wm_hlarge *l = h->large;
        h->large = l->next;
        wm_heapvm_unmap((uintptr_t)l, l->reserve);
        wm_heapvm_free((uintptr_t)l, 0, MEM_RELEASE);
    }
    /* region 0 holds the heap itself: last */
    for (unsigned i = h->nsegs; i-- > 1;) {
        struct wm_hseg *s = h->segs[i];
        if (!s)
            continue;
        wm_heapvm_unmap(s->base, s->reserve);
        wm_heapvm_free(s->base, 0, MEM_RELEASE);
    }
    uintptr_t base = h->seg0.base;
    size_t reserve = h->seg0.reserve;
    wm_heapvm_unmap(base, reserve);
    wm_heapvm_free(base, 0, MEM_RELEASE);
}
