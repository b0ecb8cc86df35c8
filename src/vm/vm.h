/*
 * vm.h - the pure model of the address space: reservations (regions) in an ordered index
 * (a two-level sorted array with a hash by base beside it), each with its pages' attributes
 * as runs, and the PAGE_* tables.
 *
 * Layer rules, stated once: nothing in src/vm/ makes a system call, takes a lock or touches
 * signals (a failed assertion, check.h, is the one way out through os/).  Callers serialise
 * mutations (mm/ holds the VM lock for writing); the lookups marked _sigsafe only read and may
 * run in the fault handler while no writer is active; those marked _lockfree run against a
 * writer and ask a valid(ctx) callback (the VM sequence check) before following any pointer
 * they read.  Memory for the model comes from the
 * arena (arena.c: malloc until mm/ installs its mmap source), and only the functions that
 * say so can fail.
 */
#ifndef WM_VM_H
#define WM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"

/* A relaxed atomic load: how lock-free readers read fields writers may change under them. */
#define WM_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A function on the path of a call made in a loop between system calls (VirtualProtect's:
 * the win32 layer, the argument copies, the lock, the index, the region's runs).  GCC and
 * clang put hot functions in .text.hot, which the linker gathers in one place: the path then
 * spans 3 code pages instead of 15.  Between two mprotects the kernel evicts the path from
 * the caches and TLBs and the path evicts the kernel's, so each code page it touches costs
 * misses on both sides; spread out, that was 70-80 ns a call, more than the path's own work
 * (bench/README.md, protect_1page; tests/layout/hotpath.cmake checks the span). */
#define WM_HOT __attribute__((hot))

/* ---- arena.c: type-stable memory for everything lock-free readers touch ---------------- */

/* Memory that is never returned to the system: freed blocks go back to a per-size free list,
 * so a racing reader only ever reads mapped (if stale) bytes.  Callers serialise. */
void *wm_arena_alloc(size_t n);
void wm_arena_free(void *p, size_t n);
/* Where new chunks come from (NULL: malloc). */
void wm_arena_set_source(void *(*chunk_source)(size_t));
/* How a freed block of 64 KiB or more (the index's top array, the base hash, a long run
 * array or write-watch bitmap) lets its pages go: called
 * with the block, it keeps the first word (the free list's link) and the mapping, so readers
 * still read mapped (now zero) bytes, but a table that was outgrown stops costing RAM.
 * NULL: kept resident. */
void wm_arena_set_discard(void (*discard)(void *block, size_t n));
/* Roughly what the arena keeps resident: every byte carved from a chunk or taken from the
 * source, less the freed blocks the discard let go (a smaller freed block stays resident on
 * its free list).  The bookkeeping test divides its growth by the regions added. */
size_t wm_arena_footprint(void);
/* With checks on (check.h), every arena call asks held() that its caller serialises (mm/
 * installs "this thread holds the VM write lock"); NULL: not asked. */
void wm_arena_set_serial_check(bool (*held)(void));

/* ---- prot.c: PAGE_* validation and translation ---------------------------------------- */

/* Kernel access bits, independent of <sys/mman.h> so this layer stays system-free. */
enum { WM_ACC_R = 1, WM_ACC_W = 2, WM_ACC_X = 4 };

/* Which call is validating a protection: the same value is legal for one and not another. */
enum wm_prot_use {
    WM_PROT_ALLOC,   /* VirtualAlloc / NtAllocateVirtualMemory on private memory */
    WM_PROT_PROTECT, /* VirtualProtect on private memory */
    WM_PROT_VIEW,    /* VirtualProtect on a view: copy-on-write protections exist there */
};

#define WM_PAGE_BASE_MASK 0xffu
#define WM_PAGE_MOD_MASK 0x700u /* GUARD | NOCACHE | WRITECOMBINE */

/* True when prot is acceptable for `use` on private memory, as Microsoft documents. */
bool wm_prot_valid(uint32_t prot, enum wm_prot_use use);
/* The kernel access a page with this PAGE_* value gets (PAGE_GUARD pages get none). */
unsigned wm_prot_access(uint32_t prot);
/* The PAGE_* base protection for kernel access bits (for memory winmem does not own). */
uint32_t wm_prot_from_access(unsigned acc);
/* The protection a page really gets when `prot` is asked for inside an allocation made with
 * alloc_prot: the caching attribute (PAGE_NOCACHE / PAGE_WRITECOMBINE) belongs to the
 * allocation, and the CFG flag PAGE_TARGETS_INVALID / _NO_UPDATE is not a protection. */
