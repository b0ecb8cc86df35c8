/*
 * bare.c - the floor for bench.c: the same work done with raw Linux calls and nothing else.
 *
 *   alloc_free_64k            mmap 64 KiB read-write + munmap (MAP_NORESERVE, as winmem)
 *   alloc_free_64k_plain      the same without MAP_NORESERVE (bare only, for reference)
 *   reserve_commit16_release  mmap 1 MiB PROT_NONE + 16 mprotect of 64 KiB + munmap
 *   protect_1page             mprotect of one resident page, alternating R / RW
 *   map_view_64k              memfd_create + ftruncate 64 KiB + mmap MAP_SHARED + write one
 *                             byte + munmap + close (the floor of a pagefile-backed mapping)
 *   alloc2_near               mmap 64 KiB read-write with an address hint in the window + munmap
 *                             (the kernel takes the hint when it is free, as it is here)
 *   isbadreadptr              process_vm_readv of one byte of this process: the only probe of
 *                             an address Linux has that cannot crash
 *   guard_fault               mprotect PROT_NONE, read; the SIGSEGV handler mprotects RW back
 *   av_fixup                  the same with a write (the floor of both fault rows)
 *   alloc_free_cb0/1/16       the floor of bench.c's callback rows: alloc_free_64k again,
 *                             measured once and printed under all three names
 *   refused_free              mmap + munmap 64 KiB again (Linux has no refusal to retry)
 *   secure_unsecure           mlock + munlock of a resident 64 KiB buffer: the nearest Linux
 *   secure_unsecure_unwatched analogue of MmSecureVirtualMemory, which has none
 *   secure_event(_raw)        write one byte of a 64 KiB buffer, madvise(MADV_DONTNEED) it:
 *                             the zap without anybody told
 *   munmap_secured            mmap + munmap 64 KiB (winmem: the same while 16 ranges are
 *                             secured, so its look at the C library's calls is the difference)
 *   query_20k, query_1m       binary search of a sorted array of 20,000 / 1,000,000 bases
 *                             (the least any lookup of "which reservation holds this
 *                             address" can cost)
 *   ww_first_write, ww_scan_256m, ww_scan_4g
 *                             write watches with userfaultfd asynchronous write-protect and
 *                             PAGEMAP_SCAN used directly (Linux 6.7+; a note when refused)
 *   ww_*_fallback             the same with mprotect + a SIGSEGV handler that records the
 *                             page in a bitmap and makes it writable
 *
 * Output format and options match bench.c (--e-budget is accepted and ignored).
 */
#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "harness.h"
#include "heapload.h"
#include <dlfcn.h>

static void die(const char *what)
{
    printf("error %s failed\n", what);
    perror(what);
    exit(1);
}

static size_t page;
static volatile size_t sink;

/* The flags winmem uses for every reservation, so the ratio shows winmem's own overhead. */
static int map_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

static void run_alloc_free(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, map_flags, -1, 0);
        if (p == MAP_FAILED)
            die("mmap(64 KiB)");
        if (munmap(p, 64 * KIB))
            die("munmap");
    }
}

/* Without MAP_NORESERVE a read-write mapping merges with neighbouring anonymous memory
 * (glibc's, the loader's) and munmap must split it again: measurably slower, so it is
 * reported separately (row alloc_free_64k_plain, bare only) rather than used as the floor. */
static void run_alloc_free_plain(long n)
{
    map_flags = MAP_PRIVATE | MAP_ANONYMOUS;
    run_alloc_free(n);
    map_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
}

static char *near_hint;

static void run_alloc2_near(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = mmap(near_hint, 64 * KIB, PROT_READ | PROT_WRITE, map_flags, -1, 0);
        if (p == MAP_FAILED)
            die("mmap(64 KiB, hint)");
        if (munmap(p, 64 * KIB))
            die("munmap");
    }
}

static char *probe_page;

static void run_isbadreadptr(long n)
{
    pid_t self = getpid();
    char c;
    for (long i = 0; i < n; i++) {
        struct iovec local = { &c, 1 }, remote = { probe_page, 1 };
        if (process_vm_readv(self, &local, 1, &remote, 1, 0) != 1)
            die("process_vm_readv");
    }
}

