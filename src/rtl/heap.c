/*
 * heap.c - RtlCreateHeap and friends: the heaps of the process (the process heap first, then
 * every private heap in creation order), the front end that makes small blocks fast, and the
 * core of HeapAlloc / HeapReAlloc / HeapFree / HeapSize.  The back end (regions, blocks, free
 * lists) is heapseg.c; memory comes from heapvm.c; HeapWalk and the rest are in heapwalk.c.
 *
 * The front end plays the part of Windows' low-fragmentation heap and, like it, turns on for
 * a growable serialised heap after 0x12 allocations of one size (or HeapSetInformation):
 * each thread keeps a small cache of freed blocks per size class for the heap it used last,
 * so the common HeapAlloc/HeapFree pair takes no lock, and each thread allocates from its own
 * arena (lock shard) when it does go to the back end.  Cached blocks stay "free" in their
 * headers (HeapWalk reports them free, a second HeapFree of one is a double free).
 */
#include "heap.h"

#include "trace.h"

#include <string.h>

#include "except/except.h"

#define GRANS(bytes) ((uint32_t)((bytes) / WM_HEAP_GRAN))
#define BYTES(grans) ((size_t)(grans)*WM_HEAP_GRAN)
/* Requests above this fail at once: their size would wrap in the arithmetic below. */
#define MAX_REQUEST ((SIZE_T)1 << 46)

/* ---- the process's heaps -------------------------------------------------------------- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wm_heap *reg_head, *reg_tail;
static atomic_uint_fast64_t next_id = 1;
/* HeapEnableTerminationOnCorruption applies to every heap of the process and cannot be
 * turned off again. */
static atomic_bool terminate_on_corruption;
static struct wm_heap *process_heap;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static bool heap_registered_locked(const struct wm_heap *h, uint64_t id)
{
    for (struct wm_heap *x = reg_head; x; x = x->reg_next)
        if (x == h && x->id == id)
            return true;
    return false;
}

void wm_heap_drain_if_alive(struct wm_hcache *c)
{
    pthread_mutex_lock(&reg_lock);
    if (heap_registered_locked(c->heap, c->id))
        wm_heapcache_drain(c, WM_HEAP_NCLASS, 0);
    pthread_mutex_unlock(&reg_lock);
}

struct wm_heap *wm_heap_from_handle(HANDLE handle)
{
    uintptr_t a = (uintptr_t)handle;
    if (!a || (a & 0xffff))
        return NULL;
    struct wm_heap *h = wm_heapvm_owner(a);
    if (!h || h->seg0.magic != WM_HSEG_MAGIC || h->seg0.index != 0 || (uintptr_t)h != a ||
        h->magic != WM_HEAP_MAGIC)
        return NULL;
    return h;
}

bool wm_heap_terminate_on_corruption(void)
{
    return atomic_load_explicit(&terminate_on_corruption, memory_order_relaxed);
}

void wm_heap_set_terminate_on_corruption(void)
{
    atomic_store(&terminate_on_corruption, true);
}

NTSTATUS wm_heap_corrupt(struct wm_heap *h, const void *p)
{
    (void)h;
    if (wm_heap_terminate_on_corruption()) {
        /* Windows reports the failure as a noncontinuable STATUS_HEAP_CORRUPTION exception
         * and ends the process if it comes back. */
        ULONG_PTR arg = (ULONG_PTR)p;
        wm_raise((DWORD)STATUS_HEAP_CORRUPTION, EXCEPTION_NONCONTINUABLE, 1, &arg);
        return STATUS_HEAP_CORRUPTION;
    }
    return STATUS_INVALID_PARAMETER;
}

/* HEAP_GENERATE_EXCEPTIONS: STATUS_NO_MEMORY with the size asked for as its one parameter;
 * a handler that continues makes the call return NULL. */
#define NO_RAISE 0x80000000u /* internal: the caller raises (HeapReAlloc's move) */

static NTSTATUS no_memory(ULONG flags, SIZE_T size)
{
    if ((flags & (HEAP_GENERATE_EXCEPTIONS | NO_RAISE)) == HEAP_GENERATE_EXCEPTIONS) {
        ULONG_PTR arg = size;
        wm_raise((DWORD)STATUS_NO_MEMORY, 0, 1, &arg);
    }
    return STATUS_NO_MEMORY;
}