uint32_t wm_prot_effective(uint32_t alloc_prot, uint32_t prot);
/* PAGE_WRITECOPY or PAGE_EXECUTE_WRITECOPY (with any modifier). */
bool wm_prot_is_cow(uint32_t prot);
/* What a copy-on-write protection becomes once the page is written (READWRITE /
 * EXECUTE_READWRITE, modifiers kept); other protections are returned as they are. */
uint32_t wm_prot_written(uint32_t prot);
/* A protection's access class, for the rule that a view's pages stay within its own class:
 * READONLY and WRITECOPY read, READWRITE read-write, EXECUTE* read-execute, and so on. */
unsigned wm_prot_class(uint32_t prot);
/* One of the six protections a section can have (READONLY ... EXECUTE_WRITECOPY). */
bool wm_prot_section_valid(uint32_t prot);
/* The same, or PAGE_NOACCESS: what a view can be mapped with. */
bool wm_prot_view_valid(uint32_t prot);
/* The SECTION_MAP_* rights a view protection needs from the section handle. */
uint32_t wm_prot_view_rights(uint32_t view_prot);
/* The rights a section of this protection can grant a handle. */
uint32_t wm_prot_section_rights(uint32_t prot);
/* The view protection MapViewOfFile's FILE_MAP_* access asks for. */
uint32_t wm_prot_from_file_map(uint32_t access);
/* True when the protection allows the given access bits (a copy-on-write page allows writing,
 * though its kernel access is read-only until the first write). */
bool wm_prot_allows(uint32_t prot, unsigned acc);

/* ---- region.c: one reservation and its runs ------------------------------------------ */

enum { WM_STATE_RESERVED = 0, WM_STATE_COMMITTED = 1 };
/* Run flags. */
enum {
    WM_RUN_LOCKED = 1u, /* VirtualLock'ed */
    WM_RUN_COPIED = 2u, /* a copy-on-write page already written: it has its private copy */
};

/* Pages [off, next run's off) share state, protection and flags. */
struct wm_run {
    size_t off;     /* byte offset from the region base, page aligned */
    uint32_t prot;  /* PAGE_* value with modifiers; 0 while reserved */
    uint16_t state; /* WM_STATE_* */
    uint16_t flags; /* WM_RUN_* */
};

/* Region flags. */
enum {
    WM_REGION_LARGE = 1u,        /* backed by large pages */
    WM_REGION_VIEW = 2u,         /* a view of a section (ext->object, ext->offset say which) */
    WM_REGION_VIEW_PRIVATE = 4u, /* a copy-on-write view, mapped MAP_PRIVATE */
    WM_REGION_WATCHED = 8u,      /* MEM_WRITE_WATCH: ext->dirty holds its written pages */
    /* MEM_RESERVE_PLACEHOLDER: reserved address space that can be split, coalesced and replaced
     * (its one run is reserved; alloc_prot PAGE_NOACCESS; MEM_PRIVATE). */
    WM_REGION_PLACEHOLDER = 0x10u,
    /* Made by replacing a placeholder (MEM_REPLACE_PLACEHOLDER): MEM_PRESERVE_PLACEHOLDER turns
     * it back into one. */
    WM_REGION_REPLACED = 0x20u,
    /* Bits 8-14 (WM_REGION_PLACER): the thread that reserved the region. */
    /* Some page has been executable, so its call targets were decided (mm/cfg.c); until then
     * a page made executable with PAGE_TARGETS_NO_UPDATE has none valid. */
    WM_REGION_CFG = 0x8000u,
};

/* What only views and watched regions need, allocated when a region becomes one, so the
 * million plain reservations a program may hold do not carry it. */
struct wm_region_ext {
    void *object;    /* a view's section (mm/section.c), holding a reference */
    uint64_t offset; /* a view's offset into its section */
    /* A watched region's pages written since their last reset, one bit per page (bit i of
     * word i / 64 is page i), kept apart from the runs: a bit is set from the fault handler
     * with no allocation, it survives decommit and protection changes as Windows' does, and
     * 4 GiB watched costs 128 KiB.  NULL when not watched. */
    uint64_t *dirty;
    size_t dirty_words;
};

/* One cache line: a lock-free query of a one-run region reads nothing else, and a million
 * reservations cost 64 MB here (the index entry and the hash slots add 32 to 48 bytes each). */
struct wm_region {
    uintptr_t base;
    size_t size;         /* page multiple */
    struct wm_run *runs; /* sorted by off, runs[0].off == 0, neighbours differ */
    uint32_t nruns, cap;
    uint32_t alloc_prot;       /* AllocationProtect */
    uint16_t type_code;        /* MEM_PRIVATE / MEM_MAPPED / MEM_IMAGE >> 16: wm_region_type() */
    uint16_t flags;            /* WM_REGION_* */
    struct wm_region_ext *ext; /* NULL unless a view or watched */
    /* A fresh reservation has one run: it lives here, so a region is one allocation until
     * its pages start to differ. */
    struct wm_run inline_run[1];
};

