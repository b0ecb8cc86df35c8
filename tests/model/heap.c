/*
 * Model-based randomized heap test: random HeapAlloc / HeapReAlloc (with HEAP_ZERO_MEMORY and
 * HEAP_REALLOC_IN_PLACE_ONLY) / HeapFree / HeapSize steps on a growable, a fixed and a
 * HEAP_NO_SERIALIZE heap, checked against a reference list of live blocks: every live block
 * keeps its contents (a pattern derived from its id) and its size, blocks never overlap, and
 * after every batch HeapWalk lists exactly the model's busy blocks (address and size), its
 * regions tile with blocks and uncommitted ranges, and HeapValidate agrees.  Sizes cover
 * zero, small, medium and large (own-allocation) blocks.
 *
 * Fixed seeds, so a failure reproduces; WINMEM_MODEL_SEED and WINMEM_MODEL_STEPS override.
 */
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wmtest.h"

#define MAXLIVE 600

struct blk {
    BYTE *p;
    SIZE_T size;
    uint32_t id;
};

static struct blk live[MAXLIVE];
static int nlive;
static uint64_t rs;
static uint32_t next_id = 1;

static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 11);
}

static BYTE pat(uint32_t id, SIZE_T i)
{
    return (BYTE)(id * 31u + (uint32_t)i * 7u + (uint32_t)(i >> 8));
}

static void fill(struct blk *b)
{
    for (SIZE_T i = 0; i < b->size; i++)
        b->p[i] = pat(b->id, i);
}

static int intact(const struct blk *b, SIZE_T upto)
{
    for (SIZE_T i = 0; i < upto && i < b->size; i++)
        if (b->p[i] != pat(b->id, i))
            return 0;
    return 1;
}

static SIZE_T pick_size(void)
{
    uint32_t r = rnd() % 1000;
    if (r < 5)
        return 0;
    if (r < 700)
        return rnd() % 256;
    if (r < 950)
        return rnd() % 8192;
    if (r < 995)
        return rnd() % 200000;
    return 0xFF000 + rnd() % 300000; /* a large block */
}

static int cmp_blk(const void *a, const void *b)
{
    const struct blk *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p;
}

/* HeapWalk agrees with the model; regions tile. */
static void check_walk(HANDLE h)
{
    PROCESS_HEAP_ENTRY e;
    int busy = 0, found = 0;
    BYTE *region_end = NULL, *expect = NULL;

    qsort(live, (size_t)nlive, sizeof(live[0]), cmp_blk);
    for (int i = 1; i < nlive; i++)
        if (live[i - 1].p + live[i - 1].size > live[i].p)
            WMT_FAIL("blocks %p (+%zu) and %p overlap", (void *)live[i - 1].p,
                     (size_t)live[i - 1].size, (void *)live[i].p);
    memset(&e, 0, sizeof(e));
    while (HeapWalk(h, &e)) {
        if (e.wFlags & PROCESS_HEAP_REGION) {
            if (expect && expect != region_end)
                WMT_FAIL("region before %p does not tile: ends at %p", e.lpData, (void *)expect);
            expect = (BYTE *)e.Region.lpFirstBlock - 16;
            region_end = (BYTE *)e.Region.lpLastBlock;
            if ((BYTE *)e.lpData + e.cbData != expect)
                WMT_FAIL("region %p: header does not end at the first block", e.lpData);
            continue;
        }
        if (e.wFlags & PROCESS_HEAP_UNCOMMITTED_RANGE) {
            if ((BYTE *)e.lpData != expect)
                WMT_FAIL("uncommitted range at %p, expected %p", e.lpData, (void *)expect);
            expect = (BYTE *)e.lpData + e.cbData;
            continue;
        }
        if (e.iRegionIndex != 64) {
            if ((BYTE *)e.lpData - 16 != expect)
                WMT_FAIL("block at %p, expected %p", e.lpData, (void *)(expect + 16));
            expect = (BYTE *)e.lpData + e.cbData + e.cbOverhead;
        }
        if (!(e.wFlags & PROCESS_HEAP_ENTRY_BUSY))
            continue;
        busy++;
        struct blk key = { (BYTE *)e.lpData, 0, 0 };
        struct blk *m = bsearch(&key, live, (size_t)nlive, sizeof(live[0]), cmp_blk);
        if (!m)
            WMT_FAIL("HeapWalk lists busy %p, not in the model", e.lpData);
        else if (m->size != e.cbData)
            WMT_FAIL("HeapWalk size of %p: %lu, model %zu", e.lpData, (unsigned long)e.cbData,
                     (size_t)m->size);
        else
            found++;
    }
    CHECK_EQ(GetLastError(), ERROR_NO_MORE_ITEMS);
    CHECK_EQ(busy, nlive);
    CHECK_EQ(found, nlive);
}