static void lock_arena(struct wm_harena *a, ULONG flags)
{
    if (!(flags & HEAP_NO_SERIALIZE)) {
        pthread_mutex_lock(&a->lock);
        wm_heapcache_collect_locked(a);
    }
}

static void unlock_arena(struct wm_harena *a, ULONG flags)
{
    if (!(flags & HEAP_NO_SERIALIZE))
        pthread_mutex_unlock(&a->lock);
}

void wm_heap_lock_all(struct wm_heap *h)
{
    if (h->flags & HEAP_NO_SERIALIZE)
        return;
    pthread_mutex_lock(&h->big);
    for (unsigned i = 0; i < WM_HEAP_NARENA; i++) {
        struct wm_harena *a = atomic_load(&h->arenas[i]);
        if (a) {
            pthread_mutex_lock(&a->lock);
            wm_heapcache_collect_locked(a);
        }
    }
}

void wm_heap_unlock_all(struct wm_heap *h)
{
    if (h->flags & HEAP_NO_SERIALIZE)
        return;
    for (unsigned i = WM_HEAP_NARENA; i-- > 0;) {
        struct wm_harena *a = atomic_load(&h->arenas[i]);
        if (a)
            pthread_mutex_unlock(&a->lock);
    }
    pthread_mutex_unlock(&h->big);
}

/* ---- heaps: create, destroy, the process heap ----------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

NTSTATUS wm_heap_create(ULONG flags, SIZE_T initial, SIZE_T max, HANDLE *out)
{
    const size_t page = WM_HEAP_PAGE;
    ULONG prot;
    size_t commit, reserve;
    uintptr_t base;
    NTSTATUS st;

    flags &= HEAP_NO_SERIALIZE | HEAP_GENERATE_EXCEPTIONS | HEAP_CREATE_ENABLE_EXECUTE;
    if (max == 0)
        flags |= HEAP_GROWABLE;
    if (initial > MAX_REQUEST || max > MAX_REQUEST)
        return STATUS_NO_MEMORY;
    commit = (initial + page - 1) & ~(page - 1);
    if (commit < 0x2000)
        commit = 0x2000; /* Windows commits 8 KiB of a heap created with size 0 */
    if (flags & HEAP_GROWABLE) {
        reserve = (commit + 0xffff) & ~(size_t)0xffff;
        if (reserve < WM_HEAP_SEG_MIN)
            reserve = WM_HEAP_SEG_MIN;
    } else {
        reserve = (max + 0xffff) & ~(size_t)0xffff;
        if (reserve < commit)
            reserve = (commit + 0xffff) & ~(size_t)0xffff;
    }
    prot = (flags & HEAP_CREATE_ENABLE_EXECUTE) ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
    st = wm_heapvm_reserve(reserve, prot, &base);
    if (!NT_SUCCESS(st))
        return STATUS_NO_MEMORY;
    st = wm_heapvm_commit(base, commit, prot);
    if (!NT_SUCCESS(st)) {
        wm_heapvm_free(base, 0, MEM_RELEASE);
        return STATUS_NO_MEMORY;
    }

    struct wm_heap *h = (struct wm_heap *)base;
    h->magic = WM_HEAP_MAGIC;
    h->flags = flags;
    h->id = atomic_fetch_add(&next_id, 1);
    h->secret = mix64(base ^ h->id ^ (uintptr_t)&h ^ ((uint64_t)(uintptr_t)&reg_lock << 17));
    h->max = (flags & HEAP_GROWABLE) ? 0 : reserve;
    h->min_commit = commit;
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&h->big, &at);
    pthread_mutexattr_destroy(&at);
    pthread_mutex_init(&h->seglock, NULL);
    wm_heapseg_arena_init(h, &h->arena0, 0);
    atomic_store(&h->arenas[0], &h->arena0);
    st = wm_heapseg_add_locked(&h->arena0, &h->seg0, base, reserve, commit, WM_HEAP_HEADER_SIZE,
                               true);
    if (!NT_SUCCESS(st)) {
        wm_heapvm_free(base, 0, MEM_RELEASE);
        return STATUS_NO_MEMORY;
    }

    pthread_mutex_lock(&reg_lock);
    if (reg_tail)
        reg_tail->reg_next = h;
    else
        reg_head = h;
    reg_tail = h;
    pthread_mutex_unlock(&reg_lock);
    *out = h;
    return STATUS_SUCCESS;
}

