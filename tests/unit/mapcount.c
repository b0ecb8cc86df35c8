/*
 * Unit: the real vm.max_map_count, not an injected ENOMEM.  The process is filled with
 * mappings up to the kernel's cap, then brought to exactly cap - h free slots for h = 0..4,
 * and at each level VirtualProtect and VirtualFree(MEM_DECOMMIT) are asked for changes that
 * split mappings.  Whatever the kernel allows, the outcome must be Windows': success with
 * the pages as asked, or failure with ERROR_NOT_ENOUGH_MEMORY and nothing changed, in the
 * model (VirtualQuery, the invariant checker) and in the kernel (the permissions
 * /proc/self/maps shows for every page, the data).  A change the kernel makes in part (one
 * mapping split, the next refused) must be rolled back.  At no free slot at all a split
 * cannot be had, so at least one call must fail there.  Last, the middle one of three guard
 * pages is touched: where its guard cannot be consumed (a split) the touch is an access
 * violation with the guard kept, and once a handler has made room the retry raises the guard
 * page exception.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

static size_t PAGE;     /* the machine's page size */
#define PAGES 16        /* the scenario region */
#define MAX_FILL 310000 /* above the largest cap the test fills */

static void *fill[MAX_FILL];
static long nfill;
static char buf[1 << 16];

/* Call fn for every line of /proc/self/maps with the buffer's help (no allocation: the
 * process is at its mapping cap). */
static void each_map(void (*fn)(const char *line, void *ctx), void *ctx)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            fn(line, ctx);
            line = nl + 1;
        }
        have = (size_t)(buf + have - line);
        memmove(buf, line, have);
    }
    close(fd);
}

static void count_line(const char *line, void *ctx)
{
    /* [vsyscall] is the kernel's gate area, not one of the process's mappings. */
    if (!strstr(line, "[vsyscall]"))
        ++*(long *)ctx;
}

static long map_count(void)
{
    long n = 0;
    each_map(count_line, &n);
    return n;
}

struct perms {
    uintptr_t base;
    char p[PAGES][4];
};

static void perm_line(const char *line, void *ctx)
{
    struct perms *pm = ctx;
    unsigned long s, e;
    char p[5];
    if (sscanf(line, "%lx-%lx %4s", &s, &e, p) != 3)
        return;
    for (int i = 0; i < PAGES; i++) {
        uintptr_t a = pm->base + (uintptr_t)i * PAGE;
        if (a >= s && a < e)
            memcpy(pm->p[i], p, 3);
    }
}

/* The kernel's permissions ("rw-", "r-x", "---") of each page of the region at base. */
static void kernel_perms(uintptr_t base, struct perms *pm)
{
    memset(pm, 0, sizeof(*pm));
    pm->base = base;
    each_map(perm_line, pm);
}

/* Fill with single pages of alternating protection (neighbours never merge) until the kernel
 * refuses, or bring the count to exactly `target` by unmapping or adding fillers. */
static void filler_add(void)
{
    void *p =
        mmap(NULL, PAGE, (nfill & 1) ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED && nfill < MAX_FILL)
        fill[nfill++] = p;
    else if (p != MAP_FAILED)
        munmap(p, PAGE);
}

static int settle_at(long target)
{
    for (int tries = 0; tries < 64; tries++) {
        long n = map_count();
        if (n == target)
            return 1;
        if (n > target) {
            for (long k = n - target; k > 0 && nfill > 0; k--)
                munmap(fill[--nfill], PAGE);
        } else {
            for (long k = target - n; k > 0; k--)
                filler_add();
        }
    }
    return 0;
}

/* The scenario region: committed, pages 2-3 locked (a locked mapping never merges with an
 * unlocked one), 6-7 read-only, 8-10 guard pages (one mapping), the rest read-write; each
 * page's first byte its number. */
#define GUARDED (PAGE_READWRITE | PAGE_GUARD)
static const DWORD layout[PAGES] = {
    PAGE_READWRITE, PAGE_READWRITE, PAGE_READWRITE, PAGE_READWRITE, /* 2-3 locked */
    PAGE_READWRITE, PAGE_READWRITE, PAGE_READONLY,  PAGE_READONLY,  GUARDED,        GUARDED,
    GUARDED,        PAGE_READWRITE, PAGE_READWRITE, PAGE_READWRITE, PAGE_READWRITE, PAGE_READWRITE,
};

/* A page decommitted and committed again reads zeros. */
static int decommitted = -1;
static BOOL locked;

