/*
 * Model-based randomized test: thousands of random VirtualAlloc / commit / decommit /
 * VirtualProtect / VirtualFree / VirtualQuery / VirtualLock steps, each checked against a
 * small per-page reference model (return value, last error, every MEMORY_BASIC_INFORMATION
 * field, page contents), and after every step the kernel's own view (/proc/self/maps) is
 * compared with what the reference says each page's access must be.  Bad calls are mixed
 * in on purpose: they must fail with Windows' error and change nothing.  Placeholders take
 * part: made, split, coalesced, replaced by private memory and given back, and
 * NtFreeVirtualMemory releases parts of allocations; each piece is an entry of its own.
 *
 * Fixed seeds, so a failure reproduces; WINMEM_MODEL_SEED and WINMEM_MODEL_STEPS override.
 */
#include <windows.h>
#include <winternl.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wmtest.h"

#define MAXRES 24
#define MAXPAGES 40

struct page {
    int committed;
    DWORD prot;      /* PAGE_* when committed */
    uint32_t marker; /* expected first word of the page (0 = zero page) */
    int locked;
};

struct res {
    char *base;
    unsigned npages;
    DWORD alloc_prot;
    int ph;       /* a placeholder */
    int replaced; /* made by replacing a placeholder */
    struct page pg[MAXPAGES];
};

static struct res R[MAXRES];
static unsigned nres;
static size_t PGSZ;
static uint64_t rng;
static unsigned step_no;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static unsigned below(unsigned n)
{
    return rnd() % n;
}

static const DWORD bases[] = { PAGE_NOACCESS, PAGE_READONLY,     PAGE_READWRITE,
                               PAGE_EXECUTE,  PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE };
static const DWORD invalid[] = { 0,
                                 PAGE_WRITECOPY,
                                 PAGE_EXECUTE_WRITECOPY,
                                 PAGE_READONLY | PAGE_READWRITE,
                                 PAGE_NOACCESS | PAGE_GUARD,
                                 PAGE_READWRITE | PAGE_GUARD | PAGE_NOCACHE,
                                 PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE,
                                 PAGE_NOACCESS | PAGE_NOCACHE,
                                 PAGE_READWRITE | 0x800 };

static DWORD random_prot(int *valid)
{
    if (below(10) == 0) {
        *valid = 0;
        return invalid[below(sizeof(invalid) / sizeof(invalid[0]))];
    }
    *valid = 1;
    DWORD p = bases[below(6)];
    if (p != PAGE_NOACCESS && below(5) == 0) {
        static const DWORD mods[] = { PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOMBINE };
        p |= mods[below(3)];
    }
    return p;
}

/* Kernel access of a reference page: "r", "w", "x" flags as /proc/self/maps shows them. */
static unsigned page_access(const struct page *p)
{
    if (!p->committed || (p->prot & PAGE_GUARD))
        return 0;
    switch (p->prot & 0xff) {
    case PAGE_READONLY:
        return 1;
    case PAGE_READWRITE:
        return 3;
    case PAGE_EXECUTE:
        return 4;
    case PAGE_EXECUTE_READ:
        return 5;
    case PAGE_EXECUTE_READWRITE:
        return 7;
    default:
        return 0;
    }
}

/* The cache attribute belongs to the allocation: commits and VirtualProtect inherit it. */
static DWORD effective_protect(const struct res *r, DWORD prot)
{
    DWORD cache = r->alloc_prot & (PAGE_NOCACHE | PAGE_WRITECOMBINE);
    prot &= ~(DWORD)(PAGE_NOCACHE | PAGE_WRITECOMBINE);
    if (cache && !(prot & PAGE_GUARD) && (prot & 0xff) != PAGE_NOACCESS)
        prot |= cache;
    return prot;
}

#define STEP_FAIL(...)                                     \
    do {                                                   \
        WMT_FAIL("step %u: %s", step_no, "see next line"); \
        fprintf(stderr, __VA_ARGS__);                      \
        fputc('\n', stderr);                               \
    } while (0)

/* ---- checks ----------------------------------------------------------------------------- */

