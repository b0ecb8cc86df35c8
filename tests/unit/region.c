/*
 * Unit tests of the pure model: attribute runs inside one region, the AVL tree of regions,
 * and the PAGE_* tables.  White-box: linked against the core objects.
 */
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include "wmtest.h"
#include "os/os.h"
#include "vm/vm.h"
#include "winnt.h"

#define PG 4096u

/* Expect the runs of r to be exactly the (off, state, prot) triples given. */
static int runs_are(const struct wm_region *r, unsigned n, const size_t *offs,
                    const uint32_t *prots)
{
    if (r->nruns != n)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (r->runs[i].off != offs[i] || r->runs[i].prot != prots[i])
            return 0;
    return 1;
}

static void test_runs(void)
{
    struct wm_region *r =
        wm_region_new(0x10000, 16 * PG, PAGE_READWRITE, MEM_PRIVATE, WM_STATE_RESERVED, 0);
    REQUIRE_VOID(r);
    CHECK(wm_region_check(r, PG) == NULL);
    CHECK_EQ(wm_region_extent(r, 0), 16 * PG);

    /* Commit the middle: three runs. */
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_set(r, 4 * PG, 4 * PG, WM_STATE_COMMITTED, PAGE_READWRITE, 0, 0);
    CHECK(runs_are(r, 3, (size_t[]){ 0, 4 * PG, 8 * PG }, (uint32_t[]){ 0, PAGE_READWRITE, 0 }));
    CHECK(wm_region_check(r, PG) == NULL);
    CHECK_EQ(wm_region_extent(r, 5 * PG), 3 * PG);
    CHECK(wm_region_all_committed(r, 4 * PG, 4 * PG));
    CHECK(!wm_region_all_committed(r, 3 * PG, 2 * PG));

    /* Protect a page inside: five runs; then back: three again (maximal runs). */
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_protect(r, 5 * PG, PG, PAGE_READONLY);
    CHECK_EQ(r->nruns, 5);
    CHECK(wm_region_check(r, PG) == NULL);
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_protect(r, 5 * PG, PG, PAGE_READWRITE);
    CHECK_EQ(r->nruns, 3);

    /* Protect only touches committed runs. */
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_protect(r, 0, 16 * PG, PAGE_EXECUTE_READ);
    CHECK(runs_are(r, 3, (size_t[]){ 0, 4 * PG, 8 * PG }, (uint32_t[]){ 0, PAGE_EXECUTE_READ, 0 }));

    /* Commit everything: one run. */
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_set(r, 0, 16 * PG, WM_STATE_COMMITTED, PAGE_EXECUTE_READ, 0, 0);
    CHECK_EQ(r->nruns, 1);

    /* Flags split runs but VirtualQuery's extent looks past them. */
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_set_flags(r, 2 * PG, 2 * PG, WM_RUN_LOCKED, 0);
    CHECK_EQ(r->nruns, 3);
    CHECK_EQ(wm_region_extent(r, 0), 16 * PG);
    CHECK(wm_region_all_flagged(r, 2 * PG, 2 * PG, WM_RUN_LOCKED));
    CHECK(!wm_region_all_flagged(r, PG, 2 * PG, WM_RUN_LOCKED));
    CHECK_EQ(wm_region_reserve_runs(r), 0);
    wm_region_set_flags(r, 0, 16 * PG, 0, WM_RUN_LOCKED);
    CHECK_EQ(r->nruns, 1);

    /* Alternating pages: many runs, all checked. */
    for (unsigned i = 0; i < 16; i += 2) {
        CHECK_EQ(wm_region_reserve_runs(r), 0);
        wm_region_set(r, i * PG, PG, WM_STATE_RESERVED, 0, 0, 0);
    }
    CHECK_EQ(r->nruns, 16);
    CHECK(wm_region_check(r, PG) == NULL);
    CHECK_EQ(wm_region_run_index(r, 7 * PG + 5), 7);
    CHECK_EQ(wm_region_run_end(r, 7), 8 * PG);
    wm_region_free(r);
}

static void test_check_catches(void)
{
    struct wm_region *r = wm_region_new(0x10000, 4 * PG, PAGE_READWRITE, MEM_PRIVATE,
                                        WM_STATE_COMMITTED, PAGE_READWRITE);
    REQUIRE_VOID(r);
    r->runs[0].prot = 0;
    CHECK(wm_region_check(r, PG) != NULL);
    r->runs[0].prot = PAGE_READWRITE;
    r->size = PG + 1;
    CHECK(wm_region_check(r, PG) != NULL);
    r->size = 4 * PG;
    CHECK(wm_region_check(r, PG) == NULL);
    wm_region_free(r);
}

static bool always(void *ctx)
{
    (void)ctx;
    return true;
}