_Static_assert(sizeof(struct wm_region) == 64, "a region is one 64-byte arena block");

/* Which thread reserved a region, as a tag 1..127 that mm/ gives each thread (0: none, as
 * for views), kept in flags bits 8-14 so a region stays one cache line: placement keeps
 * different threads' reservations from touching (mm/place.c). */
#define WM_REGION_PLACER_SHIFT 8
#define WM_REGION_PLACER 0x7f00u

static inline unsigned wm_region_placer(const struct wm_region *r)
{
    return (r->flags & WM_REGION_PLACER) >> WM_REGION_PLACER_SHIFT;
}

/* The region's MEM_PRIVATE / MEM_MAPPED / MEM_IMAGE (0 for a section's commit record). */
static inline uint32_t wm_region_type(const struct wm_region *r)
{
    return (uint32_t)r->type_code << 16;
}

/* A new region whose pages all have `state`/`prot`; NULL when out of memory. */
struct wm_region *wm_region_new(uintptr_t base, size_t size, uint32_t alloc_prot, uint32_t type,
                                uint32_t state, uint32_t prot);
void wm_region_free(struct wm_region *r);
/* Make r a placeholder again, or a plain region: one run (state, prot) over the whole region,
 * the given allocation protection and type, flags replaced by `flags`, and its extension
 * (view section, write-watch bitmap) freed: the caller releases a view's section first.
 * Never fails. */
void wm_region_reset(struct wm_region *r, uint32_t alloc_prot, uint32_t type, uint16_t flags,
                     uint32_t state, uint32_t prot);
/* A new region for [off, off+len) of r (off and len page multiples, inside r), with r's
 * allocation protection, type, runs and flags, but no extension (only for regions that have
 * none: not a view, not watched); NULL when out of memory.  r is not changed. */
struct wm_region *wm_region_slice(const struct wm_region *r, size_t off, size_t len);
/* r ends at size now (0 < size <= r->size): its runs past it are dropped.  Never fails. */
void wm_region_truncate(struct wm_region *r, size_t size);
/* Make r a watched region (WM_REGION_WATCHED) with every page clean; -1 when out of memory. */
int wm_region_watch(struct wm_region *r, size_t page_size);
/* Make r a view of object at offset (WM_REGION_VIEW, and WM_REGION_VIEW_PRIVATE when
 * private); -1 when out of memory. */
int wm_region_view(struct wm_region *r, void *object, uint64_t offset, bool private_view);
/* Index of the run holding byte offset off (off < r->size). */
uint32_t wm_region_run_index(const struct wm_region *r, size_t off);
/* End offset of run i. */
size_t wm_region_run_end(const struct wm_region *r, uint32_t i);
/* Make room for the two extra runs any one wm_region_set can create; -1 when out of memory.
 * Call it before the system call, so the model update after it cannot fail. */
int wm_region_reserve_runs(struct wm_region *r);
/* The same for an update that splits up to n more runs. */
int wm_region_reserve_runs_n(struct wm_region *r, uint32_t n);
/* Pages [off, off+len) get state and protection; flags become (flags & keep) | set.
 * Needs wm_region_reserve_runs first; never fails. */
void wm_region_set(struct wm_region *r, size_t off, size_t len, uint32_t state, uint32_t prot,
                   uint32_t keep, uint32_t set);
/* Pages [off, off+len) keep state; protection becomes prot where committed. */
void wm_region_protect(struct wm_region *r, size_t off, size_t len, uint32_t prot);
/* Pages [off, off+len) keep state and protection; their flags gain set and lose clear. */
void wm_region_set_flags(struct wm_region *r, size_t off, size_t len, uint32_t set, uint32_t clear);
/* True when every page of [off, off+len) is committed. */
bool wm_region_all_committed(const struct wm_region *r, size_t off, size_t len);
/* True when every page of [off, off+len) has all the given run flags. */
bool wm_region_all_flagged(const struct wm_region *r, size_t off, size_t len, uint32_t flags);
/* Run-by-run walk of [off, off+len): calls fn for each piece with its clipped bounds. */
typedef int (*wm_region_walk_fn)(void *ctx, const struct wm_region *r, size_t off, size_t len,
                                 const struct wm_run *run);
int wm_region_walk(const struct wm_region *r, size_t off, size_t len, wm_region_walk_fn fn,
                   void *ctx);
/* Length from off to the end of the pages sharing off's state and protection
 * (what VirtualQuery reports as RegionSize). */