_Static_assert(sizeof(struct wm_heap) <= WM_HEAP_HEADER_SIZE, "heap header too big");

NTSTATUS wm_heap_destroy(HANDLE handle)
{
    struct wm_heap *h = wm_heap_from_handle(handle);
    if (!h)
        return STATUS_INVALID_HANDLE;
    pthread_mutex_lock(&reg_lock);
    if (h == process_heap || !heap_registered_locked(h, h->id)) {
        pthread_mutex_unlock(&reg_lock);
        return STATUS_INVALID_HANDLE; /* the process heap is never destroyed */
    }
    struct wm_heap **pp = &reg_head, *prev = NULL;
    while (*pp != h) {
        prev = *pp;
        pp = &(*pp)->reg_next;
    }
    *pp = h->reg_next;
    if (reg_tail == h)
        reg_tail = prev;
    pthread_mutex_unlock(&reg_lock);
    wm_heapcache_forget_heap(h); /* this thread's cached blocks go with the heap */
    /* Wait out anyone still inside (HeapLock holders, a thread draining its cache). */
    wm_heap_lock_all(h);
    wm_heap_unlock_all(h);
    h->magic = 0;
    wm_heapseg_release_all(h);
    return STATUS_SUCCESS;
}

/* fork(): every heap's locks are taken before and released after in both processes, so the
 * child never inherits a lock some other thread held (its caches stay with it, unused). */
static void fork_prepare(void)
{
    pthread_mutex_lock(&reg_lock);
    for (struct wm_heap *h = reg_head; h; h = h->reg_next) {
        wm_heap_lock_all(h);
        pthread_mutex_lock(&h->seglock);
    }
    wm_heapvm_fork_lock(true);
}

static void fork_parent(void)
{
    wm_heapvm_fork_lock(false);
    for (struct wm_heap *h = reg_head; h; h = h->reg_next) {
        pthread_mutex_unlock(&h->seglock);
        wm_heap_unlock_all(h);
    }
    pthread_mutex_unlock(&reg_lock);
}

/* In the child the locks are made anew: a recursive mutex records its owner's thread id,
 * which fork changes, so the child could not unlock them. */
static void fork_child(void)
{
    pthread_mutexattr_t rec;
    pthread_mutexattr_init(&rec);
    pthread_mutexattr_settype(&rec, PTHREAD_MUTEX_RECURSIVE);
    wm_heapvm_fork_child();
    for (struct wm_heap *h = reg_head; h; h = h->reg_next) {
        pthread_mutex_init(&h->seglock, NULL);
        pthread_mutex_init(&h->big, &rec);
        h->big_depth = 0;
        for (unsigned i = 0; i < WM_HEAP_NARENA; i++) {
            struct wm_harena *a = atomic_load(&h->arenas[i]);
            if (a)
                pthread_mutex_init(&a->lock, &rec);
        }
    }
    pthread_mutexattr_destroy(&rec);
    pthread_mutex_init(&reg_lock, NULL);
}

static void process_heap_init(void)
{
    HANDLE hh;
    unsigned held = wm_trace_hold(); /* winmem's own calls, which no program made */
    if (NT_SUCCESS(wm_heap_create(0, 0, 0, &hh)))
        process_heap = hh;
    wm_trace_release(held);
}

/* Registered at default constructor priority, after the memory manager's and the callback
 * lists' handlers (src/mm/vmstate.c states the order), so fork runs it first: heap locks,
 * then theirs, the order a heap call takes them in (it makes Nt calls and runs secure memory
 * cache callbacks with its locks held). */