static void run_reserve_commit(long n)
{
    for (long i = 0; i < n; i++) {
        char *base = mmap(NULL, MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED)
            die("mmap(1 MiB PROT_NONE)");
        for (int k = 0; k < 16; k++)
            if (mprotect(base + (size_t)k * 64 * KIB, 64 * KIB, PROT_READ | PROT_WRITE))
                die("mprotect(64 KiB)");
        if (munmap(base, MIB))
            die("munmap");
    }
}

static char *protect_page;

static void protect_loop(char *p, long n)
{
    for (long i = 0; i < n; i++)
        if (mprotect(p, page, (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ))
            die("mprotect(1 page)");
}

static void run_protect(long n)
{
    protect_loop(protect_page, n);
}

/* A resident read-write 64 KiB mapping (the protect and fault rows' pages). */
static char *resident_64k(const char *what)
{
    char *p = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, map_flags, -1, 0);
    if (p == MAP_FAILED)
        die(what);
    memset(p, 7, 64 * KIB);
    return p;
}

/* map_view_64k: a 64 KiB memfd (the pagefile-backed section), sized, mapped shared,
 * written, unmapped and closed. */
static void run_map_view(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = memfd_create("bench-section", MFD_CLOEXEC);
        if (fd < 0)
            die("memfd_create");
        if (ftruncate(fd, (off_t)(64 * KIB)))
            die("ftruncate(64 KiB)");
        volatile char *v = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (v == MAP_FAILED)
            die("mmap(MAP_SHARED 64 KiB)");
        v[0] = (char)(i | 1);
        if (v[0] != (char)(i | 1))
            die("map_view_64k: the write landing");
        if (munmap((void *)v, 64 * KIB))
            die("munmap");
        if (close(fd))
            die("close(memfd)");
    }
}

/* guard_fault, av_fixup: the floor of a fault resumed by its handler.  The page is made
 * PROT_NONE, touched, and the SIGSEGV handler (SA_SIGINFO) makes it read-write and returns,
 * which retries the access.  The handler checks what it gets, as bench.c's does, and ends
 * the program loudly on anything unexpected. */
static _Thread_local char *fault_page;                     /* per thread, as bench.c's */
static _Thread_local volatile sig_atomic_t fault_expected; /* 0: no fault expected right now */
static _Thread_local volatile int fault_write; /* the access is a write (checked on x86-64) */
static _Thread_local volatile long fault_hits;

static void fault_fail(const char *what, const siginfo_t *si)
{
    char buf[200];
    int n = snprintf(buf, sizeof(buf), "error %s: signo %d si_code %d si_addr %p, expected %p\n",
                     what, si->si_signo, si->si_code, si->si_addr, (void *)fault_page);
    ssize_t ignored = write(STDOUT_FILENO, buf, (size_t)n);
    ignored = write(STDERR_FILENO, buf, (size_t)n);
    (void)ignored;
    _exit(3);
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)ucv;
    if (!fault_expected)
        fault_fail("unexpected SIGSEGV", si);
    if (si->si_code != SEGV_ACCERR || si->si_addr != (void *)fault_page)
        fault_fail("wrong SIGSEGV", si);
#if defined(__x86_64__)
    /* The page-fault error code: bit 1 set for a write, as winmem reads it. */
    if (!!(((ucontext_t *)ucv)->uc_mcontext.gregs[REG_ERR] & 2) != fault_write)
        fault_fail("wrong access kind", si);
#endif
    if (mprotect(fault_page, page, PROT_READ | PROT_WRITE))
        fault_fail("mprotect(PROT_READ | PROT_WRITE) in the handler", si);
    fault_expected = 0; /* exactly one fault per access */
    fault_hits++;
}

static void run_guard_fault(long n)
{
    for (long i = 0; i < n; i++) {
        if (mprotect(fault_page, page, PROT_NONE))
            die("mprotect(PROT_NONE)");
        fault_expected = 1;
        long before = fault_hits;
        if (*(volatile char *)fault_page != 7)
            die("guard_fault: wrong value read");
        if (fault_hits != before + 1)
            die("guard_fault: no fault");
    }
}