size_t wm_region_extent(const struct wm_region *r, size_t off);
/* Invariant check; returns NULL or a description of the first violation. */
const char *wm_region_check(const struct wm_region *r, size_t page_size);
/* How many runs [off, off+len) touches (room an update of it may need, split twice more). */
uint32_t wm_region_count_runs(const struct wm_region *r, size_t off, size_t len);

/* What a lock-free reader sees of a region at one address. */
struct wm_run_read {
    uintptr_t base;       /* the region's */
    size_t size;          /* the region's */
    uint32_t alloc_prot;  /* the region's */
    uint32_t type;        /* the region's */
    uint32_t state, prot; /* of the run holding the address */
    size_t end;           /* offset where the pages sharing that state and protection end */
};
/* Read the run holding addr without the lock: every field with an atomic load, and valid(ctx)
 * asked before the run array read from r is followed (r itself must be a region pointer the
 * caller validated), so a racing writer can make the answer wrong but never the read unsafe;
 * the caller checks the VM sequence afterwards.  false: the region looked inconsistent, addr
 * is past its end, or valid(ctx) said no. */
bool wm_region_read_lockfree(const struct wm_region *r, uintptr_t addr, struct wm_run_read *out,
                             bool (*valid)(void *ctx), void *ctx);

/* ---- space.c: the ordered index of regions --------------------------------------------- */

struct wm_top;

/* A region as VirtualQuery sees it when its one run is inline (state WM_SUMMARY_MANY: the
 * runs must be read, wm_region_read_lockfree). */
#define WM_SUMMARY_MANY 0xffffffffu
struct wm_summary {
    uintptr_t base;
    size_t size;
    uint32_t alloc_prot, type, state, prot;
};

struct wm_htab;

struct wm_space {
    struct wm_top *top;
    size_t count;
    struct wm_htab *hash; /* the same regions by exact base (basehash.c) */
};

/* Lookups are O(log n), read only, and safe to run against a concurrent writer: they may
 * then return a wrong region, never crash (the caller validates with the VM sequence). */
/* The region containing addr, or NULL (_sigsafe). */
struct wm_region *wm_space_find_sigsafe(const struct wm_space *s, uintptr_t addr);
/* The same without any lock: valid(ctx) is asked before each pointer read from shared memory
 * is followed; when it says no, the answer is NULL and meaningless (the caller retries). */
struct wm_region *wm_space_find_lockfree(const struct wm_space *s, uintptr_t addr,
                                         bool (*valid)(void *ctx), void *ctx,
                                         struct wm_summary *sum);
/* After any change to r's runs.  The index keeps nothing derived from them (a lookup reads
 * the region), so this only checks, when checks are on, that r is still indexed at its base. */
void wm_space_refresh(struct wm_space *s, const struct wm_region *r);
/* The region with the lowest base > addr, or NULL.  Reads only. */
struct wm_region *wm_space_next(const struct wm_space *s, uintptr_t addr);
/* The region with the highest base <= addr, or NULL (it may end before addr).  Reads only. */
struct wm_region *wm_space_prev(const struct wm_space *s, uintptr_t addr);
/* True when [addr, addr+len) overlaps any region. */
bool wm_space_overlaps(const struct wm_space *s, uintptr_t addr, size_t len);
/* 0, or -1 when out of memory (nothing changed). */
int wm_space_insert(struct wm_space *s, struct wm_region *r);
/* Leaves in the index, and (when cap is not NULL) the entries one leaf holds: for tests
 * and the bookkeeping figures. */
size_t wm_space_leaf_count(const struct wm_space *s, size_t *cap);
void wm_space_remove(struct wm_space *s, struct wm_region *r);
/* r takes old's place (the same base) in the index and the hash.  Never fails. */
void wm_space_swap(struct wm_space *s, struct wm_region *old, struct wm_region *r);
/* The region whose base is exactly `base`, from the hash (lock-free like
 * wm_space_find_lockfree: valid(ctx) before anything read is followed). */
struct wm_region *wm_space_find_base_lockfree(const struct wm_space *s, uintptr_t base,
                                              bool (*valid)(void *ctx), void *ctx);

/* ---- basehash.c: regions by exact base -------------------------------------------------- */

/* 0, or -1 when out of memory (nothing changed). */
int wm_basehash_insert(struct wm_htab **t, struct wm_region *r);
void wm_basehash_remove(struct wm_htab *t, const struct wm_region *r);
void wm_basehash_swap(struct wm_htab *t, const struct wm_region *old, struct wm_region *r);
struct wm_region *wm_basehash_find_lockfree(struct wm_htab *const *t, uintptr_t base,
                                            bool (*valid)(void *ctx), void *ctx);
size_t wm_basehash_count(const struct wm_htab *t);

/* Invariant check of the whole index (order, keys, no overlap, every region). */
const char *wm_space_check(const struct wm_space *s, size_t page_size);

#endif
