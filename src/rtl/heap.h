/*
 * heap.h - cross-file structures and functions of the Rtl heap (src/rtl/heap*.c, rtlheap.c).
 *
 * Layer rules, stated once: the heap gets, commits, decommits and releases memory only
 * through the Nt virtual-memory calls (heapvm.c), so secured memory inside a heap is
 * honoured like anywhere else.  Functions return NTSTATUS; only win32/ turns one into the
 * last error.  A `_locked` suffix means the caller holds the arena's lock (or the heap is
 * HEAP_NO_SERIALIZE and the caller serialises).  Lock order: heap->big, then arena locks in
 * index order, then heap->seglock (a leaf: nothing is taken under it).
 *
 * Layout (docs/architecture.md, "Heaps"): a heap is a list of segments (regions) of tiled
 * blocks, each block led by a 16-byte header holding its size, its neighbour's size, the size
 * asked for, a state and a keyed checksum; blocks of at least WM_HEAP_LARGE bytes are their
 * own allocations.  A global map from 64 KiB granules to the segment or large block there
 * lets every call check a pointer before touching it.
 */
#ifndef WM_RTL_HEAP_H
#define WM_RTL_HEAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "windows.h"
#include "winternl.h"
#include "rtl.h"

/* AddressSanitizer builds poison freed blocks (manual poisoning interface). */
#if defined(__SANITIZE_ADDRESS__)
#define WM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WM_ASAN 1
#endif
#endif
#ifdef WM_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define WM_HEAP_GRAN 16u      /* block granularity and alignment */
#define WM_HEAP_HDR 16u       /* bytes of header before each block's data */
#define WM_HEAP_MIN_BLOCK 32u /* header + two free-list links */
#define WM_HEAP_LARGE                                                                   \
    0xFF000u                         /* blocks this big (header included) get their own \
                                      * allocation; a fixed heap refuses them (64-bit figure) */
#define WM_HEAP_LARGE_DATA 64u       /* offset of a large block's data from its base */
#define WM_HEAP_MAX_SEGS 64u         /* regions per heap (iRegionIndex 64 marks large blocks) */
#define WM_HEAP_NARENA 4u            /* lock shards of a growable serialised heap */
#define WM_HEAP_PAGE 4096u           /* commit granularity */
#define WM_HEAP_SEG_MIN 0x10000u     /* first segment of a growable heap: 64 KiB, as Windows */
#define WM_HEAP_SEG_MAX (256u << 20) /* segments double up to this */
#define WM_HEAP_HEADER_SIZE 0x800u   /* bytes before the first block of a heap's first region */

/* Front-end size classes (the thread caches): block sizes 32..1024 by 16, then up to 4224
 * by 128, so every request up to 4096 bytes has one. */
#define WM_HEAP_NCLASS 88u
#define WM_HEAP_CACHE_MAX_GROSS 4224u
/* Allocations of one size before the front end turns on, as Windows' LFH does (0x12). */
#define WM_HEAP_LFH_TRIGGER 0x12u

/* Compatibility values (HeapCompatibilityInformation). */
#define WM_HEAP_COMPAT_STANDARD 0u
#define WM_HEAP_COMPAT_LFH 2u

enum wm_hblk_state { WM_HBLK_FREE = 0x46, WM_HBLK_BUSY = 0x42, WM_HBLK_CACHED = 0x43 };

/* A block header.  size and prev count WM_HEAP_GRAN units (header included); prev is 0 for a
 * region's first block.  check covers size and prev, keyed on the header's own address and
 * the heap's secret, so an overrun (which reaches size first), a stray write or a pointer
 * into the middle of a block is seen; req and state change on every allocation and free and
 * are left out of it, so the fast paths compute it once per free and never per allocation. */
struct wm_hblk {
    uint32_t size;
    uint32_t prev;
    uint32_t req;
    uint8_t state;
    uint8_t pad;
    uint16_t check;
};