static void test_space(void)
{
    struct wm_space s = { 0 };
    enum { N = 5000 };
    struct wm_region **rs = calloc(N, sizeof(*rs));
    REQUIRE_VOID(rs);

    /* Insert in a scrambled order, then query every region and every gap. */
    for (unsigned i = 0; i < N; i++) {
        unsigned k = (i * 3001u) % N; /* 3001 is prime to N: a permutation */
        rs[k] = wm_region_new(0x100000 + (uintptr_t)k * 0x20000, 0x10000, PAGE_READWRITE,
                              MEM_PRIVATE, WM_STATE_RESERVED, 0);
        REQUIRE_VOID(rs[k]);
    }
    for (unsigned i = 0; i < N; i++)
        CHECK_EQ(wm_space_insert(&s, rs[(i * 7919u) % N]), 0);
    CHECK_EQ(s.count, N);
    CHECK(wm_space_check(&s, PG) == NULL);
    int bad = 0;
    for (unsigned k = 0; k < N; k++) {
        uintptr_t b = 0x100000 + (uintptr_t)k * 0x20000;
        bad += wm_space_find_sigsafe(&s, b) != rs[k];
        bad += wm_space_find_sigsafe(&s, b + 0xffff) != rs[k];
        bad += wm_space_find_sigsafe(&s, b + 0x10000) != NULL;
        bad += wm_space_next(&s, b) != (k + 1 < N ? rs[k + 1] : NULL);
        bad += wm_space_prev(&s, b + 0x18000) != rs[k];
    }
    CHECK_EQ(bad, 0);
    /* The base hash finds every region by its exact base, and nothing else. */
    bad = 0;
    for (unsigned k = 0; k < N; k++) {
        uintptr_t b = 0x100000 + (uintptr_t)k * 0x20000;
        bad += wm_space_find_base_lockfree(&s, b, always, NULL) != rs[k];
        bad += wm_space_find_base_lockfree(&s, b + 0x10000, always, NULL) != NULL;
    }
    CHECK_EQ(bad, 0);
    CHECK(wm_space_overlaps(&s, 0x100000 + 0x10000, 0x10001));
    CHECK(!wm_space_overlaps(&s, 0x100000 + 0x10000, 0x10000));
    CHECK(wm_space_find_sigsafe(&s, 0x1000) == NULL);

    /* Remove every other region; the tree stays balanced and ordered. */
    for (unsigned k = 0; k < N; k += 2) {
        wm_space_remove(&s, rs[k]);
        wm_region_free(rs[k]);
    }
    CHECK_EQ(s.count, N / 2);
    CHECK(wm_space_check(&s, PG) == NULL);
    CHECK(wm_space_find_sigsafe(&s, 0x100000) == NULL);
    CHECK(wm_space_find_base_lockfree(&s, 0x100000, always, NULL) == NULL);
    CHECK(wm_space_find_base_lockfree(&s, 0x100000 + 0x20000, always, NULL) == rs[1]);
    CHECK(wm_space_find_sigsafe(&s, 0x100000 + 0x20000) == rs[1]);
    CHECK(wm_space_next(&s, 0x100000) == rs[1]);
    for (unsigned k = 1; k < N; k += 2) {
        wm_space_remove(&s, rs[k]);
        wm_region_free(rs[k]);
    }
    CHECK_EQ(s.count, 0);
    CHECK(wm_space_find_sigsafe(&s, 0x100000 + 0x20000) == NULL);
    CHECK(wm_space_next(&s, 0) == NULL);

    /* In ascending order, as bottom-up placement makes them: the leaves fill up instead of
     * being split in halves (all full but the last), and everything is still found. */
    for (unsigned k = 0; k < N; k++) {
        rs[k] = wm_region_new(0x100000 + (uintptr_t)k * 0x20000, 0x10000, PAGE_READWRITE,
                              MEM_PRIVATE, WM_STATE_RESERVED, 0);
        REQUIRE_VOID(rs[k]);
        CHECK_EQ(wm_space_insert(&s, rs[k]), 0);
    }
    size_t cap = 0, leaves = wm_space_leaf_count(&s, &cap);
    CHECK(cap > 0);
    CHECK_EQ(leaves, (N + cap - 1) / cap);
    CHECK(wm_space_check(&s, PG) == NULL);
    bad = 0;
    for (unsigned k = 0; k < N; k++) {
        uintptr_t b = 0x100000 + (uintptr_t)k * 0x20000;
        bad += wm_space_find_sigsafe(&s, b + 0x8000) != rs[k];
        bad += wm_space_find_sigsafe(&s, b + 0x10000) != NULL;
    }
    CHECK_EQ(bad, 0);
    /* One below a full leaf's last entry still splits it in halves. */
    struct wm_region *mid = wm_region_new(0x100000 + 0x10000, 0x10000, PAGE_READWRITE, MEM_PRIVATE,
                                          WM_STATE_RESERVED, 0);
    REQUIRE_VOID(mid);
    CHECK_EQ(wm_space_insert(&s, mid), 0);
    CHECK_EQ(wm_space_leaf_count(&s, NULL), leaves + 1);
    CHECK(wm_space_check(&s, PG) == NULL);
    CHECK(wm_space_find_sigsafe(&s, 0x100000 + 0x18000) == mid);
    wm_space_remove(&s, mid);
    wm_region_free(mid);
    for (unsigned k = 0; k < N; k++) {
        wm_space_remove(&s, rs[k]);
        wm_region_free(rs[k]);
    }
    CHECK_EQ(s.count, 0);
    free(rs);
}