static BYTE *make_region(void)
{
    decommitted = -1;
    DWORD old;
    BYTE *r = VirtualAlloc(NULL, PAGES * PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!r)
        return NULL;
    for (int i = 0; i < PAGES; i++)
        r[i * PAGE] = (BYTE)i;
    for (int i = 0; i < PAGES; i++)
        if (layout[i] != PAGE_READWRITE && !VirtualProtect(r + i * PAGE, PAGE, layout[i], &old))
            return NULL;
    /* Where RLIMIT_MEMLOCK forbids even that, the pages merge, and the test still checks
     * whatever the kernel does. */
    locked = VirtualLock(r + 2 * PAGE, 2 * PAGE);
    return r;
}

struct snap {
    MEMORY_BASIC_INFORMATION mbi[PAGES];
    struct perms k;
};

static void take(BYTE *r, struct snap *s)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < PAGES; i++)
        VirtualQuery(r + i * PAGE, &s->mbi[i], sizeof(s->mbi[i]));
    kernel_perms((uintptr_t)r, &s->k);
}

static const char *perms_of(DWORD prot, DWORD state)
{
    if (state != MEM_COMMIT || (prot & PAGE_GUARD))
        return "---";
    switch (prot & 0xff) {
    case PAGE_READWRITE:
        return "rw-";
    case PAGE_READONLY:
        return "r--";
    case PAGE_EXECUTE_READ:
        return "r-x";
    case PAGE_NOACCESS:
        return "---";
    }
    return "?";
}

/* The model and the kernel say the same of every page, and each readable page kept its data. */
static void agrees(BYTE *r, const char *what, long h)
{
    struct snap s;
    take(r, &s);
    for (int i = 0; i < PAGES; i++) {
        const char *want = perms_of(s.mbi[i].Protect, s.mbi[i].State);
        if (strcmp(s.k.p[i], want) != 0)
            WMT_FAIL("%s at %ld free slots: page %d is %s in the kernel, %s by VirtualQuery", what,
                     h, i, s.k.p[i], want);
        if (s.mbi[i].State == MEM_COMMIT && s.mbi[i].Protect != PAGE_NOACCESS &&
            !(s.mbi[i].Protect & PAGE_GUARD))
            CHECK_EQ(r[i * PAGE], i == decommitted ? 0 : (BYTE)i);
    }
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);
}