static void check_query(const struct res *r, unsigned i)
{
    MEMORY_BASIC_INFORMATION m;
    const struct page *p = &r->pg[i];
    unsigned j = i;

    while (j + 1 < r->npages && r->pg[j + 1].committed == p->committed &&
           (!p->committed || r->pg[j + 1].prot == p->prot))
        j++;
    if (VirtualQuery(r->base + i * PGSZ + below((unsigned)PGSZ), &m, sizeof(m)) != sizeof(m)) {
        STEP_FAIL("VirtualQuery failed: %lu", (unsigned long)GetLastError());
        return;
    }
    if (m.BaseAddress != r->base + i * PGSZ || m.AllocationBase != r->base ||
        m.AllocationProtect != r->alloc_prot || m.RegionSize != (j - i + 1) * PGSZ ||
        m.State != (p->committed ? MEM_COMMIT : MEM_RESERVE) ||
        m.Protect != (p->committed ? p->prot : 0) || m.Type != MEM_PRIVATE)
        STEP_FAIL("query page %u of %p: got base %p alloc %p aprot %lx size %zx state %lx "
                  "prot %lx type %lx; want size %zx prot %lx committed %d",
                  i, (void *)r->base, m.BaseAddress, m.AllocationBase,
                  (unsigned long)m.AllocationProtect, (size_t)m.RegionSize, (unsigned long)m.State,
                  (unsigned long)m.Protect, (unsigned long)m.Type, (j - i + 1) * PGSZ,
                  (unsigned long)p->prot, p->committed);
    else
        wmt_passed++;
}

/* Compare every reference page's access with the kernel's mappings. */
static void check_kernel(void)
{
    static char buf[1 << 16];
    static struct {
        unsigned long s, e;
        unsigned acc;
    } map[1024];
    unsigned nmap = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    for (char *line = buf; line && *line && nmap < 1024;
         line = strchr(line, '\n'), line += !!line) {
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &map[nmap].s, &map[nmap].e, perms) == 3) {
            map[nmap].acc = (perms[0] == 'r') | (perms[1] == 'w') << 1 | (perms[2] == 'x') << 2;
            nmap++;
        }
    }

    for (unsigned k = 0; k < nres; k++) {
        for (unsigned i = 0; i < R[k].npages; i++) {
            uintptr_t a = (uintptr_t)R[k].base + i * PGSZ;
            unsigned want = page_access(&R[k].pg[i]), got = 99, lo = 0, hi = nmap;
            while (lo < hi) { /* maps lines are sorted by address */
                unsigned mid = (lo + hi) / 2;
                if (map[mid].e <= a)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < nmap && map[lo].s <= a)
                got = map[lo].acc;
            if (got != want) {
                STEP_FAIL("kernel access of page %u of %p is %u, model says %u", i,
                          (void *)R[k].base, got, want);
                return;
            }
        }
    }
    wmt_passed++;
}

static void check_contents(void)
{
    for (unsigned k = 0; k < nres; k++) {
        for (unsigned i = 0; i < R[k].npages; i++) {
            const struct page *p = &R[k].pg[i];
            if (!(page_access(p) & 1))
                continue;
            uint32_t v = *(volatile uint32_t *)(R[k].base + i * PGSZ);
            if (v != p->marker) {
                STEP_FAIL("page %u of %p holds %x, expected %x", i, (void *)R[k].base, v,
                          p->marker);
                return;
            }
        }
    }
    wmt_passed++;
}

/* ---- steps ------------------------------------------------------------------------------ */

static void expect_fail(BOOL ok, DWORD err, const char *what)
{
    if (ok || GetLastError() != err)
        STEP_FAIL("%s: ok=%d error %lu, expected failure %lu", what, ok,
                  (unsigned long)GetLastError(), (unsigned long)err);
    else
        wmt_passed++;
}