__attribute__((constructor)) static void heap_register_fork(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* The process heap exists before main, as on Windows. */
__attribute__((constructor)) static void process_heap_ctor(void)
{
    pthread_once(&process_once, process_heap_init);
}

HANDLE wm_heap_process(void)
{
    pthread_once(&process_once, process_heap_init);
    return process_heap;
}

bool wm_heap_each(bool wait, void (*fn)(void *ctx, struct wm_heap *h, bool process), void *ctx)
{
    if (!wait) {
        if (pthread_mutex_trylock(&reg_lock))
            return false;
    } else {
        pthread_mutex_lock(&reg_lock);
    }
    for (struct wm_heap *x = reg_head; x; x = x->reg_next)
        fn(ctx, x, x == process_heap);
    pthread_mutex_unlock(&reg_lock);
    return true;
}

ULONG wm_heap_list(ULONG count, HANDLE *out)
{
    ULONG n = 0;
    wm_heap_process();
    pthread_mutex_lock(&reg_lock);
    for (struct wm_heap *x = reg_head; x; x = x->reg_next)
        n++;
    if (n <= count) {
        ULONG i = 0;
        for (struct wm_heap *x = reg_head; x; x = x->reg_next)
            out[i++] = x;
    }
    pthread_mutex_unlock(&reg_lock);
    return n;
}

/* ---- large blocks --------------------------------------------------------------------- */

static NTSTATUS large_alloc(struct wm_heap *h, SIZE_T size, void **out)
{
    size_t reserve = (WM_HEAP_LARGE_DATA + size + 0xffff) & ~(size_t)0xffff;
    size_t commit = (WM_HEAP_LARGE_DATA + size + WM_HEAP_PAGE - 1) & ~(size_t)(WM_HEAP_PAGE - 1);
    ULONG prot = (h->flags & HEAP_CREATE_ENABLE_EXECUTE) ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
    uintptr_t base;

    if (!NT_SUCCESS(wm_heapvm_reserve(reserve, prot, &base)))
        return STATUS_NO_MEMORY;
    if (!NT_SUCCESS(wm_heapvm_commit(base, commit, prot))) {
        wm_heapvm_free(base, 0, MEM_RELEASE);
        return STATUS_NO_MEMORY;
    }
    struct wm_hlarge *l = (struct wm_hlarge *)base;
    l->magic = WM_HLARGE_MAGIC;
    l->heap = h;
    l->reserve = reserve;
    l->commit = commit;
    l->h.size = 0; /* a large block is not part of any region's tiling */
    l->h.prev = 0;
    l->h.req = (uint32_t)size; /* set before the block is listed: HeapWalk reads it */
    l->pad = (uint32_t)(size >> 32);
    l->h.state = WM_HBLK_BUSY;
    l->h.pad = 0;
    wm_heapseg_seal(h, &l->h);
    pthread_mutex_lock(&h->seglock);
    NTSTATUS st = wm_heapvm_map(base, reserve, l);
    if (NT_SUCCESS(st)) {
        l->prev = NULL;
        l->next = h->large;
        if (h->large)
            h->large->prev = l;
        h->large = l;
    }
    pthread_mutex_unlock(&h->seglock);
    if (!NT_SUCCESS(st)) {
        wm_heapvm_free(base, 0, MEM_RELEASE);
        return STATUS_NO_MEMORY;
    }
    *out = (void *)(base + WM_HEAP_LARGE_DATA);
    return STATUS_SUCCESS;
}

/* The large block whose data is p in heap h, or NULL. */
static struct wm_hlarge *large_of(struct wm_heap *h, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if ((a & 0xffff) != WM_HEAP_LARGE_DATA)
        return NULL;
    struct wm_hlarge *l = wm_heapvm_owner(a);
    if (!l || l->magic != WM_HLARGE_MAGIC || l->heap != h || (uintptr_t)l != a - WM_HEAP_LARGE_DATA)
        return NULL;
    return l;
}

static SIZE_T large_size(const struct wm_hlarge *l)
{
    return (SIZE_T)l->pad << 32 | l->h.req;
}

static void large_set_size(struct wm_hlarge *l, SIZE_T size)
{
    l->pad = (uint32_t)(size >> 32);
    l->h.req = (uint32_t)size;
    wm_heapseg_seal(l->heap, &l->h);
}

/* ---- HeapAlloc -------------------------------------------------------------------------- */

static NTSTATUS alloc_slow(struct wm_heap *h, ULONG flags, SIZE_T size, void **out)
{
    struct wm_hblk *b;
    NTSTATUS st;

    flags |= h->flags & (HEAP_NO_SERIALIZE | HEAP_GENERATE_EXCEPTIONS);
    if (size > MAX_REQUEST)
        return no_memory(flags, size);
    size_t gross = wm_heap_gross(size);
    if (gross >= WM_HEAP_LARGE) {
        if (!(h->flags & HEAP_GROWABLE))
            return no_memory(flags, size);
        void *p;
        st = large_alloc(h, size, &p);
        if (!NT_SUCCESS(st))
            return no_memory(flags, size);
        *out = p;
        return STATUS_SUCCESS;
    }
    bool lfh = atomic_load_explicit(&h->lfh, memory_order_relaxed);
    if (lfh && size <= 4096 && !(flags & HEAP_NO_SERIALIZE) && wm_heapcache_adopt(h)) {
        unsigned k = wm_heap_class_ceil(gross);
        st = wm_heapcache_refill(h, k, &b);
        if (!NT_SUCCESS(st))
            return no_memory(flags, size);
        *out = wm_heap_finish(b, size, flags);
        return STATUS_SUCCESS;
    }
    struct wm_harena *a = (flags & HEAP_NO_SERIALIZE) ? &h->arena0 : wm_heapcache_arena(h);
    lock_arena(a, flags);
    st = wm_heapseg_alloc_locked(a, gross, &b);
    if (NT_SUCCESS(st)) {
        *out = wm_heap_finish(b, size, flags);
        /* the LFH trigger; counted under arena 0's lock, the only arena before it fires */
        if (!lfh && gross <= WM_HEAP_CACHE_MAX_GROSS &&
            (h->flags & (HEAP_GROWABLE | HEAP_NO_SERIALIZE)) == HEAP_GROWABLE) {
            unsigned k = wm_heap_class_ceil(gross);
            if (h->lfh_count[k] < 255 && ++h->lfh_count[k] >= WM_HEAP_LFH_TRIGGER)
                atomic_store(&h->lfh, 1);
        }
    }
    unlock_arena(a, flags);
    if (!NT_SUCCESS(st))
        return st == STATUS_NO_MEMORY ? no_memory(flags, size) : st;
    return STATUS_SUCCESS;
}

NTSTATUS wm_heap_alloc(HANDLE handle, ULONG flags, SIZE_T size, void **out)
{
    void *p = wm_heap_alloc_fast(handle, flags, size);
    if (p) {
        *out = p;
        return STATUS_SUCCESS;
    }
    struct wm_heap *h = wm_heap_from_handle(handle);
    if (!h)
        return STATUS_INVALID_HANDLE;
    return alloc_slow(h, flags, size, out);
}

/* ---- HeapFree --------------------------------------------------------------------------- */

/* A busy block of h at p: its region (NULL for a large block, then *large is set) and
 * header, or a failure status (corruption reported). */
/* The block at p; quiet: a pointer that is not one is only refused (a probe), never reported
 * as corruption. */
static NTSTATUS lookup_ex(struct wm_heap *h, const void *p, struct wm_hseg **seg,
                          struct wm_hblk **blk, struct wm_hlarge **large, bool quiet)
{
    *large = large_of(h, p);
    if (*large) {
        *seg = NULL;
        *blk = &(*large)->h;
        if ((*large)->h.check != wm_heapseg_sum(h, &(*large)->h) ||
            WM_RD((*large)->h.state) != WM_HBLK_BUSY)
            return quiet ? STATUS_INVALID_PARAMETER : wm_heap_corrupt(h, p);
        return STATUS_SUCCESS;
    }
    *seg = wm_heapseg_find(h, p, blk);
    if (!*seg)
        return quiet ? STATUS_INVALID_PARAMETER : wm_heap_corrupt(h, p);
    if (wm_heapseg_intact(h, *blk) && WM_RD((*blk)->state) == WM_HBLK_BUSY)
        return STATUS_SUCCESS;
    /* Another thread may be rewriting this header's neighbour fields (merging the block
     * before it) under the owning arena's lock: look again under that lock before calling
     * it corruption. */
    bool ok = false;
    if (!(h->flags & HEAP_NO_SERIALIZE)) {
        struct wm_harena *a = (*seg)->arena;
        pthread_mutex_lock(&a->lock);
        ok = wm_heapseg_intact(h, *blk) && WM_RD((*blk)->state) == WM_HBLK_BUSY;
        pthread_mutex_unlock(&a->lock);
    }
    return ok ? STATUS_SUCCESS : quiet ? STATUS_INVALID_PARAMETER : wm_heap_corrupt(h, p);
}

static NTSTATUS lookup(struct wm_heap *h, const void *p, struct wm_hseg **seg, struct wm_hblk **blk,
                       struct wm_hlarge **large)
{
    return lookup_ex(h, p, seg, blk, large, false);
}

NTSTATUS wm_heap_free_slow(struct wm_heap *h, ULONG flags, void *p)
{
    struct wm_hseg *s;
    struct wm_hblk *b;
    struct wm_hlarge *l;

    flags |= h->flags & HEAP_NO_SERIALIZE;
    struct wm_harena *a0 = &h->arena0;
    lock_arena(a0, flags); /* large blocks and lookups under arena 0, as Windows' heap lock */
    NTSTATUS st = lookup(h, p, &s, &b, &l);
    if (NT_SUCCESS(st) && l) {
        uintptr_t base = (uintptr_t)l;
        pthread_mutex_lock(&h->seglock);
        struct wm_hlarge *prev = l->prev, *next = l->next; /* the list changes under seglock */
        wm_heapvm_unmap(base, l->reserve);
        size_t reserve = l->reserve;
        /* The release may run the secure memory cache callbacks: they must not use this heap
         * (as on Windows); a block its owner keeps secured stays allocated and intact. */
        st = wm_heapvm_free(base, 0, MEM_RELEASE);
        if (NT_SUCCESS(st)) {
            if (prev)
                prev->next = next;
            else
                h->large = next;
            if (next)
                next->prev = prev;
        } else {
            wm_heapvm_map(base, reserve, l);
        }
        pthread_mutex_unlock(&h->seglock);
    }
    unlock_arena(a0, flags);
    if (!NT_SUCCESS(st) || l)
        return st;
    struct wm_harena *a = s->arena;
    lock_arena(a, flags);
    /* look again under the owner's lock: another thread may have freed it meanwhile */
    if (!wm_heapseg_intact(h, b) || WM_RD(b->state) != WM_HBLK_BUSY)
        st = wm_heap_corrupt(h, p);
    else {
        WM_POISON(p, BYTES(b->size) - WM_HEAP_HDR);
        st = wm_heapseg_free_locked(a, s, b);
    }
    unlock_arena(a, flags);
    return st;
}

NTSTATUS wm_heap_free(HANDLE handle, ULONG flags, void *p)
{
    if (!p || wm_heap_free_fast(handle, p))
        return STATUS_SUCCESS;
    struct wm_heap *h = wm_heap_from_handle(handle);
    if (!h)
        return STATUS_INVALID_HANDLE;
    return wm_heap_free_slow(h, flags, p);
}

/* ---- HeapSize, HeapReAlloc ------------------------------------------------------------- */

NTSTATUS wm_heap_size(HANDLE handle, ULONG flags, const void *p, SIZE_T *out)
{
    struct wm_heap *h = wm_heap_from_handle(handle);
    struct wm_hseg *s;
    struct wm_hblk *b;
    struct wm_hlarge *l;

    if (!h)
        return STATUS_INVALID_HANDLE;
    flags |= h->flags & HEAP_NO_SERIALIZE;
    lock_arena(&h->arena0, flags);
    NTSTATUS st = lookup(h, p, &s, &b, &l);
    if (NT_SUCCESS(st))
        *out = l ? large_size(l) : WM_RD(b->req);
    unlock_arena(&h->arena0, flags);
    return st;
}

bool wm_heap_probe(HANDLE handle, const void *p, SIZE_T *size)
{
    struct wm_heap *h = wm_heap_from_handle(handle);
    struct wm_hseg *s;
    struct wm_hblk *b;
    struct wm_hlarge *l;

    if (!h || ((uintptr_t)p & 15))
        return false;
    lock_arena(&h->arena0, h->flags & HEAP_NO_SERIALIZE);
    NTSTATUS st = lookup_ex(h, p, &s, &b, &l, true);
    if (NT_SUCCESS(st) && size)
        *size = l ? large_size(l) : WM_RD(b->req);
    unlock_arena(&h->arena0, h->flags & HEAP_NO_SERIALIZE);
    return NT_SUCCESS(st);
}

static NTSTATUS realloc_large(ULONG flags, struct wm_hlarge *l, SIZE_T size, void **out)
{
    uintptr_t base = (uintptr_t)l;
    SIZE_T old = large_size(l);
    size_t need = (WM_HEAP_LARGE_DATA + size + WM_HEAP_PAGE - 1) & ~(size_t)(WM_HEAP_PAGE - 1);

    if (need > l->commit)
        return STATUS_NO_MEMORY; /* grows only within what is still committed */
    if (need < l->commit && NT_SUCCESS(wm_heapvm_free(base + need, l->commit - need, MEM_DECOMMIT)))
        l->commit = need;
    large_set_size(l, size);
    if ((flags & HEAP_ZERO_MEMORY) && size > old)
        memset((char *)base + WM_HEAP_LARGE_DATA + old, 0, size - old);
    *out = (void *)(base + WM_HEAP_LARGE_DATA);
    return STATUS_SUCCESS;
}

NTSTATUS wm_heap_realloc(HANDLE handle, ULONG flags, void *p, SIZE_T size, void **out)
{
    struct wm_heap *h = wm_heap_from_handle(handle);
    struct wm_hseg *s;
    struct wm_hblk *b;
    struct wm_hlarge *l;
    NTSTATUS st;

    if (!h)
        return STATUS_INVALID_HANDLE;
    *out = NULL;
    if (!p)
        return STATUS_SUCCESS; /* Windows fails it without an error */
    flags |= h->flags & (HEAP_NO_SERIALIZE | HEAP_GENERATE_EXCEPTIONS);
    if (size > MAX_REQUEST)
        return no_memory(flags, size);
    size_t gross = wm_heap_gross(size);

    lock_arena(&h->arena0, flags);
    st = lookup(h, p, &s, &b, &l);
    SIZE_T old = 0;
    if (NT_SUCCESS(st) && l) {
        old = large_size(l);
        if (gross >= WM_HEAP_LARGE || (flags & HEAP_REALLOC_IN_PLACE_ONLY)) {
            st = realloc_large(flags, l, size, out);
            unlock_arena(&h->arena0, flags);
            if (NT_SUCCESS(st) || (flags & HEAP_REALLOC_IN_PLACE_ONLY))
                return NT_SUCCESS(st) ? st : no_memory(flags, size);
            goto move;
        }
    }
    unlock_arena(&h->arena0, flags);
    if (!NT_SUCCESS(st))
        return st;
    if (l)
        goto move;

    struct wm_harena *a = s->arena;
    lock_arena(a, flags);
    if (!wm_heapseg_intact(h, b) || WM_RD(b->state) != WM_HBLK_BUSY) {
        unlock_arena(a, flags);
        return wm_heap_corrupt(h, p);
    }
    old = b->req;
    if (gross < WM_HEAP_LARGE && wm_heapseg_resize_locked(a, s, b, gross)) {
        WM_WR(b->req, (uint32_t)size);
        wm_heapseg_seal(h, b);
        WM_UNPOISON(p, BYTES(b->size) - WM_HEAP_HDR);
        if ((flags & HEAP_ZERO_MEMORY) && size > old)
            memset((char *)p + old, 0, size - old);
        unlock_arena(a, flags);
        *out = p;
        return STATUS_SUCCESS;
    }
    unlock_arena(a, flags);
    if (flags & HEAP_REALLOC_IN_PLACE_ONLY)
        return no_memory(flags, size);

move:;
    void *np;
    st = wm_heap_alloc(h, (flags & ~(ULONG)HEAP_ZERO_MEMORY) | NO_RAISE, size, &np);
    if (!NT_SUCCESS(st))
        return st == STATUS_NO_MEMORY ? no_memory(flags, size) : st;
    memcpy(np, p, old < size ? old : size);
    if ((flags & HEAP_ZERO_MEMORY) && size > old)
        memset((char *)np + old, 0, size - old);
    st = wm_heap_free(h, flags & HEAP_NO_SERIALIZE, p);
    if (!NT_SUCCESS(st)) { /* the old block stays (secured and kept): so does the caller's */
        wm_heap_free(h, flags & HEAP_NO_SERIALIZE, np);
        return st;
    }
    *out = np;
    return STATUS_SUCCESS;
}
