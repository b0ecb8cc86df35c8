/*
 * arena.c - type-stable memory for the model.
 *
 * Everything a lock-free reader may touch (regions, their run arrays, the index) comes from
 * here, and memory handed back is kept on a free list of its size class instead of being
 * returned to the system.  So a reader racing with a writer may read stale or recycled
 * bytes, which it then discards when its sequence check fails, but never unmapped memory.
 * Callers serialise (the VM write lock; checked when checks are on).  Chunks come from a
 * pluggable source: malloc by default, mmap once mm/ installs it (which also makes allocation
 * async-signal-safe).
 */
#include "vm.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SHIFT 5      /* 32 bytes */
#define MAX_SHIFT 30     /* 1 GiB: far beyond any run array winmem makes */
#define CHUNK (2u << 20) /* one transparent huge page where the kernel offers them */

struct free_block {
    struct free_block *next;
};

static struct free_block *free_list[MAX_SHIFT + 1];
static char *chunk_pos, *chunk_end;
/* A freed block this big has its pages discarded (when mm/ installs the discard): the base
 * hash's and the index's outgrown tables, which would otherwise stay resident on their free
 * lists (at 40,000 reservations they had cost another 26 bytes each). */
#define DISCARD_MIN (CHUNK / 32)
/* What wm_arena_footprint reports: bytes carved from chunks or taken from the source,
 * less the blocks of DISCARD_MIN and more sitting on free lists. */
static size_t footprint;

static void *malloc_source(size_t n)
{
    return malloc(n);
}

static void *(*source)(size_t) = malloc_source;
static void (*discard)(void *, size_t);
static bool (*serial_held)(void);

void wm_arena_set_serial_check(bool (*held)(void))
{
    serial_held = held;
}

void wm_arena_set_source(void *(*chunk_source)(size_t))
{
    source = chunk_source ? chunk_source : malloc_source;
}

void wm_arena_set_discard(void (*discard_pages)(void *, size_t))
{
    discard = discard_pages;
}

static unsigned class_of(size_t n)
{
    unsigned s = MIN_SHIFT;
    while (((size_t)1 << s) < n)
        s++;
    return s;
}

void *wm_arena_alloc(size_t n)
{
    WM_ASSERT(!serial_held || serial_held());
    unsigned c = class_of(n);
    size_t size = (size_t)1 << c;

    if (c > MAX_SHIFT)
        return NULL;
    if (free_list[c]) {
        struct free_block *b = free_list[c];
        free_list[c] = b->next;
        if (size >= DISCARD_MIN)
            footprint += size;
        return b;
    }
    if (size > CHUNK / 4) {
        void *p = source(size);
        if (p)
            footprint += size;
        return p;
    }
    /* Blocks of 64 bytes and more start on a 64-byte boundary: a region is one cache line,
     * and the base hash keeps a tag in the low bits of its pointer (basehash.c). */
    uintptr_t align = size < 64 ? size : 64;
    uintptr_t p = ((uintptr_t)chunk_pos + align - 1) & ~(align - 1);
    if (p > (uintptr_t)chunk_end || (uintptr_t)chunk_end - p < size) {
        char *chunk = source(CHUNK);
        if (!chunk)
            return NULL;
        /* The rest of the old chunk is abandoned: at most a quarter of a chunk.  A malloc'd
         * chunk may start off a 64-byte boundary: blocks are aligned within it. */
        chunk_pos = chunk;
        chunk_end = chunk + CHUNK;
        p = ((uintptr_t)chunk + align - 1) & ~(align - 1);
    }
    footprint += p + size - (uintptr_t)chunk_pos;
    chunk_pos = (char *)(p + size);
    return (void *)p;
}

void wm_arena_free(void *p, size_t n)
{
    WM_ASSERT(!p || !serial_held || serial_held());
    if (p) {
        unsigned c = class_of(n);
        struct free_block *b = p;
        b->next = free_list[c];
        free_list[c] = b;
        if (((size_t)1 << c) >= DISCARD_MIN) {
            footprint -= (size_t)1 << c;
            if (discard)
                discard(p, (size_t)1 << c);
        }
    }
}

size_t wm_arena_footprint(void)
{
    return footprint;
}