static void do_alloc(void)
{
    int valid;
    unsigned np = 1 + below(MAXPAGES);
    DWORD type = below(2) ? MEM_RESERVE : MEM_RESERVE | MEM_COMMIT;
    DWORD prot = random_prot(&valid);

    if (nres == MAXRES)
        return;
    if (nres && below(8) == 0) {
        /* Fixed address inside an existing reservation: always refused. */
        struct res *o = &R[below(nres)];
        SetLastError(0);
        void *p =
            VirtualAlloc(o->base + below(o->npages) * PGSZ, PGSZ, MEM_RESERVE, PAGE_READWRITE);
        expect_fail(p != NULL, ERROR_INVALID_ADDRESS, "reserve over a reservation");
        return;
    }
    SetLastError(0);
    char *p = VirtualAlloc(NULL, np * PGSZ - below(100), type, prot);
    if (!valid) {
        expect_fail(p != NULL, ERROR_INVALID_PARAMETER, "alloc with invalid protection");
        return;
    }
    if (!p || ((uintptr_t)p & 0xffff)) {
        STEP_FAIL("VirtualAlloc(%u pages, %lx, %lx) = %p, error %lu", np, (unsigned long)type,
                  (unsigned long)prot, (void *)p, (unsigned long)GetLastError());
        return;
    }
    struct res *r = &R[nres++];
    memset(r, 0, sizeof(*r));
    r->base = p;
    r->npages = np;
    r->alloc_prot = prot;
    for (unsigned i = 0; i < np; i++) {
        r->pg[i].committed = (type & MEM_COMMIT) != 0;
        r->pg[i].prot = r->pg[i].committed ? prot : 0;
    }
}

static int trace;

static void pick_range(const struct res *r, unsigned *first, unsigned *count, int *outside)
{
    *first = below(r->npages);
    *count = 1 + below(r->npages - *first);
    *outside = 0;
    if (below(12) == 0) {
        *count = r->npages - *first + 1 + below(3); /* runs past the end of the reservation */
        *outside = 1;
    }
    if (trace)
        fprintf(stderr, "  step %u: res %p (%u pages) range %u+%u%s\n", step_no, (void *)r->base,
                r->npages, *first, *count, *outside ? " outside" : "");
}

static void do_commit(void)
{
    if (!nres)
        return;
    struct res *r = &R[below(nres)];
    unsigned first, count;
    int outside, valid;
    DWORD prot = random_prot(&valid);
    pick_range(r, &first, &count, &outside);

    SetLastError(0);
    void *p = VirtualAlloc(r->base + first * PGSZ, count * PGSZ, MEM_COMMIT, prot);
    if (!valid) {
        expect_fail(p != NULL, ERROR_INVALID_PARAMETER, "commit with invalid protection");
    } else if (outside || r->ph) {
        expect_fail(p != NULL, ERROR_INVALID_ADDRESS,
                    "commit past the reservation or in a placeholder");
    } else if (p != r->base + first * PGSZ) {
        STEP_FAIL("commit failed: %lu", (unsigned long)GetLastError());
    } else {
        wmt_passed++;
        for (unsigned i = first; i < first + count; i++) {
            r->pg[i].committed = 1;
            r->pg[i].prot = effective_protect(r, prot);
        }
    }
}

static void do_decommit(void)
{
    if (!nres)
        return;
    struct res *r = &R[below(nres)];
    unsigned first, count;
    int outside;
    pick_range(r, &first, &count, &outside);

    SetLastError(0);
    BOOL ok = VirtualFree(r->base + first * PGSZ, count * PGSZ, MEM_DECOMMIT);
    if (outside) {
        expect_fail(ok, ERROR_INVALID_PARAMETER, "decommit past the reservation");
    } else if (!ok) {
        STEP_FAIL("decommit failed: %lu", (unsigned long)GetLastError());
    } else {
        wmt_passed++;
        for (unsigned i = first; i < first + count; i++)
            r->pg[i] = (struct page){ 0 };
    }
}

static void do_protect(void)
{
    if (!nres)
        return;
    struct res *r = &R[below(nres)];
    unsigned first, count;
    int outside, valid, all = 1;
    DWORD prot = random_prot(&valid), old = 0xdead;
    pick_range(r, &first, &count, &outside);
    for (unsigned i = first; i < first + count && i < r->npages; i++)
        all &= r->pg[i].committed;

    SetLastError(0);
    BOOL ok = VirtualProtect(r->base + first * PGSZ, count * PGSZ, prot, &old);
    if (!valid) {
        expect_fail(ok, ERROR_INVALID_PARAMETER, "protect with invalid protection");
    } else if (outside || !all) {
        expect_fail(ok, ERROR_INVALID_ADDRESS, "protect of uncommitted or outside pages");
    } else if (!ok || old != r->pg[first].prot) {
        STEP_FAIL("protect: ok=%d error %lu old %lx want %lx", ok, (unsigned long)GetLastError(),
                  (unsigned long)old, (unsigned long)r->pg[first].prot);
    } else {
        wmt_passed++;
        for (unsigned i = first; i < first + count; i++)
            r->pg[i].prot = effective_protect(r, prot);
    }
}