/* A free block: the header, then the links of its bin. */
struct wm_hfree {
    struct wm_hblk h;
    struct wm_hfree *next, *prev;
};

#define WM_HSEG_MAGIC 0x47455348u   /* "HSEG" */
#define WM_HLARGE_MAGIC 0x47524c48u /* "HLRG" */
#define WM_HEAP_MAGIC 0x50414548u   /* "HEAP" */

struct wm_heap;
struct wm_harena;

/* A region: at its base, blocks from `first` to base + commit, uncommitted after that. */
struct wm_hseg {
    uint32_t magic;
    uint32_t index;  /* iRegionIndex */
    uint32_t pinned; /* holds the heap or an arena: released only with the heap */
    uint32_t pad;
    struct wm_heap *heap;
    struct wm_harena *arena;
    uintptr_t base;
    size_t reserve, commit;
    uintptr_t first;
    uintptr_t tail; /* the block ending at base + commit (0 when there is none) */
};

/* A large block: this record at its base, the header at base + 48, the data at base + 64. */
struct wm_hlarge {
    uint32_t magic;
    uint32_t pad;
    struct wm_heap *heap;
    struct wm_hlarge *next, *prev;
    size_t reserve, commit;
    struct wm_hblk h;
};

#define WM_HEAP_NBINS 128u

/* A lock shard: its own segments and free lists.  Blocks go back to the arena that owns
 * their segment, whichever thread frees them. */
struct wm_harena {
    pthread_mutex_t lock;
    struct wm_heap *heap;
    unsigned idx;
    unsigned nsegs;
    struct wm_hseg *last; /* the newest segment, the one that grows */
    /* Blocks other threads gave back while the lock was busy (a lock-free stack, linked
     * through the blocks' first word): freed by whoever takes the lock next. */
    _Atomic(void *) remote;
    uint64_t bitmap[WM_HEAP_NBINS / 64];
    struct wm_hfree *bins[WM_HEAP_NBINS];
};

struct wm_heap {
    struct wm_hseg seg0; /* first: the heap handle is its first region's base */
    uint32_t magic;
    ULONG flags;         /* HeapCreate's flags (HEAP_GROWABLE set when the maximum was 0) */
    uint64_t id;         /* never reused: thread caches tell a new heap at an old address */
    uint64_t secret;     /* header checksum key */
    size_t max;          /* a fixed heap's reserve (0: growable) */
    size_t min_commit;   /* never decommitted below this in region 0 */
    pthread_mutex_t big; /* HeapLock; taken before the arena locks */
    pthread_t big_owner; /* who holds it through HeapLock, and how deep (HeapUnlock) */
    unsigned big_depth;
    pthread_mutex_t seglock; /* segs[], large list, arenas[] creation */
    struct wm_hseg *segs[WM_HEAP_MAX_SEGS];
    unsigned nsegs;
    struct wm_hlarge *large;
    _Atomic(struct wm_harena *) arenas[WM_HEAP_NARENA];
    atomic_uint lfh;                   /* front end on (compatibility 2) */
    uint8_t lfh_count[WM_HEAP_NCLASS]; /* racy counters: only a trigger */
    struct wm_heap *reg_next;          /* process list (GetProcessHeaps) */
    struct wm_harena arena0;
};

/* ---- heapvm.c: memory through the Nt calls, and the granule map ------------------------ */

NTSTATUS wm_heapvm_reserve(size_t size, ULONG prot, uintptr_t *base);
NTSTATUS wm_heapvm_commit(uintptr_t addr, size_t size, ULONG prot);
/* Decommit or release (type MEM_DECOMMIT / MEM_RELEASE, size 0 to release), running the
 * secure memory cache callbacks and retrying once when the range is secured. */
NTSTATUS wm_heapvm_free(uintptr_t addr, size_t size, ULONG type);
/* The segment or large-block record owning addr (its first field is the magic), or NULL:
 * addr >> 32 picks a table of 65,536 owners, one per 64 KiB granule of that 4 GiB. */