static void run_av_fixup(long n)
{
    for (long i = 0; i < n; i++) {
        if (mprotect(fault_page, page, PROT_NONE))
            die("mprotect(PROT_NONE)");
        fault_expected = 1;
        long before = fault_hits;
        *(volatile char *)fault_page = (char)i;
        if (fault_hits != before + 1)
            die("av_fixup: no fault");
        if (*(volatile char *)fault_page != (char)i)
            die("av_fixup: the write did not land");
    }
}

static void fault_handler_set(struct sigaction *old)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, old))
        die("sigaction(SIGSEGV)");
}

static void fault_row(const char *name, void (*fn)(long), int write_access, long iters)
{
    struct sigaction old;

    fault_page = resident_64k("mmap for a fault row");
    fault_handler_set(&old);
    fault_write = write_access;
    fault_hits = 0;
    measure(name, fn, iters, 1);
    printf("info %s_exceptions %ld\n", name, fault_hits);
    sigaction(SIGSEGV, &old, NULL);
    fault_expected = 0;
    munmap(fault_page, 64 * KIB);
    fault_page = NULL;
}

/* secure_unsecure's stand-in: mlock + munlock of a resident 64 KiB buffer. */
static char *lock_buf;

/* secure_event's floor: the write that makes the buffer resident, and the zap. */
static void run_touch_zap(long n)
{
    for (long i = 0; i < n; i++) {
        lock_buf[0] = 1;
        if (madvise(lock_buf, 64 * KIB, MADV_DONTNEED))
            die("madvise(MADV_DONTNEED)");
    }
}

static void run_lock_unlock(long n)
{
    for (long i = 0; i < n; i++) {
        if (mlock(lock_buf, 64 * KIB))
            die("mlock(64 KiB)");
        if (munlock(lock_buf, 64 * KIB))
            die("munlock(64 KiB)");
    }
}

/* Sorted bases of nbases 64 KiB "reservations", side by side as an allocator's would be (the
 * direction does not matter to a binary search), with an occasional gap so the array is not
 * a pure arithmetic progression. */
static uintptr_t *bases;
static long nbases;
static uintptr_t lookup_addr[LOOKUPS];

static void make_bases(long n)
{
    uintptr_t top = (uintptr_t)0x7f0000000000ULL;

    bases = malloc((size_t)n * sizeof(*bases));
    if (!bases)
        die("malloc");
    for (long i = n; i-- > 0;) {
        top -= 64 * KIB * (1 + (rng() % 8 == 0));
        bases[i] = top;
    }
    nbases = n;
}

static void query_loop(long from, long n)
{
    size_t acc = 0;

    for (long i = from; i < from + n; i++) {
        uintptr_t a = lookup_addr[i & (LOOKUPS - 1)];
        long lo = 0, hi = nbases; /* last base <= a is in [lo, hi) */
        while (hi - lo > 1) {
            long mid = lo + (hi - lo) / 2;
            if (bases[mid] <= a)
                lo = mid;
            else
                hi = mid;
        }
        uintptr_t b = bases[lo];
        if (a - b >= 64 * KIB)
            die("lookup");
        acc += (64 * KIB - ((a - b) & ~(page - 1))) + b; /* RegionSize + AllocationBase */
    }
    sink += acc;
}

static void run_query(long n)
{
    query_loop(0, n);
}

static void pick_lookups(void)
{
    size_t pages = 64 * KIB / page;
    for (long i = 0; i < LOOKUPS; i++)
        lookup_addr[i] = bases[rng() % (unsigned long long)nbases] + (rng() % pages) * page;
}

/* ---- the multithreaded rows (harness.h: measure_mt) ---- */

static char *mt_page[MT_MAX]; /* each thread's own resident 64 KiB */
static int mt_count[2], mt_ncounts;

static void mt_alloc_free(int tid, long n)
{
    (void)tid;
    run_alloc_free(n);
}

static void mt_protect(int tid, long n)
{
    protect_loop(mt_page[tid], n);
}