static void run(HANDLE h, long steps, int fixed)
{
    for (long s = 0; s < steps; s++) {
        uint32_t op = rnd() % 100;
        if (op < 45 && nlive < MAXLIVE) {
            SIZE_T size = pick_size();
            DWORD fl = (rnd() & 1) ? HEAP_ZERO_MEMORY : 0;
            BYTE *p = HeapAlloc(h, fl, size);
            if (!p) {
                if (!fixed && size < 0x100000)
                    WMT_FAIL("HeapAlloc(%zu) failed, error %lu", (size_t)size,
                             (unsigned long)GetLastError());
                else
                    CHECK_EQ(GetLastError(), ERROR_NOT_ENOUGH_MEMORY);
                continue;
            }
            if ((uintptr_t)p & 15)
                WMT_FAIL("misaligned %p", (void *)p);
            if (fl) {
                for (SIZE_T i = 0; i < size; i++)
                    if (p[i]) {
                        WMT_FAIL("HEAP_ZERO_MEMORY block %p not zero at %zu", (void *)p, (size_t)i);
                        break;
                    }
            }
            struct blk *b = &live[nlive++];
            b->p = p;
            b->size = size;
            b->id = next_id++;
            fill(b);
        } else if (op < 80 && nlive) {
            int i = (int)(rnd() % (uint32_t)nlive);
            if (!intact(&live[i], live[i].size))
                WMT_FAIL("block %p (id %u) damaged", (void *)live[i].p, live[i].id);
            CHECK_EQ(HeapSize(h, 0, live[i].p), live[i].size);
            CHECK(HeapFree(h, 0, live[i].p));
            live[i] = live[--nlive];
        } else if (op < 98 && nlive) {
            int i = (int)(rnd() % (uint32_t)nlive);
            struct blk *b = &live[i];
            SIZE_T size = (rnd() & 3) ? pick_size() : b->size + rnd() % 64;
            DWORD fl = rnd() % 4 == 0 ? HEAP_REALLOC_IN_PLACE_ONLY : 0;
            if (rnd() & 1)
                fl |= HEAP_ZERO_MEMORY;
            BYTE *q = HeapReAlloc(h, fl, b->p, size);
            if (!q) {
                if (!(fl & HEAP_REALLOC_IN_PLACE_ONLY) && !fixed && size < 0x100000)
                    WMT_FAIL("HeapReAlloc(%zu) failed", (size_t)size);
                CHECK_EQ(HeapSize(h, 0, b->p), b->size);
                continue;
            }
            if ((fl & HEAP_REALLOC_IN_PLACE_ONLY) && q != b->p)
                WMT_FAIL("in-place HeapReAlloc moved %p to %p", (void *)b->p, (void *)q);
            SIZE_T keep = b->size < size ? b->size : size;
            struct blk nb = { q, size, b->id };
            if (!intact(&nb, keep))
                WMT_FAIL("HeapReAlloc lost contents of id %u", b->id);
            if ((fl & HEAP_ZERO_MEMORY) && size > keep)
                for (SIZE_T k = keep; k < size; k++)
                    if (q[k]) {
                        WMT_FAIL("HeapReAlloc growth not zero at %zu", (size_t)k);
                        break;
                    }
            b->p = q;
            b->size = size;
            b->id = next_id++;
            fill(b);
        } else if (nlive) {
            CHECK(HeapValidate(h, 0, live[rnd() % (uint32_t)nlive].p));
        }
        if (s % 500 == 499) {
            CHECK(HeapValidate(h, 0, NULL));
            for (int i = 0; i < nlive; i++)
                if (!intact(&live[i], live[i].size))
                    WMT_FAIL("block %p (id %u) damaged", (void *)live[i].p, live[i].id);
            check_walk(h);
        }
    }
    while (nlive)
        CHECK(HeapFree(h, 0, live[--nlive].p));
    check_walk(h);
    CHECK(HeapCompact(h, 0) > 0);
}

int main(void)
{
    const char *e = getenv("WINMEM_MODEL_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 0) : 0x5eed1234ull;
    e = getenv("WINMEM_MODEL_STEPS");
    long steps = e ? atol(e) : 20000;

    rs = seed | 1;
    HANDLE h = HeapCreate(0, 0, 0);
    run(h, steps, 0);
    CHECK(HeapDestroy(h));
    h = HeapCreate(0, 0x10000, 4 << 20);
    run(h, steps, 1);
    CHECK(HeapDestroy(h));
    h = HeapCreate(HEAP_NO_SERIALIZE, 0, 0);
    run(h, steps / 2, 0);
    CHECK(HeapDestroy(h));
    return wmt_report();
}