extern void **wm_heapvm_l1[1u << 16]; /* read and written with __atomic builtins */
static inline void *wm_heapvm_owner(uintptr_t addr)
{
    uintptr_t hi = addr >> 32;
    if (hi >= (1u << 16))
        return NULL;
    void **l2 = __atomic_load_n(&wm_heapvm_l1[hi], __ATOMIC_ACQUIRE);
    if (!l2)
        return NULL;
    return __atomic_load_n(&l2[(addr >> 16) & 0xffff], __ATOMIC_ACQUIRE);
}
NTSTATUS wm_heapvm_map(uintptr_t base, size_t size, void *owner);
void wm_heapvm_unmap(uintptr_t base, size_t size);
/* Around fork(): hold (true) or release (false) the map's lock. */
void wm_heapvm_fork_lock(bool lock);
/* In a fork()ed child: the map's lock made anew. */
void wm_heapvm_fork_child(void);

/* ---- heapseg.c: the back end: regions, blocks, bins ------------------------------------- */

/* Header fields are read without the owning lock (a block's owner frees it while another
 * thread merges its neighbour and rewrites its prev and check; HeapWalk reads cached blocks'
 * states): relaxed atomic accesses, plain loads and stores on every CPU winmem runs on. */
#define WM_RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WM_WR(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static inline uint16_t wm_heapseg_sum_of(const struct wm_heap *h, const struct wm_hblk *b,
                                         uint32_t size, uint32_t prev)
{
    uint64_t x = ((uint64_t)size << 32 | prev) ^ (uintptr_t)b ^ h->secret;
    x *= 0x9e3779b97f4a7c15ull;
    return (uint16_t)(x >> 48);
}

static inline uint16_t wm_heapseg_sum(const struct wm_heap *h, const struct wm_hblk *b)
{
    return wm_heapseg_sum_of(h, b, WM_RD(b->size), WM_RD(b->prev));
}

static inline void wm_heapseg_seal(const struct wm_heap *h, struct wm_hblk *b)
{
    WM_WR(b->check, wm_heapseg_sum(h, b));
}

static inline bool wm_heapseg_intact(const struct wm_heap *h, const struct wm_hblk *b)
{
    uint8_t st = WM_RD(b->state);
    return WM_RD(b->check) == wm_heapseg_sum(h, b) &&
           WM_RD(b->size) >= WM_HEAP_MIN_BLOCK / WM_HEAP_GRAN &&
           (st == WM_HBLK_FREE || st == WM_HBLK_BUSY || st == WM_HBLK_CACHED);
}
/* Initialise an arena whose first region is [base, base+reserve), commit bytes committed,
 * blocks starting at first. */
void wm_heapseg_arena_init(struct wm_heap *h, struct wm_harena *a, unsigned idx);
/* Register a region with the heap (index, map); caller holds the arena lock. */
NTSTATUS wm_heapseg_add_locked(struct wm_harena *a, struct wm_hseg *s, uintptr_t base,
                               size_t reserve, size_t commit, size_t header, bool pinned);
/* A busy block of gross bytes (multiple of 16, >= 32). */
NTSTATUS wm_heapseg_alloc_locked(struct wm_harena *a, size_t gross, struct wm_hblk **out);
/* Free a busy or cached block; STATUS_HEAP_CORRUPTION when a neighbour's header is damaged. */
NTSTATUS wm_heapseg_free_locked(struct wm_harena *a, struct wm_hseg *s, struct wm_hblk *b);
/* Resize a busy block in place to gross bytes; false when it cannot. */
bool wm_heapseg_resize_locked(struct wm_harena *a, struct wm_hseg *s, struct wm_hblk *b,
                              size_t gross);
/* Give back free tails (and empty regions other than each arena's first); bytes of the
 * largest free block left. */
