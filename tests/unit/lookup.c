/*
 * The compact model's lookups: the index's entries and the base hash's one-word slots hold
 * nothing but keys and region pointers, so what a lock-free query reports comes from the
 * region (one cache line), and the pointers it follows are validated first.
 */
#include <stdlib.h>
#include <string.h>

#include "wmtest.h"
#include "vm/vm.h"
#include "winnt.h"

#define PG 4096u

static bool always(void *ctx)
{
    (void)ctx;
    return true;
}

/* Says yes `*ctx` times, then no: a writer that started after that many checks. */
static bool countdown(void *ctx)
{
    int *left = ctx;
    return (*left)-- > 0;
}

/* Regions are one cache line each: 64-byte blocks, aligned so the hash can tag them. */
static void test_region_block(void)
{
    struct wm_region *r[16];
    for (int i = 0; i < 16; i++) {
        r[i] = wm_region_new(0x10000 * (uintptr_t)(i + 1), 0x10000, PAGE_READWRITE, MEM_PRIVATE,
                             WM_STATE_RESERVED, 0);
        REQUIRE_VOID(r[i]);
        CHECK_EQ((uintptr_t)r[i] % 64, 0);
        CHECK(r[i]->runs == r[i]->inline_run);
        CHECK(r[i]->ext == NULL);
        CHECK_EQ(wm_region_type(r[i]), MEM_PRIVATE);
        /* A 32-byte block between two regions must not push the next one off its line. */
        void *small = wm_arena_alloc(32);
        REQUIRE_VOID(small);
        wm_arena_free(small, 32);
    }
    for (int i = 0; i < 16; i++)
        wm_region_free(r[i]);
}

/* Views and watched regions get their extension; one extension serves both. */
static void test_ext(void)
{
    struct wm_region *r =
        wm_region_new(0, 64 * PG, PAGE_READWRITE, MEM_MAPPED, WM_STATE_COMMITTED, PAGE_READWRITE);
    REQUIRE_VOID(r);
    int obj;
    CHECK_EQ(wm_region_view(r, &obj, 0x30000, true), 0);
    REQUIRE_VOID(r->ext);
    CHECK(r->ext->object == &obj);
    CHECK_EQ(r->ext->offset, 0x30000);
    CHECK_EQ(r->flags, WM_REGION_VIEW | WM_REGION_VIEW_PRIVATE);
    CHECK_EQ(wm_region_type(r), MEM_MAPPED);
    struct wm_region_ext *x = r->ext;
    CHECK_EQ(wm_region_watch(r, PG), 0);
    CHECK(r->ext == x);
    CHECK(r->ext->dirty != NULL);
    CHECK_EQ(r->ext->dirty_words, 1);
    CHECK(r->ext->object == &obj);
    CHECK(wm_region_check(r, PG) == NULL);
    /* The checker knows a view's and a watched region's flags need their extension. */
    r->ext->object = NULL;
    CHECK(wm_region_check(r, PG) != NULL);
    r->ext->object = &obj;
    uint64_t *dirty = r->ext->dirty;
    r->ext->dirty = NULL;
    CHECK(wm_region_check(r, PG) != NULL);
    r->ext->dirty = dirty;
    CHECK(wm_region_check(r, PG) == NULL);
    wm_region_free(r);
}

/* Top-down placement puts every new region below the others: leaves fill up instead of
 * being split in halves, as they do for bottom-up placement at the other end. */
static void test_descending(void)
{
    struct wm_space s = { 0 };
    enum { N = 3000 };
    struct wm_region **rs = calloc(N, sizeof(*rs));
    REQUIRE_VOID(rs);
    for (unsigned k = N; k-- > 0;) {
        rs[k] = wm_region_new(0x100000 + (uintptr_t)k * 0x20000, 0x10000, PAGE_READWRITE,
                              MEM_PRIVATE, WM_STATE_RESERVED, 0);
        REQUIRE_VOID(rs[k]);
        CHECK_EQ(wm_space_insert(&s, rs[k]), 0);
    }
    size_t cap = 0, leaves = wm_space_leaf_count(&s, &cap);
    CHECK(cap > 0);
    CHECK_EQ(leaves, (N + cap - 1) / cap);
    CHECK(wm_space_check(&s, PG) == NULL);
    int bad = 0;
    for (unsigned k = 0; k < N; k++)
        bad += wm_space_find_sigsafe(&s, 0x100000 + (uintptr_t)k * 0x20000 + PG) != rs[k];
    CHECK_EQ(bad, 0);
    for (unsigned k = 0; k < N; k++) {
        wm_space_remove(&s, rs[k]);
        wm_region_free(rs[k]);
    }
    CHECK_EQ(s.count, 0);
    free(rs);
}

/* Bases 4 MiB apart share the hash's tag bits: only the base read from the region tells
 * them apart.  Churn through tombstones keeps the table the live entries' size. */