static void test_prot(void)
{
    unsigned ok = 0;
    for (uint32_t p = 0; p < 0x100; p++)
        ok += wm_prot_valid(p, WM_PROT_ALLOC);
    CHECK_EQ(ok, 6); /* NOACCESS READONLY READWRITE EXECUTE EXECUTE_READ EXECUTE_READWRITE */
    CHECK(!wm_prot_valid(PAGE_WRITECOPY, WM_PROT_ALLOC));
    CHECK(!wm_prot_valid(PAGE_NOACCESS | PAGE_GUARD, WM_PROT_PROTECT));
    CHECK(wm_prot_valid(PAGE_READWRITE | PAGE_GUARD, WM_PROT_PROTECT));
    CHECK(!wm_prot_valid(PAGE_READWRITE | PAGE_GUARD | PAGE_NOCACHE, WM_PROT_ALLOC));
    CHECK(!wm_prot_valid(PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE, WM_PROT_ALLOC));
    CHECK(wm_prot_valid(PAGE_EXECUTE_READ | PAGE_TARGETS_INVALID, WM_PROT_ALLOC));
    CHECK(!wm_prot_valid(PAGE_READWRITE | PAGE_TARGETS_INVALID, WM_PROT_ALLOC));
    CHECK(!wm_prot_valid(PAGE_ENCLAVE_THREAD_CONTROL | PAGE_READWRITE, WM_PROT_ALLOC));
    CHECK(!wm_prot_valid(PAGE_GRAPHICS_READWRITE, WM_PROT_ALLOC));
    CHECK_EQ(wm_prot_access(PAGE_READWRITE | PAGE_GUARD), 0);
    CHECK_EQ(wm_prot_access(PAGE_EXECUTE_READ), WM_ACC_R | WM_ACC_X);
    CHECK_EQ(wm_prot_from_access(WM_ACC_W), PAGE_READWRITE);
    CHECK_EQ(wm_prot_from_access(0), PAGE_NOACCESS);
    CHECK(wm_prot_allows(PAGE_READWRITE | PAGE_GUARD, WM_ACC_W));
    CHECK(!wm_prot_allows(PAGE_READONLY, WM_ACC_W));
}

static void *discarded;
static size_t discarded_len;

static void note_discard(void *block, size_t n)
{
    discarded = block;
    discarded_len = n;
}

/* A big block given back is offered for discarding (its first word, the free list's link,
 * is kept by the hook's contract); a small one is not; both are reused as they were. */
static void test_arena_discard(void)
{
    wm_arena_set_discard(note_discard);
    const size_t big = 3u << 20; /* past a quarter chunk: straight from the source */
    void *b = wm_arena_alloc(big);
    REQUIRE_VOID(b);
    wm_arena_free(b, big);
    CHECK(discarded == b);
    CHECK(discarded_len >= big);
    CHECK(wm_arena_alloc(big) == b);
    discarded = NULL;
    void *s = wm_arena_alloc(4096);
    REQUIRE_VOID(s);
    wm_arena_free(s, 4096);
    CHECK(discarded == NULL);
    CHECK(wm_arena_alloc(4096) == s);
    wm_arena_free(s, 4096);
    /* From 64 KiB on, a block carved from a chunk lets its pages go too (an outgrown hash
     * table of 8,192 slots), and the footprint no longer counts it. */
    size_t before = wm_arena_footprint();
    void *m = wm_arena_alloc(64u << 10);
    REQUIRE_VOID(m);
    CHECK(wm_arena_footprint() - before >= 64u << 10);
    wm_arena_free(m, 64u << 10);
    CHECK(discarded == m);
    CHECK_EQ(discarded_len, 64u << 10);
    CHECK(wm_arena_footprint() - before < 64u << 10);
    discarded = NULL;
    wm_arena_set_discard(NULL);
    wm_arena_free(b, big);
    CHECK(discarded == NULL);

    /* The system's discard: every page but the first leaves RAM, the mapping stays (reads
     * zeros), and the first word survives. */
    size_t pg = wm_os_page_size(), len = 64 * pg;
    char *c = wm_os_arena_chunk(len);
    REQUIRE_VOID(c);
    memset(c, 0x5a, len);
    *(void **)c = c;
    wm_os_arena_discard(c, len);
    unsigned char vec[64];
    REQUIRE_VOID(mincore(c, len, vec) == 0);
    int resident = 0;
    for (int i = 1; i < 64; i++)
        resident += vec[i] & 1;
    CHECK_EQ(resident, 0);
    CHECK(*(void **)c == c);
    CHECK_EQ(c[pg], 0);
    CHECK_EQ(c[len - 1], 0);
}

int main(void)
{
    test_arena_discard();
    test_runs();
    test_check_catches();
    test_space();
    test_prot();
    return wmt_report();
}