static void mt_query(int tid, long n)
{
    query_loop((long)tid * (LOOKUPS / MT_MAX), n);
}

static void mt_guard_fault(int tid, long n)
{
    fault_page = mt_page[tid];
    fault_write = 0;
    run_guard_fault(n);
}

static void mt_map_view(int tid, long n)
{
    (void)tid;
    run_map_view(n);
}

/* rpmalloc-like churn (harness.h: churn_run), as rpmalloc's Linux path would make the calls,
 * with Windows' meaning: a decommitted page reads zero when committed again and faults until
 * then.  The least calls that give it: one mmap(MAP_FIXED, PROT_NONE) over the pages
 * (dropping them), one mprotect to commit them again. */
static struct churn churn_state[MT_MAX];

static char *churn_make(size_t size)
{
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, map_flags, -1, 0);
    if (p == MAP_FAILED)
        die("churn: mmap");
    return p;
}

static void churn_release(char *span, size_t size)
{
    if (munmap(span, size))
        die("churn: munmap");
}

static void churn_decommit(char *at, size_t len)
{
    if (mmap(at, len, PROT_NONE, map_flags | MAP_FIXED, -1, 0) == MAP_FAILED)
        die("churn: mmap(MAP_FIXED, PROT_NONE)");
}

static void churn_recommit(char *at, size_t len)
{
    if (mprotect(at, len, PROT_READ | PROT_WRITE))
        die("churn: mprotect(PROT_READ | PROT_WRITE)");
}

static void mt_churn(int tid, long n)
{
    churn_run(&churn_state[tid], n, page);
}

static void run_churn(long n)
{
    churn_run(&churn_state[0], n, page);
}

static void churn_reset(void)
{
    for (int k = 0; k < MT_MAX; k++) {
        churn_drain(&churn_state[k]);
        memset(&churn_state[k], 0, sizeof(churn_state[k]));
        churn_state[k].seed = 0x9e3779b97f4a7c15ULL * (unsigned long long)(k + 1);
    }
}

static void mt_rows(void)
{
    char name[64];
    struct sigaction old;

    if (wanted("churn")) {
        churn_reset();
        measure("churn", run_churn, scaled(6000), 1);
        churn_reset();
    }
    for (int i = 0; i < mt_ncounts; i++) {
        int t = mt_count[i];
        for (int k = 0; k < t; k++)
            mt_page[k] = resident_64k("mmap for a multithreaded row");
        snprintf(name, sizeof(name), "alloc_free_64k_%dt", t);
        if (wanted_in("mt", name))
            measure_mt(name, t, mt_alloc_free, scaled(6000));
        snprintf(name, sizeof(name), "protect_1page_%dt", t);
        if (wanted_in("mt", name))
            measure_mt(name, t, mt_protect, scaled(10000));
        snprintf(name, sizeof(name), "guard_fault_%dt", t);
        if (wanted_in("mt", name)) {
            fault_handler_set(&old);
            measure_mt(name, t, mt_guard_fault, scaled(3000));
            sigaction(SIGSEGV, &old, NULL);
        }
        snprintf(name, sizeof(name), "map_view_64k_%dt", t);
        if (wanted_in("mt", name))
            measure_mt(name, t, mt_map_view, scaled(2000));
        snprintf(name, sizeof(name), "churn_%dt", t);
        if (wanted_in("mt", name)) {
            churn_reset();
            measure_mt(name, t, mt_churn, scaled(6000));
            churn_reset();
        }
        for (int k = 0; k < t; k++)
            munmap(mt_page[k], 64 * KIB);
    }
}

static void query_row(const char *name, long want, long iters)
{
    char mt_name[64];

    make_bases(want);
    printf("info %s_reservations %ld\n", name, nbases);
    pick_lookups();
    if (wanted(name))
        measure(name, run_query, iters, 1);
    for (int i = 0; i < mt_ncounts; i++) {
        snprintf(mt_name, sizeof(mt_name), "%s_%dt", name, mt_count[i]);
        if (wanted_in("mt", mt_name))
            measure_mt(mt_name, mt_count[i], mt_query, iters);
    }
    free(bases);
    bases = NULL;
    nbases = 0;
}

