/*
 * heapcache.c - the heap's front end, Windows' low-fragmentation heap in spirit: per-thread
 * caches of freed blocks by size class (the fast paths themselves are inline in heap.h),
 * refilling and draining them in batches, one arena (lock shard) per thread slot, and the
 * lock-free remote stack where a block goes when its arena's lock is busy (freed later by
 * whoever takes that lock), as mimalloc delays cross-thread frees.  The back end is
 * heapseg.c; heap.c decides when the front end is on.
 */
#include "heap.h"

#include <string.h>

__thread struct wm_hcache *wm_heap_tcp __attribute__((tls_model("initial-exec")));
static __thread unsigned thread_slot
    __attribute__((tls_model("initial-exec"))); /* 1 + this thread's arena choice; 0: none */
/* Thread slots pick arenas.  A slot goes back when its thread ends and the next thread takes
 * the lowest free one, so threads that come and go (pools, per-task threads) keep landing on
 * the arenas their predecessors filled instead of draining into each other's. */
static atomic_ullong slots_used;
static atomic_uint slots_overflow; /* past 64 live threads: round robin */
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

void wm_heapcache_collect_locked(struct wm_harena *a)
{
    if (!atomic_load_explicit(&a->remote, memory_order_relaxed))
        return;
    void *p = atomic_exchange_explicit(&a->remote, NULL, memory_order_acquire);
    while (p) {
        void *next = wm_heap_link_get(p);
        struct wm_hseg *s = wm_heapvm_owner((uintptr_t)p);
        wm_heapseg_free_locked(a, s, (struct wm_hblk *)((uintptr_t)p - WM_HEAP_HDR));
        p = next;
    }
}

static void push_remote(struct wm_harena *a, void *p)
{
    void *head = atomic_load_explicit(&a->remote, memory_order_relaxed);
    do
        wm_heap_link_set(p, head);
    while (!atomic_compare_exchange_weak_explicit(&a->remote, &head, p, memory_order_release,
                                                  memory_order_relaxed));
}

/* Give cached blocks back to their arenas, down to keep per class (only_class, or all when
 * it is WM_HEAP_NCLASS).  The caller knows the heap is alive. */
void wm_heapcache_drain(struct wm_hcache *c, unsigned only_class, unsigned keep)
{
    struct wm_heap *h = c->heap;
    for (unsigned k = 0; k < WM_HEAP_NCLASS; k++) {
        if (only_class < WM_HEAP_NCLASS && k != only_class)
            continue;
        struct wm_hcache_bin *bin = &c->bins[k];
        struct wm_harena *locked = NULL;
        while (bin->count > keep) {
            void *p = bin->head;
            bin->head = wm_heap_link_get(p);
            bin->count--;
            struct wm_hseg *s = wm_heapvm_owner((uintptr_t)p);
            if (!s || s->magic != WM_HSEG_MAGIC || s->heap != h)
                continue; /* cannot happen unless the cache itself was overwritten */
            if (s->arena != locked) {
                if (locked)
                    pthread_mutex_unlock(&locked->lock);
                locked = NULL;
                /* a busy owner: leave the block on its remote stack rather than wait */
                if (pthread_mutex_trylock(&s->arena->lock) != 0) {
                    push_remote(s->arena, p);
                    continue;
                }
                locked = s->arena;
                wm_heapcache_collect_locked(locked);
            }
            wm_heapseg_free_locked(s->arena, s, (struct wm_hblk *)((uintptr_t)p - WM_HEAP_HDR));
        }
        if (locked)
            pthread_mutex_unlock(&locked->lock);
    }
}

static bool cache_empty(const struct wm_hcache *c)
{
    for (unsigned k = 0; k < WM_HEAP_NCLASS; k++)
        if (c->bins[k].count)
            return false;
    return true;
}

static void cache_forget(struct wm_hcache *c)
{
    void *block = c->block;
    memset(c, 0, sizeof(*c));
    c->block = block;
}

/* At thread exit: the blocks go back if their heap still exists, then the cache itself. */
static void cache_exit(void *arg)
{
    struct wm_hcache *c = arg;
    if (c->heap && !cache_empty(c))
        wm_heap_drain_if_alive(c);
    wm_heap_tcp = NULL;
    struct wm_heap *ph = wm_heap_from_handle(wm_heap_process());
    if (ph)
        wm_heap_free_slow(ph, 0, c->block);
}

static void exit_key_init(void)
{
    pthread_key_create(&exit_key, cache_exit);
}

void wm_heapcache_flush(struct wm_heap *h)
{
    struct wm_hcache *c = wm_heap_tcp;
    if (c && c->heap == h && c->id == h->id)
        wm_heapcache_drain(c, WM_HEAP_NCLASS, 0);
}

void wm_heapcache_forget_heap(struct wm_heap *h)
{
    struct wm_hcache *c = wm_heap_tcp;
    if (c && c->heap == h)
        cache_forget(c);
}