static void test_hash(void)
{
    struct wm_space s = { 0 };
    enum { N = 2000 };
    struct wm_region **rs = calloc(N, sizeof(*rs));
    REQUIRE_VOID(rs);
    for (unsigned k = 0; k < N; k++) {
        rs[k] = wm_region_new(0x40000000 + (uintptr_t)k * 0x400000, 0x10000, PAGE_READWRITE,
                              MEM_PRIVATE, WM_STATE_RESERVED, 0);
        REQUIRE_VOID(rs[k]);
        CHECK_EQ(wm_space_insert(&s, rs[k]), 0);
    }
    int bad = 0;
    for (unsigned k = 0; k < N; k++) {
        uintptr_t b = 0x40000000 + (uintptr_t)k * 0x400000;
        bad += wm_space_find_base_lockfree(&s, b, always, NULL) != rs[k];
        bad += wm_space_find_base_lockfree(&s, b + 0x10000, always, NULL) != NULL;
        bad += wm_space_find_base_lockfree(&s, b + 0x200000, always, NULL) != NULL;
    }
    CHECK_EQ(bad, 0);
    /* A refused validation means no pointer from the table is followed: NULL. */
    int left = 0;
    CHECK(wm_space_find_base_lockfree(&s, 0x40000000, countdown, &left) == NULL);
    left = 1;
    CHECK(wm_space_find_base_lockfree(&s, 0x40000000, countdown, &left) == NULL);
    left = 1000;
    CHECK(wm_space_find_base_lockfree(&s, 0x40000000, countdown, &left) == rs[0]);

    /* Remove all but one, then churn: one region in, one out, many times over. */
    for (unsigned k = 1; k < N; k++) {
        wm_space_remove(&s, rs[k]);
        wm_region_free(rs[k]);
    }
    size_t before = wm_arena_footprint();
    for (unsigned i = 0; i < 100000; i++) {
        struct wm_region *r = wm_region_new(0x80000000 + (uintptr_t)(i % 64) * 0x10000, 0x10000,
                                            PAGE_READWRITE, MEM_PRIVATE, WM_STATE_RESERVED, 0);
        REQUIRE_VOID(r);
        CHECK_EQ(wm_space_insert(&s, r), 0);
        bad += wm_space_find_base_lockfree(&s, r->base, always, NULL) != r;
        wm_space_remove(&s, r);
        wm_region_free(r);
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(s.count, 1);
    CHECK(wm_space_check(&s, PG) == NULL);
    CHECK(wm_arena_footprint() - before < 4096); /* tombstones made no table grow */
    wm_space_remove(&s, rs[0]);
    wm_region_free(rs[0]);
    free(rs);
}

/* What a lock-free query reads: the region's own fields, its one inline run directly, and a
 * run array only once validation said the pointer to it is the writer's. */
static void test_read(void)
{
    struct wm_space s = { 0 };
    struct wm_region *r =
        wm_region_new(0x200000, 16 * PG, PAGE_READWRITE, MEM_PRIVATE, WM_STATE_RESERVED, 0);
    REQUIRE_VOID(r);
    CHECK_EQ(wm_space_insert(&s, r), 0);

    struct wm_summary sum;
    CHECK(wm_space_find_lockfree(&s, 0x200000 + 3 * PG, always, NULL, &sum) == r);
    CHECK_EQ(sum.base, 0x200000);
    CHECK_EQ(sum.size, 16 * PG);
    CHECK_EQ(sum.alloc_prot, PAGE_READWRITE);
    CHECK_EQ(sum.type, MEM_PRIVATE);
    CHECK_EQ(sum.state, WM_STATE_RESERVED);
    CHECK_EQ(sum.prot, 0);
    struct wm_run_read rd;
    int left = 0;
    CHECK(wm_region_read_lockfree(r, 0x200000 + 3 * PG, &rd, countdown, &left)); /* inline */
    CHECK_EQ(rd.state, WM_STATE_RESERVED);
    CHECK_EQ(rd.end, 16 * PG);
    CHECK_EQ(rd.type, MEM_PRIVATE);

    /* Commit the middle: three runs in an array of their own. */
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_set(r, 4 * PG, 4 * PG, WM_STATE_COMMITTED, PAGE_READONLY, 0, 0);
    wm_space_refresh(&s, r);
    CHECK(r->runs != r->inline_run);
    CHECK(wm_space_find_lockfree(&s, 0x200000 + 5 * PG, always, NULL, &sum) == r);
    CHECK_EQ(sum.state, WM_SUMMARY_MANY);
    left = 0;
    CHECK(!wm_region_read_lockfree(r, 0x200000 + 5 * PG, &rd, countdown, &left));
    CHECK(wm_region_read_lockfree(r, 0x200000 + 5 * PG, &rd, always, NULL));
    CHECK_EQ(rd.state, WM_STATE_COMMITTED);
    CHECK_EQ(rd.prot, PAGE_READONLY);
    CHECK_EQ(rd.end, 8 * PG);
    CHECK(!wm_region_read_lockfree(r, 0x200000 + 16 * PG, &rd, always, NULL));
    /* Refused at each of the index's validations in turn: NULL, never a wrong pointer. */
    for (int n = 0; n < 3; n++) {
        left = n;
        CHECK(wm_space_find_lockfree(&s, 0x200000, countdown, &left, &sum) == NULL);
    }
    /* Merged back to one run, still in its array: read through the array. */
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_set(r, 4 * PG, 4 * PG, WM_STATE_RESERVED, 0, 0, 0);
    CHECK_EQ(r->nruns, 1);
    CHECK(wm_space_find_lockfree(&s, 0x200000, always, NULL, &sum) == r);
    CHECK_EQ(sum.state, WM_SUMMARY_MANY);
    CHECK(wm_region_read_lockfree(r, 0x200000, &rd, always, NULL));
    CHECK_EQ(rd.state, WM_STATE_RESERVED);
    CHECK_EQ(rd.end, 16 * PG);
    CHECK(wm_space_check(&s, PG) == NULL);
    wm_space_remove(&s, r);
    wm_region_free(r);
}

int main(void)
{
    test_region_block();
    test_ext();
    test_descending();
    test_hash();
    test_read();
    return wmt_report();
}