static int failed_cleanly(BYTE *r, const struct snap *before, const char *what, long h)
{
    struct snap after;
    take(r, &after);
    CHECK_EQ(GetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    if (memcmp(before->mbi, after.mbi, sizeof(after.mbi)) != 0)
        WMT_FAIL("%s at %ld free slots failed but changed what VirtualQuery says", what, h);
    for (int i = 0; i < PAGES; i++)
        if (strcmp(before->k.p[i], after.k.p[i]) != 0)
            WMT_FAIL("%s at %ld free slots failed but page %d went from %s to %s in the kernel",
                     what, h, i, before->k.p[i], after.k.p[i]);
    agrees(r, what, h);
    return 1;
}

static volatile DWORD codes[4];
static volatile int ncodes;
static BYTE *volatile guarded;

/* Runs in the signal handler: records the exception; for an access violation at the guard
 * page, unmaps two fillers (munmap is async-signal-safe) so the retry finds room. */
static LONG CALLBACK on_fault(EXCEPTION_POINTERS *ep)
{
    const EXCEPTION_RECORD *er = ep->ExceptionRecord;
    uintptr_t at = (uintptr_t)er->ExceptionInformation[1];
    if (at < (uintptr_t)guarded || at >= (uintptr_t)guarded + PAGE)
        return EXCEPTION_CONTINUE_SEARCH;
    if (ncodes < 4)
        codes[ncodes++] = er->ExceptionCode;
    if (er->ExceptionCode == EXCEPTION_ACCESS_VIOLATION)
        for (int k = 0; k < 2 && nfill > 0; k++)
            munmap(fill[--nfill], PAGE);
    return ncodes < 4 ? EXCEPTION_CONTINUE_EXECUTION : EXCEPTION_CONTINUE_SEARCH;
}

int main(void)
{
    long cap = -1;
    PAGE = (size_t)sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &cap) != 1)
            cap = -1;
        fclose(f);
    }
    if (cap <= 0 || cap > 300000) {
        printf("skipped: vm.max_map_count is %ld (filling it is the test)\n", cap);
        return wmt_report();
    }
    printf("vm.max_map_count %ld, %ld mappings at the start\n", cap, map_count());
    fflush(stdout);

    /* Fill to the cap. */
    while (nfill < MAX_FILL) {
        long before = nfill;
        filler_add();
        if (nfill == before)
            break;
    }
    long full = map_count();
    CHECK(full >= cap - 2);

    int refused = 0, done = 0;
    for (long h = 0; h <= 4; h++) {
        /* Room to make the region (a few mappings), then exactly h free slots. */
        REQUIRE(settle_at(cap - 16));
        BYTE *r = make_region();
        REQUIRE(r);
        agrees(r, "making the region", h);
        REQUIRE(settle_at(cap - h));

        /* Pages 1-4 read-only: across three mappings that cannot merge, split at both ends,
         * two more mappings; with one free slot the first split is made and the second
         * refused, and the change must be rolled back. */
        struct snap before;
        DWORD old;
        take(r, &before);
        SetLastError(0xdeadbeef);
        if (VirtualProtect(r + PAGE, 4 * PAGE, PAGE_READONLY, &old)) {
            done++;
            CHECK_EQ(old, PAGE_READWRITE);
            agrees(r, "VirtualProtect", h);
        } else {
            refused += failed_cleanly(r, &before, "VirtualProtect", h);
        }

        /* Decommit page 12, inside the read-write run at the end. */
        REQUIRE(settle_at(cap - h));
        take(r, &before);
        SetLastError(0xdeadbeef);
        if (VirtualFree(r + 12 * PAGE, PAGE, MEM_DECOMMIT)) {
            done++;
            decommitted = 12;
            agrees(r, "decommit", h);
            CHECK_EQ(before.mbi[12].State, MEM_COMMIT);
        } else {
            refused += failed_cleanly(r, &before, "decommit", h);
        }

        /* Commit it back read-only, between read-write pages. */
        REQUIRE(settle_at(cap - h));
        take(r, &before);
        SetLastError(0xdeadbeef);
        if (before.mbi[12].State == MEM_RESERVE) {
            if (VirtualAlloc(r + 12 * PAGE, PAGE, MEM_COMMIT, PAGE_READONLY)) {
                done++;
                struct snap now;
                take(r, &now);
                CHECK_EQ(now.mbi[12].State, MEM_COMMIT);
                CHECK_EQ(now.mbi[12].Protect, PAGE_READONLY);
                CHECK(strcmp(now.k.p[12], "r--") == 0);
            } else {
                refused += failed_cleanly(r, &before, "commit", h);
            }
        }
        /* Touch the middle guard page: consuming its guard splits the guard pages' mapping
         * in three.  Where the kernel refuses, the guard stays and the touch is an access
         * violation; the handler frees two slots and the retry consumes the guard. */
        ncodes = 0;
        REQUIRE(settle_at(cap - 16)); /* room for the handler's record (malloc) */
        PVOID vh = AddVectoredExceptionHandler(1, on_fault);
        REQUIRE(vh);
        REQUIRE(settle_at(cap - h));
        guarded = r + 9 * PAGE;
        BYTE got = *(volatile BYTE *)guarded;
        RemoveVectoredExceptionHandler(vh);
        CHECK_EQ(got, 9);
        REQUIRE(ncodes >= 1);
        CHECK_EQ(codes[ncodes - 1], (DWORD)STATUS_GUARD_PAGE_VIOLATION);
        if (ncodes == 2) {
            CHECK_EQ(codes[0], (DWORD)EXCEPTION_ACCESS_VIOLATION);
            CHECK(h <= 1);
        }
        CHECK(ncodes <= 2);
        if (h == 0)
            CHECK_EQ(ncodes, 2); /* no slot at all: the guard cannot be consumed at first */
        struct snap now;
        take(r, &now);
        CHECK_EQ(now.mbi[8].Protect, PAGE_READWRITE | PAGE_GUARD);
        CHECK_EQ(now.mbi[9].Protect, PAGE_READWRITE);
        CHECK_EQ(now.mbi[10].Protect, PAGE_READWRITE | PAGE_GUARD);
        agrees(r, "the guard page", h);

        REQUIRE(settle_at(cap - 16));
        CHECK(VirtualFree(r, 0, MEM_RELEASE));
        printf("%ld free slots: so far %d calls done, %d refused cleanly, %d exceptions at the "
               "guard page%s\n",
               h, done, refused, ncodes, locked ? "" : " (pages 2-3 could not be locked)");
    }
    CHECK(refused > 0);
    while (nfill > 0)
        munmap(fill[--nfill], PAGE);
    return wmt_report();
}