size_t wm_heapseg_compact_locked(struct wm_harena *a);
/* Check every block of a region; the damaged header or NULL. */
const struct wm_hblk *wm_heapseg_check(const struct wm_heap *h, const struct wm_hseg *s);
/* The region holding block data p of heap h, or NULL when p is not a block of h. */
struct wm_hseg *wm_heapseg_find(const struct wm_heap *h, const void *p, struct wm_hblk **blk);
/* Release every region and large block of the heap (HeapDestroy). */
void wm_heapseg_release_all(struct wm_heap *h);

/* ---- the front end (inline: the fast paths of HeapAlloc and HeapFree) ------------------- */

#ifdef WM_ASAN
#define WM_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define WM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else /* not evaluated: a header's size is an atomic load the compiler would keep */
#define WM_POISON(p, n) ((void)sizeof(p), (void)sizeof(n))
#define WM_UNPOISON(p, n) ((void)sizeof(p), (void)sizeof(n))
#endif

/* A cached block's first word links it to the next one of its size class. */
static inline void *wm_heap_link_get(void *p)
{
    WM_UNPOISON(p, sizeof(void *));
    void *n = *(void **)p;
    WM_POISON(p, sizeof(void *));
    return n;
}

static inline void wm_heap_link_set(void *p, void *n)
{
    WM_UNPOISON(p, sizeof(void *));
    *(void **)p = n;
    WM_POISON(p, sizeof(void *));
}

/* A block's size for a request: header included, 16-byte granules, at least 32 bytes. */
static inline size_t wm_heap_gross(SIZE_T size)
{
    size_t g = (size + WM_HEAP_HDR + WM_HEAP_GRAN - 1) & ~(size_t)(WM_HEAP_GRAN - 1);
    return g < WM_HEAP_MIN_BLOCK ? WM_HEAP_MIN_BLOCK : g;
}

/* Size classes: 32..1024 by 16 (0..62), then up to 4224 by 128 (63..87).  A request takes the
 * class at or above its size; a freed block goes to the class at or below its size. */
static inline unsigned wm_heap_class_ceil(size_t gross)
{
    if (gross <= 1024)
        return (unsigned)(gross / 16 - 2);
    return 62 + (unsigned)((gross - 1024 + 127) / 128);
}

static inline unsigned wm_heap_class_floor(size_t gross)
{
    if (gross <= 1024)
        return (unsigned)(gross / 16 - 2);
    return 62 + (unsigned)((gross - 1024) / 128);
}

static inline size_t wm_heap_class_size(unsigned c)
{
    return c < 63 ? (size_t)(c + 2) * 16 : 1024 + (size_t)(c - 62) * 128;
}

static inline unsigned wm_heap_class_cap(unsigned c)
{
    return c < 63 ? 32 : 16;
}

struct wm_hcache_bin {
    void *head;
    uint32_t count;
};

/* One thread's cache of freed blocks of one heap (the one it used last). */
struct wm_hcache {
    void *block;          /* the process-heap block this cache lives in */
    struct wm_heap *heap; /* the heap these blocks belong to (checked with id) */
    uint64_t id;
    unsigned misses; /* calls for another heap since; past a bound the cache moves */
    struct wm_hcache_bin bins[WM_HEAP_NCLASS];
};

/* Initial-exec TLS: one load with no call (a shared library's default model calls
 * __tls_get_addr on every access).  NULL until the thread first uses a front end. */
extern __thread struct wm_hcache *wm_heap_tcp __attribute__((tls_model("initial-exec")));

/* Mark b busy with the size asked for and hand out its data. */
static inline void *wm_heap_finish(struct wm_hblk *b, SIZE_T size, ULONG flags)
{
    WM_WR(b->req, (uint32_t)size);
    WM_WR(b->state, WM_HBLK_BUSY);
    void *p = (void *)((uintptr_t)b + WM_HEAP_HDR);
    WM_UNPOISON(p, (size_t)WM_RD(b->size) * WM_HEAP_GRAN - WM_HEAP_HDR);
    if (flags & HEAP_ZERO_MEMORY)
        __builtin_memset(p, 0, size);
    return p;
}