static void do_release(void)
{
    if (!nres)
        return;
    unsigned k = below(nres);
    struct res *r = &R[k];

    if (r->npages > 1 && below(4) == 0) {
        SetLastError(0);
        expect_fail(VirtualFree(r->base + (1 + below(r->npages - 1)) * PGSZ, 0, MEM_RELEASE),
                    ERROR_INVALID_ADDRESS, "release of an interior pointer");
        return;
    }
    if (!VirtualFree(r->base, 0, MEM_RELEASE)) {
        STEP_FAIL("release failed: %lu", (unsigned long)GetLastError());
        return;
    }
    wmt_passed++;
    char *gone = r->base;
    R[k] = R[--nres];
    SetLastError(0);
    expect_fail(VirtualFree(gone, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS, "double release");
}

static void do_write(void)
{
    if (!nres)
        return;
    struct res *r = &R[below(nres)];
    unsigned i = below(r->npages);
    if ((page_access(&r->pg[i]) & 3) == 3) {
        uint32_t v = rnd() | 1;
        *(volatile uint32_t *)(r->base + i * PGSZ) = v;
        r->pg[i].marker = v;
    }
}

static void do_lock(void)
{
    if (!nres)
        return;
    struct res *r = &R[below(nres)];
    unsigned first, count;
    int outside, accessible = 1, locked = 1;
    pick_range(r, &first, &count, &outside);
    if (outside)
        return;
    int guard = -1;
    for (unsigned i = first; i < first + count; i++) {
        accessible &= r->pg[i].committed && (r->pg[i].prot & 0xff) != PAGE_NOACCESS;
        if (r->pg[i].committed && (r->pg[i].prot & PAGE_GUARD) && guard < 0)
            guard = (int)i;
        locked &= r->pg[i].locked;
    }
    SetLastError(0);
    if (below(2)) {
        BOOL ok = VirtualLock(r->base + first * PGSZ, count * PGSZ);
        if (!accessible) {
            expect_fail(ok, ERROR_NOACCESS, "lock of uncommitted or no-access pages");
            return;
        }
        if (guard >= 0) {
            /* The lock touches the first guard page: its guard is consumed. */
            expect_fail(ok, (DWORD)STATUS_GUARD_PAGE_VIOLATION, "lock of a guard page");
            r->pg[guard].prot &= ~(DWORD)PAGE_GUARD;
            return;
        }
        if (!ok) {
            STEP_FAIL("VirtualLock failed: %lu", (unsigned long)GetLastError());
            return;
        }
        wmt_passed++;
        for (unsigned i = first; i < first + count; i++)
            r->pg[i].locked = 1;
    } else {
        BOOL ok = VirtualUnlock(r->base + first * PGSZ, count * PGSZ);
        if (!locked) {
            expect_fail(ok, ERROR_NOT_LOCKED, "unlock of unlocked pages");
            return;
        }
        if (!ok) {
            STEP_FAIL("VirtualUnlock failed: %lu", (unsigned long)GetLastError());
            return;
        }
        wmt_passed++;
        for (unsigned i = first; i < first + count; i++)
            r->pg[i].locked = 0;
    }
}

/* ---- placeholders and partial releases --------------------------------------------------- */

/* R[k] becomes its pieces [0, a) [a, b) [b, npages) that are not empty; returns the index of
 * the piece starting at a.  The caller made sure there is room for two more entries. */
static unsigned cut(unsigned k, unsigned a, unsigned b)
{
    struct res whole = R[k];
    unsigned bounds[4] = { 0, a, b, whole.npages }, mid = k, n = 0;
    for (unsigned i = 0; i < 3; i++) {
        if (bounds[i + 1] == bounds[i])
            continue;
        unsigned to = n++ ? nres++ : k;
        struct res *piece = &R[to];
        *piece = whole;
        piece->base = whole.base + bounds[i] * PGSZ;
        piece->npages = bounds[i + 1] - bounds[i];
        memset(piece->pg, 0, sizeof(piece->pg));
        memcpy(piece->pg, &whole.pg[bounds[i]], piece->npages * sizeof(whole.pg[0]));
        if (i == 1)
            mid = to;
    }
    return mid;
}

static int find_at(const char *p)
{
    for (unsigned k = 0; k < nres; k++)
        if (R[k].base == p)
            return (int)k;
    return -1;
}

static void do_placeholder(void)
{
    if (nres == MAXRES)
        return;
    unsigned np = 1 + below(MAXPAGES);
    SetLastError(0);
    char *p = VirtualAlloc2(NULL, NULL, np * PGSZ, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                            PAGE_NOACCESS, NULL, 0);
    if (!p) {
        STEP_FAIL("placeholder of %u pages: error %lu", np, (unsigned long)GetLastError());
        return;
    }
    wmt_passed++;
    struct res *r = &R[nres++];
    memset(r, 0, sizeof(*r));
    r->base = p;
    r->npages = np;
    r->alloc_prot = PAGE_NOACCESS;
    r->ph = 1;
}

/* MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER: split a placeholder, give a replacement back, or be
 * refused (an ordinary allocation, a whole placeholder, part of a replacement). */
static void do_preserve(void)
{
    if (!nres || nres + 2 > MAXRES)
        return;
    unsigned k = below(nres), first, count;
    struct res *r = &R[k];
    int outside;
    pick_range(r, &first, &count, &outside);
    int whole = first == 0 && count == r->npages;
    SetLastError(0);
    BOOL ok =
        VirtualFree(r->base + first * PGSZ, count * PGSZ, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER);
    if (outside) {
        /* A range past the allocation: STATUS_UNABLE_TO_FREE_VM, as for any free. */
        expect_fail(ok, ERROR_INVALID_PARAMETER, "preserve past the allocation");
        return;
    }
    if (r->ph ? whole : (!r->replaced || !whole)) {
        expect_fail(ok, ERROR_INVALID_ADDRESS, "preserve refused");
        return;
    }
    if (!ok) {
        STEP_FAIL("preserve of %u+%u failed: %lu", first, count, (unsigned long)GetLastError());
        return;
    }
    wmt_passed++;
    if (r->ph) {
        cut(k, first, first + count);
        return;
    }
    r->ph = 1;
    r->replaced = 0;
    r->alloc_prot = PAGE_NOACCESS;
    memset(r->pg, 0, sizeof(r->pg));
}

/* MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS over a run of adjacent placeholders (sometimes one
 * too few or too many: refused). */
static void do_coalesce(void)
{
    if (!nres)
        return;
    unsigned k = below(nres);
    if (!R[k].ph)
        return;
    unsigned pieces = 1, pages = R[k].npages, want = 1 + below(4);
    int next;
    while (pieces < want && (next = find_at(R[k].base + pages * PGSZ)) >= 0 && R[next].ph &&
           pages + R[next].npages <= MAXPAGES) {
        pages += R[next].npages;
        pieces++;
    }
    SetLastError(0);
    BOOL ok = VirtualFree(R[k].base, pages * PGSZ, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS);
    if (pieces < 2) {
        expect_fail(ok, ERROR_INVALID_ADDRESS, "coalesce of one placeholder");
        return;
    }
    if (!ok) {
        STEP_FAIL("coalesce of %u placeholders failed: %lu", pieces, (unsigned long)GetLastError());
        return;
    }
    wmt_passed++;
    char *base = R[k].base;
    for (unsigned at = R[k].npages; at < pages;) {
        int j = find_at(base + at * PGSZ);
        at += R[j].npages;
        R[j] = R[--nres];
        if ((unsigned)j != nres && find_at(base) < 0)
            break; /* cannot happen: base's entry is never the one moved away */
    }
    k = (unsigned)find_at(base);
    R[k].npages = pages;
}

static void do_replace(void)
{
    if (!nres)
        return;
    struct res *r = &R[below(nres)];
    int valid;
    DWORD prot = random_prot(&valid);
    DWORD type = MEM_RESERVE | MEM_REPLACE_PLACEHOLDER | (below(2) ? MEM_COMMIT : 0);
    unsigned np = r->npages - (below(8) == 0 && r->npages > 1); /* sometimes one page short */
    SetLastError(0);
    char *p = VirtualAlloc2(NULL, r->base, np * PGSZ, type, prot, NULL, 0);
    if (!valid) {
        expect_fail(p != NULL, ERROR_INVALID_PARAMETER, "replace with invalid protection");
        return;
    }
    if (!r->ph || np != r->npages) {
        expect_fail(p != NULL, ERROR_INVALID_ADDRESS, "replace of no placeholder");
        return;
    }
    if (p != r->base) {
        STEP_FAIL("replace failed: %lu", (unsigned long)GetLastError());
        return;
    }
    wmt_passed++;
    r->ph = 0;
    r->replaced = 1;
    r->alloc_prot = prot;
    for (unsigned i = 0; i < r->npages; i++)
        r->pg[i] = (struct page){ .committed = (type & MEM_COMMIT) != 0,
                                  .prot = (type & MEM_COMMIT) ? prot : 0 };
}

/* NtFreeVirtualMemory(MEM_RELEASE) of part of an allocation: the rest stays as allocations
 * of their own. */
static void do_release_part(void)
{
    if (!nres || nres + 2 > MAXRES)
        return;
    unsigned k = below(nres), first, count;
    int outside;
    pick_range(&R[k], &first, &count, &outside);
    PVOID b = R[k].base + first * PGSZ;
    SIZE_T sz = count * PGSZ;
    NTSTATUS st = NtFreeVirtualMemory(GetCurrentProcess(), &b, &sz, MEM_RELEASE);
    if (outside) {
        if (st != STATUS_UNABLE_TO_FREE_VM)
            STEP_FAIL("partial release past the end: %lx", (unsigned long)st);
        else
            wmt_passed++;
        return;
    }
    if (st != STATUS_SUCCESS || b != R[k].base + first * PGSZ || sz != count * PGSZ) {
        STEP_FAIL("partial release %u+%u of %u pages: %lx", first, count, R[k].npages,
                  (unsigned long)st);
        return;
    }
    wmt_passed++;
    unsigned mid = cut(k, first, first + count);
    R[mid] = R[--nres];
}

/* Decommit drops locks; keep the reference in step. */
static void fix_locks(void)
{
    for (unsigned k = 0; k < nres; k++)
        for (unsigned i = 0; i < R[k].npages; i++)
            if (!R[k].pg[i].committed)
                R[k].pg[i].locked = 0;
}

static void run(uint64_t seed, unsigned steps)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 1;
    for (step_no = 0; step_no < steps; step_no++) {
        int failed_before = wmt_failed;
        switch (below(15)) {
        case 0:
            do_alloc();
            break;
        case 1:
        case 2:
            do_commit();
            break;
        case 3:
            do_decommit();
            break;
        case 4:
        case 5:
            do_protect();
            break;
        case 6:
            do_release();
            break;
        case 7:
            do_write();
            break;
        case 9:
            do_placeholder();
            break;
        case 10:
            do_preserve();
            break;
        case 11:
            do_coalesce();
            break;
        case 12:
            do_replace();
            break;
        case 13:
            do_release_part();
            break;
        default:
            do_lock();
            break;
        }
        fix_locks();
        if (nres) {
            struct res *r = &R[below(nres)];
            check_query(r, below(r->npages));
        }
        check_kernel();
        check_contents();
        if (wmt_failed > failed_before) {
            fprintf(stderr, "seed %llu failed at step %u\n", (unsigned long long)seed, step_no);
            break;
        }
    }
    while (nres)
        VirtualFree(R[--nres].base, 0, MEM_RELEASE);
}

int main(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    PGSZ = si.dwPageSize;

    const char *s = getenv("WINMEM_MODEL_SEED"), *n = getenv("WINMEM_MODEL_STEPS");
    unsigned steps = n ? (unsigned)strtoul(n, NULL, 0) : 5000;
    trace = getenv("WINMEM_MODEL_TRACE") != NULL;
    if (s) {
        run(strtoull(s, NULL, 0), steps);
    } else {
        for (uint64_t seed = 1; seed <= 6; seed++)
            run(seed, steps);
    }
    return wmt_report();
}