/* ---- cost at scale: as bench.c's scale_rows, with real reservations (mmap PROT_NONE 64 KiB,
 * MAP_NORESERVE, as winmem makes them) so the kernel holds as many; the lookups search a
 * sorted copy of their bases. ---- */
static int cmp_uintptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void scale_rows(long e_count)
{
    static const char *const fam[4] = { "alloc_free_64k", "protect_1page", "query", "guard_fault" };
    long level[3] = { 10, 10000, e_count };
    char name[4][64];
    int last = wanted("query_1m") ? 2 : -1;

    for (int l = 0; l < 3; l++)
        for (int f = 0; f < 4; f++) {
            snprintf(name[f], sizeof(name[f]), "%s_%s", fam[f], scale_level_name[l]);
            if (wanted_in("scale", name[f]) && l > last)
                last = l;
        }
    if (last == 2 && e_count <= level[1]) {
        printf("note query_1m and the n1m rows skipped (--e-count %ld)\n", e_count);
        last = 1;
    }
    if (last < 0)
        return;
    uintptr_t *live = malloc((size_t)level[last] * sizeof(*live));
    bases = malloc((size_t)level[last] * sizeof(*bases));
    if (!live || !bases)
        die("malloc");
    long nlive = 0;
    for (int l = 0; l <= last; l++) {
        while (nlive < level[l]) {
            void *p = mmap(NULL, 64 * KIB, PROT_NONE, map_flags, -1, 0);
            if (p == MAP_FAILED) {
                printf("note scale mmap refused reservation %ld; continuing with %ld\n", nlive + 1,
                       nlive);
                break;
            }
            live[nlive++] = (uintptr_t)p;
        }
        printf("info scale_%s_reservations %ld\n", scale_level_name[l], nlive);
        if (l == 2)
            printf("info query_1m_reservations %ld\n", nlive);
        if (nlive == 0)
            return;
        for (int f = 0; f < 4; f++)
            snprintf(name[f], sizeof(name[f]), "%s_%s", fam[f], scale_level_name[l]);
        if (wanted_in("scale", name[0]))
            measure(name[0], run_alloc_free, scaled(6000), 1);
        if (wanted_in("scale", name[1])) {
            protect_page = resident_64k("mmap for protect_1page");
            measure(name[1], run_protect, scaled(10000), 1);
            munmap(protect_page, 64 * KIB);
        }
        const char *q[2] = { name[2], "query_1m" };
        int nq = wanted_in("scale", name[2]) + (l == 2 && wanted("query_1m"));
        if (nq) {
            memcpy(bases, live, (size_t)nlive * sizeof(*bases));
            qsort(bases, (size_t)nlive, sizeof(*bases), cmp_uintptr);
            nbases = nlive;
            pick_lookups();
            measure_rows(wanted_in("scale", name[2]) ? q : q + 1, nq, run_query, scaled(100000), 1);
        }
        if (wanted_in("scale", name[3]))
            fault_row(name[3], run_guard_fault, 0, scaled(3000));
    }
    /* The reservations stay: the process ends next. */
}

/* ---- write watches ---- */

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
struct bare_page_region {
    uint64_t start, end, categories;
};
struct bare_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define BARE_PAGEMAP_SCAN _IOWR('f', 16, struct bare_pm_scan_arg)

static int ww_uffd = -1, ww_pagemap = -1, ww_fallback;
static char *ww_base;
static size_t ww_size, ww_stride, ww_next;
static void **ww_out;
static uint64_t *ww_bits; /* fallback: written pages */

static int ww_open(void)
{
    struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
    ww_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* UFFD_USER_MODE_ONLY */);
    if (ww_uffd < 0 || ioctl(ww_uffd, UFFDIO_API, &api) != 0)
        return -1;
    ww_pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    return ww_pagemap < 0 ? -1 : 0;
}