/* HeapAlloc from this thread's cache; NULL: take the slow path (which also reports a cache
 * entry that is not a cached block as corruption). */
static inline void *wm_heap_alloc_fast(HANDLE handle, ULONG flags, SIZE_T size)
{
    struct wm_heap *h = handle;
    struct wm_hcache *c = wm_heap_tcp;
    if (size > 4096 || !c || c->heap != h || !h || c->id != h->id)
        return NULL;
    struct wm_hcache_bin *bin = &c->bins[wm_heap_class_ceil(wm_heap_gross(size))];
    void *p = bin->head;
    if (!p)
        return NULL;
    struct wm_hblk *b = (struct wm_hblk *)((uintptr_t)p - WM_HEAP_HDR);
    if (WM_RD(b->state) != WM_HBLK_CACHED)
        return NULL;
    bin->head = wm_heap_link_get(p);
    bin->count--;
    return wm_heap_finish(b, size, flags);
}

void wm_heapcache_drain(struct wm_hcache *c, unsigned only_class, unsigned keep);

/* HeapFree into this thread's cache: true when done; false: take the slow path.  The pointer
 * is looked up in the granule map before anything at it is read. */
static inline bool wm_heap_free_fast(HANDLE handle, void *p)
{
    struct wm_heap *h = handle;
    struct wm_hcache *c = wm_heap_tcp;
    uintptr_t a = (uintptr_t)p;
    if (!c || c->heap != h || !h || c->id != h->id || (a & (WM_HEAP_GRAN - 1)))
        return false;
    struct wm_hseg *s = (struct wm_hseg *)wm_heapvm_owner(a);
    if (!s || s->magic != WM_HSEG_MAGIC || s->heap != h || a < s->first + WM_HEAP_HDR ||
        a >= s->base + WM_RD(s->commit))
        return false;
    struct wm_hblk *b = (struct wm_hblk *)(a - WM_HEAP_HDR);
    uint32_t size = WM_RD(b->size); /* each field read once: another thread may rewrite prev */
    size_t gross = (size_t)size * WM_HEAP_GRAN;
    if (WM_RD(b->state) != WM_HBLK_BUSY || gross > WM_HEAP_CACHE_MAX_GROSS ||
        size < WM_HEAP_MIN_BLOCK / WM_HEAP_GRAN ||
        WM_RD(b->check) != wm_heapseg_sum_of(h, b, size, WM_RD(b->prev)))
        return false;
    unsigned k = wm_heap_class_floor(gross);
    struct wm_hcache_bin *bin = &c->bins[k];
    if (bin->count >= wm_heap_class_cap(k))
        wm_heapcache_drain(c, k, wm_heap_class_cap(k) / 2);
    WM_WR(b->state, WM_HBLK_CACHED);
    WM_POISON(p, gross - WM_HEAP_HDR);
    wm_heap_link_set(p, bin->head);
    bin->head = p;
    bin->count++;
    return true;
}

/* ---- heapcache.c: the front end's slow paths, arenas, remote frees ---------------------- */

/* Free what other threads left on a's remote stack; caller holds a's lock. */
void wm_heapcache_collect_locked(struct wm_harena *a);
/* The arena this thread allocates from in h (its own once the front end is on). */
struct wm_harena *wm_heapcache_arena(struct wm_heap *h);
/* Point this thread's cache at h (false: it stays with another heap this time). */
bool wm_heapcache_adopt(struct wm_heap *h);
/* Fill this thread's cache for class k from the back end and hand out one block. */
NTSTATUS wm_heapcache_refill(struct wm_heap *h, unsigned k, struct wm_hblk **out);
/* Give this thread's cached blocks of h back to it (HeapCompact). */
void wm_heapcache_flush(struct wm_heap *h);
/* Drop this thread's cache of h without touching its blocks (HeapDestroy). */
void wm_heapcache_forget_heap(struct wm_heap *h);