/* A block straight from the back end of h (never cached): the caches' own memory. */
static void *backend_alloc(struct wm_heap *h, SIZE_T size)
{
    struct wm_hblk *b;
    void *p = NULL;
    if (!h)
        return NULL;
    pthread_mutex_lock(&h->arena0.lock);
    if (NT_SUCCESS(wm_heapseg_alloc_locked(&h->arena0, wm_heap_gross(size), &b)))
        p = wm_heap_finish(b, size, 0);
    pthread_mutex_unlock(&h->arena0.lock);
    return p;
}

/* Moving off another heap happens when that cache is empty or after 64 calls for h, so a
 * thread alternating between two heaps does not drain at every call. */
bool wm_heapcache_adopt(struct wm_heap *h)
{
    struct wm_hcache *c = wm_heap_tcp;
    if (!c) {
        pthread_once(&exit_once, exit_key_init);
        /* on cache lines of its own: two threads' caches must not share one */
        void *block = backend_alloc(wm_heap_from_handle(wm_heap_process()), sizeof(*c) + 128);
        if (!block)
            return false;
        c = (struct wm_hcache *)(((uintptr_t)block + 63) & ~(uintptr_t)63);
        cache_forget(c);
        c->block = block;
        pthread_setspecific(exit_key, c);
        wm_heap_tcp = c;
    }
    if (c->heap == h && c->id == h->id)
        return true;
    bool empty = cache_empty(c);
    if (!empty && ++c->misses < 64)
        return false;
    if (!empty)
        wm_heap_drain_if_alive(c);
    cache_forget(c);
    c->heap = h;
    c->id = h->id;
    return true;
}

static void slot_exit(void *arg)
{
    uintptr_t slot = (uintptr_t)arg - 1;
    if (slot < 64)
        atomic_fetch_and(&slots_used, ~(1ull << slot));
}

static void slot_key_init(void)
{
    pthread_key_create(&slot_key, slot_exit);
}

static unsigned my_slot(void)
{
    if (!thread_slot) {
        unsigned long long used = atomic_load(&slots_used);
        unsigned slot;
        do {
            if (!~used) {
                slot = 64 + atomic_fetch_add(&slots_overflow, 1) % 1024;
                break;
            }
            slot = (unsigned)__builtin_ctzll(~used);
        } while (!atomic_compare_exchange_weak(&slots_used, &used, used | (1ull << slot)));
        pthread_once(&slot_once, slot_key_init);
        pthread_setspecific(slot_key, (void *)(uintptr_t)(slot + 1));
        thread_slot = slot + 1;
    }
    return thread_slot - 1;
}

struct wm_harena *wm_heapcache_arena(struct wm_heap *h)
{
    if (!atomic_load_explicit(&h->lfh, memory_order_relaxed))
        return &h->arena0;
    unsigned i = my_slot() % WM_HEAP_NARENA;
    struct wm_harena *a = atomic_load_explicit(&h->arenas[i], memory_order_acquire);
    if (a)
        return a;
    pthread_mutex_lock(&h->big);
    a = atomic_load(&h->arenas[i]);
    if (!a) {
        /* the arena lives at the start of its first region, after the region's header */
        size_t hseg = (sizeof(struct wm_hseg) + 15) & ~(size_t)15;
        size_t header = hseg + ((sizeof(struct wm_harena) + 15) & ~(size_t)15);
        size_t reserve = 16 * WM_HEAP_SEG_MIN, commit = 0x10000;
        ULONG prot =
            (h->flags & HEAP_CREATE_ENABLE_EXECUTE) ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
        uintptr_t base;
        if (NT_SUCCESS(wm_heapvm_reserve(reserve, prot, &base))) {
            struct wm_harena *na = (struct wm_harena *)(base + hseg);
            if (NT_SUCCESS(wm_heapvm_commit(base, commit, prot))) {
                wm_heapseg_arena_init(h, na, i);
                if (NT_SUCCESS(wm_heapseg_add_locked(na, (struct wm_hseg *)base, base, reserve,
                                                     commit, header, true)))
                    a = na;
            }
            if (!a)
                wm_heapvm_free(base, 0, MEM_RELEASE);
            else
                atomic_store_explicit(&h->arenas[i], a, memory_order_release);
        }
    }
    pthread_mutex_unlock(&h->big);
    return a ? a : &h->arena0;
}

NTSTATUS wm_heapcache_refill(struct wm_heap *h, unsigned k, struct wm_hblk **out)
{
    struct wm_hcache *c = wm_heap_tcp;
    struct wm_harena *a = wm_heapcache_arena(h);
    size_t gross = wm_heap_class_size(k);
    unsigned n = wm_heap_class_cap(k) / 4;
    NTSTATUS st;

    pthread_mutex_lock(&a->lock);
    wm_heapcache_collect_locked(a);
    st = wm_heapseg_alloc_locked(a, gross, out);
    for (unsigned i = 1; NT_SUCCESS(st) && i < n; i++) {
        struct wm_hblk *b;
        if (!NT_SUCCESS(wm_heapseg_alloc_locked(a, gross, &b)))
            break;
        WM_WR(b->state, WM_HBLK_CACHED);
        void *p = (void *)((uintptr_t)b + WM_HEAP_HDR);
        WM_POISON(p, gross - WM_HEAP_HDR);
        wm_heap_link_set(p, c->bins[k].head);
        c->bins[k].head = p;
        c->bins[k].count++;
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}