static void ww_on_segv(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)ucv;
    char *a = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(page - 1));
    if (a < ww_base || a >= ww_base + ww_size || si->si_code != SEGV_ACCERR)
        fault_fail("unexpected SIGSEGV", si);
    size_t i = (size_t)(a - ww_base) / page;
    ww_bits[i / 64] |= (uint64_t)1 << (i % 64);
    if (mprotect(a, page, PROT_READ | PROT_WRITE))
        fault_fail("mprotect in the handler", si);
}

/* Watch [ww_base, ww_base + ww_size): fresh read-write anonymous memory. */
static void ww_map(size_t size)
{
    ww_size = size;
    ww_base = mmap(NULL, size, PROT_READ | PROT_WRITE, map_flags, -1, 0);
    if (ww_base == MAP_FAILED)
        die("mmap for a write-watch row");
    if (madvise(ww_base, size, MADV_NOHUGEPAGE))
        die("madvise(MADV_NOHUGEPAGE)");
    if (ww_fallback) {
        ww_bits = calloc(size / page / 64 + 1, sizeof(*ww_bits));
        if (!ww_bits || mprotect(ww_base, size, PROT_READ))
            die("write-watch fallback setup");
    } else {
        struct uffdio_register reg = { .range = { (uintptr_t)ww_base, size },
                                       .mode = UFFDIO_REGISTER_MODE_WP };
        if (ioctl(ww_uffd, UFFDIO_REGISTER, &reg))
            die("UFFDIO_REGISTER");
    }
}

static void ww_unmap(void)
{
    munmap(ww_base, ww_size);
    free(ww_bits);
    ww_bits = NULL;
}

/* Reset [base, base+len) and store the written pages' addresses (out may be NULL). */
static long ww_reset(char *base, size_t len, void **out)
{
    long n = 0;
    if (ww_fallback) {
        size_t first = (size_t)(base - ww_base) / page, last = first + len / page;
        for (size_t w = first / 64; w * 64 < last; w++) {
            uint64_t bits = ww_bits[w];
            while (bits) {
                size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                size_t j = i + 1; /* a run of written pages: one mprotect */
                while (j < last && (ww_bits[j / 64] >> (j % 64)) & 1 && j / 64 == w) {
                    bits &= ~((uint64_t)1 << (j % 64));
                    j++;
                }
                if (mprotect(ww_base + i * page, (j - i) * page, PROT_READ))
                    die("mprotect(PROT_READ)");
                for (size_t k = i; k < j; k++) {
                    if (out)
                        out[n] = ww_base + k * page;
                    n++;
                }
                ww_bits[w] &= ~((~(uint64_t)0 >> (64 - (j - i))) << (i % 64));
            }
        }
        return n;
    }
    struct bare_page_region vec[64];
    uint64_t start = (uintptr_t)base, end = start + len;
    while (start < end) {
        struct bare_pm_scan_arg arg = {
            .size = sizeof(arg),
            .flags = 3 /* PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC */,
            .start = start,
            .end = end,
            .vec = (uintptr_t)vec,
            .vec_len = 64,
            .category_inverted = 1 << 5,
            .category_mask = (1 << 1) | (1 << 5),
            .category_anyof_mask = (1 << 3) | (1 << 4),
            .return_mask = 1 << 1,
        };
        int got = ioctl(ww_pagemap, BARE_PAGEMAP_SCAN, &arg);
        if (got < 0)
            die("PAGEMAP_SCAN");
        for (int r = 0; r < got; r++)
            for (uint64_t a = vec[r].start; a < vec[r].end; a += page) {
                if (out)
                    out[n] = (void *)(uintptr_t)a;
                n++;
            }
        start = arg.walk_end;
    }
    return n;
}

static void run_ww_first_write(long n)
{
    for (long i = 0; i < n; i++) {
        if (ww_next == WW_FIRST_PAGES) {
            ww_reset(ww_base, WW_FIRST_PAGES * page, NULL);
            ww_next = 0;
        }
        ww_base[ww_next++ * page] = (char)i;
    }
}

static void ww_prepare(void)
{
    for (size_t off = 0; off < ww_size; off += ww_stride)
        ww_base[off] = 1;
}

static long ww_scan(void)
{
    return ww_reset(ww_base, ww_size, ww_out);
}