/* ---- heap.c: the heaps and the API's core ----------------------------------- */

/* A heap handle's heap, or NULL when the handle is not a live heap. */
struct wm_heap *wm_heap_from_handle(HANDLE handle);
void wm_heap_lock_all(struct wm_heap *h);
void wm_heap_unlock_all(struct wm_heap *h);
/* Report corruption at p: raises STATUS_HEAP_CORRUPTION (noncontinuable) when termination on
 * corruption is on; returns STATUS_INVALID_PARAMETER otherwise. */
NTSTATUS wm_heap_corrupt(struct wm_heap *h, const void *p);
bool wm_heap_terminate_on_corruption(void);
void wm_heap_set_terminate_on_corruption(void);
/* Give c's blocks back if their heap still exists (thread exit, moving to another heap). */
void wm_heap_drain_if_alive(struct wm_hcache *c);
NTSTATUS wm_heap_free_slow(struct wm_heap *h, ULONG flags, void *p);

NTSTATUS wm_heap_create(ULONG flags, SIZE_T initial, SIZE_T max, HANDLE *out);
NTSTATUS wm_heap_destroy(HANDLE heap);
NTSTATUS wm_heap_alloc(HANDLE heap, ULONG flags, SIZE_T size, void **out);
NTSTATUS wm_heap_realloc(HANDLE heap, ULONG flags, void *p, SIZE_T size, void **out);
NTSTATUS wm_heap_free(HANDLE heap, ULONG flags, void *p);
NTSTATUS wm_heap_size(HANDLE heap, ULONG flags, const void *p, SIZE_T *out);
/* True (and its size) when p is a busy block of heap; never reports corruption, so it serves
 * as a probe of an untrusted pointer (LocalFree, GlobalSize ...). */
bool wm_heap_probe(HANDLE heap, const void *p, SIZE_T *size);
HANDLE wm_heap_process(void);
ULONG wm_heap_list(ULONG count, HANDLE *out);
/* fn on every heap in creation order (the process heap flagged), with the list locked; it is
 * not created here.  With wait false a busy list is not waited for (false), so a debugger may
 * call it with every thread stopped wherever it was. */
bool wm_heap_each(bool wait, void (*fn)(void *ctx, struct wm_heap *h, bool process), void *ctx);

/* ---- heapwalk.c: HeapWalk, HeapValidate, HeapCompact, the information classes ----------- */

NTSTATUS wm_heapwalk_next(HANDLE heap, PROCESS_HEAP_ENTRY *e);
/* The address-space picture's walk: fn on each region (index < WM_HEAP_MAX_SEGS) and large
 * block (index WM_HEAP_MAX_SEGS) of h with its reserve and commit, as HeapWalk numbers them,
 * under the segment lock alone (a leaf lock: no block operation is waited for).  With wait
 * false a busy lock is not waited for (false). */
typedef void (*wm_heapwalk_region_fn)(void *ctx, const struct wm_heap *h, unsigned index,
                                      uintptr_t base, size_t reserve, size_t commit);
bool wm_heapwalk_regions(struct wm_heap *h, bool wait, wm_heapwalk_region_fn fn, void *ctx);
/* STATUS_SUCCESS when valid; STATUS_ACCESS_VIOLATION for an address nothing is mapped at. */
NTSTATUS wm_heapwalk_validate(HANDLE heap, ULONG flags, const void *p);
NTSTATUS wm_heapwalk_compact(HANDLE heap, ULONG flags, SIZE_T *largest);
NTSTATUS wm_heapwalk_lock(HANDLE heap, bool lock);
NTSTATUS wm_heapwalk_set_info(HANDLE heap, HEAP_INFORMATION_CLASS cls, PVOID info, SIZE_T len);
NTSTATUS wm_heapwalk_query_info(HANDLE heap, HEAP_INFORMATION_CLASS cls, PVOID info, SIZE_T len,
                                SIZE_T *ret);

#endif