static void ww_rows(int fallback)
{
    const char *sfx = fallback ? "_fallback" : "";
    char name[64];
    struct sigaction sa, old;

    ww_fallback = fallback;
    if (!fallback && ww_uffd < 0 && ww_open()) {
        printf("note ww rows: userfaultfd write-protect or PAGEMAP_SCAN refused here\n");
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = ww_on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (fallback && sigaction(SIGSEGV, &sa, &old))
        die("sigaction(SIGSEGV)");
    snprintf(name, sizeof(name), "ww_first_write%s", sfx);
    if (wanted("ww_first_write")) {
        ww_map(WW_FIRST_PAGES * page);
        memset(ww_base, 1, WW_FIRST_PAGES * page);
        ww_reset(ww_base, WW_FIRST_PAGES * page, NULL);
        ww_next = 0;
        measure(name, run_ww_first_write, scaled(40000), 1);
        ww_unmap();
    }
    static const struct {
        const char *name;
        size_t size;
    } shapes[] = { { "ww_scan_256m", WW_SMALL }, { "ww_scan_4g", WW_LARGE } };
    for (int i = 0; i < 2; i++) {
        if (!wanted(shapes[i].name))
            continue;
        ww_map(shapes[i].size);
        ww_stride = 7 * page * (ww_size / WW_SMALL);
        long expect = (long)((ww_size + ww_stride - 1) / ww_stride);
        ww_out = malloc((size_t)expect * sizeof(void *));
        if (!ww_out)
            die("malloc");
        snprintf(name, sizeof(name), "%s%s", shapes[i].name, sfx);
        measure_scan(name, ww_prepare, ww_scan, expect);
        free(ww_out);
        ww_unmap();
    }
    if (fallback)
        sigaction(SIGSEGV, &old, NULL);
}

/* ---- heaps: glibc's malloc (the floor) and mimalloc ---- */

#define G_ALLOC(n) malloc(n)
#define G_FREE(p) free(p)
HEAP_LOAD(glibc, G_ALLOC, G_FREE)

/* mimalloc is loaded with dlopen(RTLD_LOCAL): linked in, its library would replace malloc
 * for the whole program and the glibc rows would measure mimalloc.  The calls go through a
 * pointer (about 1 ns more than a direct call). */
static void *(*mi_alloc_fn)(size_t);
static void (*mi_free_fn)(void *);
static void (*mi_collect_fn)(int);
#define MI_ALLOC(n) mi_alloc_fn(n)
#define MI_FREE(p) mi_free_fn(p)
HEAP_LOAD(mi, MI_ALLOC, MI_FREE)

static void mi_compact(void)
{
    mi_collect_fn(1);
}

static void heap_rows(void)
{
    glibc_rows("", scaled(2000000));
    if (wanted("heap_footprint"))
        glibc_footprint("", NULL);
    void *lib = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        lib = dlopen("libmimalloc.so", RTLD_NOW | RTLD_LOCAL);
    if (lib) {
        *(void **)&mi_alloc_fn = dlsym(lib, "mi_malloc");
        *(void **)&mi_free_fn = dlsym(lib, "mi_free");
        *(void **)&mi_collect_fn = dlsym(lib, "mi_collect");
    }
    if (!mi_alloc_fn || !mi_free_fn || !mi_collect_fn) {
        printf("note heap_mi mimalloc not installed (libmimalloc-dev): no mimalloc figures\n");
        return;
    }
    mi_rows("_mi", scaled(2000000));
    if (wanted("heap_footprint"))
        mi_footprint("_mi", mi_compact);
}

int main(int argc, char **argv)
{
    long e_count = 1000000;
    double e_budget = 0; /* bench.c's option, accepted and unused here */

    if (parse_args(argc, argv, &e_count, &e_budget))
        return 2;
    page = (size_t)sysconf(_SC_PAGESIZE);
    printf("info build bare\n");
    int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    printf("info page %zu granularity %zu reps %d scale %g cpus %d\n", page, page, reps, scale,
           cpus);
    if (!only || wanted("mt") || strstr(only, "_2t") || strstr(only, "_4t"))
        mt_ncounts = mt_counts(cpus, mt_count);
    fflush(stdout);

    if (wanted("alloc_free_64k")) {
        measure("alloc_free_64k", run_alloc_free, scaled(10000), 1);
        if (!only) /* for reference, once: run.sh asks for it in its first round only */
            measure("alloc_free_64k_plain", run_alloc_free_plain, scaled(10000), 1);
    }
    if (wanted("reserve_commit16_release"))
        measure("reserve_commit16_release", run_reserve_commit, scaled(1600), 1);
    if (wanted("protect_1page")) {
        protect_page = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, map_flags, -1, 0);
        if (protect_page == MAP_FAILED)
            die("mmap for protect_1page");
        memset(protect_page, 1, 64 * KIB);
        measure("protect_1page", run_protect, scaled(16000), 1);
        munmap(protect_page, 64 * KIB);
    }
    if (wanted("map_view_64k"))
        measure("map_view_64k", run_map_view, scaled(3000), 1);
    if (wanted("alloc2_near")) {
        void *anchor = mmap(NULL, 64 * KIB, PROT_NONE, map_flags, -1, 0);
        if (anchor == MAP_FAILED)
            die("mmap for alloc2_near");
        near_hint = (char *)anchor + 64 * KIB;
        measure("alloc2_near", run_alloc2_near, scaled(2000), 1);
        munmap(anchor, 64 * KIB);
    }
    if (wanted("isbadreadptr")) {
        probe_page = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, map_flags, -1, 0);
        if (probe_page == MAP_FAILED)
            die("mmap for isbadreadptr");
        memset(probe_page, 1, 64 * KIB);
        measure("isbadreadptr", run_isbadreadptr, scaled(200000), 1);
        munmap(probe_page, 64 * KIB);
    }
    if (wanted("guard_fault"))
        fault_row("guard_fault", run_guard_fault, 0, scaled(5000));
    if (wanted("av_fixup"))
        fault_row("av_fixup", run_av_fixup, 1, scaled(5000));
    if (wanted("alloc_free_cb0") || wanted("alloc_free_cb1") || wanted("alloc_free_cb16")) {
        static const char *const cb_names[] = { "alloc_free_cb0", "alloc_free_cb1",
                                                "alloc_free_cb16" };
        measure_rows(cb_names, 3, run_alloc_free, scaled(10000), 1);
    }
    if (wanted("refused_free"))
        measure("refused_free", run_alloc_free, scaled(8000), 1);
    if (wanted("secure_unsecure") || wanted("secure_unsecure_unwatched")) {
        static const char *const su_names[] = { "secure_unsecure", "secure_unsecure_unwatched" };
        lock_buf = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, map_flags, -1, 0);
        if (lock_buf == MAP_FAILED)
            die("mmap for secure_unsecure");
        memset(lock_buf, 1, 64 * KIB);
        if (mlock(lock_buf, 64 * KIB) || munlock(lock_buf, 64 * KIB))
            printf("note secure_unsecure mlock of 64 KiB refused (RLIMIT_MEMLOCK?): no floor\n");
        else
            measure_rows(su_names, 2, run_lock_unlock, scaled(4000), 1);
        munmap(lock_buf, 64 * KIB);
    }
    if (wanted("secure_event") || wanted("secure_event_raw")) {
        static const char *const ev_names[] = { "secure_event", "secure_event_raw" };
        lock_buf = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, map_flags, -1, 0);
        if (lock_buf == MAP_FAILED)
            die("mmap for secure_event");
        measure_rows(ev_names, 2, run_touch_zap, scaled(4000), 1);
        munmap(lock_buf, 64 * KIB);
    }
    if (wanted("munmap_secured"))
        measure("munmap_secured", run_alloc_free, scaled(10000), 1);
    if (wanted("query_20k") || (mt_ncounts && wanted_in("mt", "query_20k_2t")) ||
        (mt_ncounts > 1 && wanted("query_20k_4t")))
        query_row("query_20k", 20000, scaled(200000));
    mt_rows();
    heap_rows();
    ww_rows(0);
    ww_rows(1);
    scale_rows(e_count);
    printf("info sink %zu\n", sink & 1);
    return 0;
}
