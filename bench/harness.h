/*
 * harness.h - what bench.c (Win32, also built with mingw-w64 for Wine) and bare.c (raw Linux
 * calls) share: the timer, the random sequence, the options and the measuring loop, so the
 * two sides of every ratio are timed the same way.  Included once by each program.
 */
#ifndef WINMEM_BENCH_HARNESS_H
#define WINMEM_BENCH_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)
#define LOOKUPS 32768 /* precomputed query addresses (power of two) */
#define MAX_REPS 64

/* ---- timer: ticks and their rate ---- */

static long long tick_rate; /* ticks per second */

static long long ticks(void)
{
#ifdef _WIN32
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    return c.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
#endif
}

static void timer_init(void)
{
#ifdef _WIN32
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    tick_rate = f.QuadPart;
#else
    tick_rate = 1000000000LL;
#endif
}

static double ticks_to_ns(long long d)
{
    return (double)d * 1e9 / (double)tick_rate;
}

/* ---- small helpers ---- */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned long long rng(void) /* xorshift64*: the same sequence on every platform */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static double scale = 1.0;
static int reps = 7;
static const char *only;

static long scaled(long n)
{
    long v = (long)((double)n * scale);
    return v < 2 ? 2 : v & ~1L; /* even: the protect row ends where it started */
}

static int wanted(const char *name)
{
    if (!only)
        return 1;
    size_t len = strlen(name);
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += len)
        if ((p == only || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
            return 1;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The options both programs take; also starts the timer.  --e-budget (seconds to spend
 * making the 1M reservations) matters to bench.c only.  0, or 2 after printing the usage. */
static int parse_args(int argc, char **argv, long *e_count, double *e_budget)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--e-count") && i + 1 < argc)
            *e_count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--e-budget") && i + 1 < argc)
            *e_budget = atof(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--only a,b] [--scale F] [--reps N] [--e-count N] "
                    "[--e-budget S]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    if (reps > MAX_REPS)
        reps = MAX_REPS;
    timer_init();
    return 0;
}

/* Run fn(iters) once to warm up, then reps times; print the best ns per operation under
 * each of names (one measurement standing for several rows). */
static void measure_rows(const char *const *names, int nnames, void (*fn)(long), long iters,
                         long ops_per_iter)
{
    double ns[MAX_REPS];

    fn(iters / 10 > 2 ? (iters / 10) & ~1L : 2);
    for (int r = 0; r < reps; r++) {
        long long t0 = ticks();
        fn(iters);
        long long t1 = ticks();
        ns[r] = ticks_to_ns(t1 - t0) / ((double)iters * (double)ops_per_iter);
    }
    qsort(ns, (size_t)reps, sizeof(ns[0]), cmp_double);
    for (int k = 0; k < nnames; k++) {
        printf("row %s %.1f\n", names[k], ns[0]);
        printf("spread %s %.1f %.1f %.1f\n", names[k], ns[0], ns[reps / 2], ns[reps - 1]);
    }
    fflush(stdout);
}

static void measure(const char *name, void (*fn)(long), long iters, long ops_per_iter)
{
    measure_rows(&name, 1, fn, iters, ops_per_iter);
}

/* Write-watch scan rows: prepare() (untimed: write the pages) then scan() (timed: one
 * GetWriteWatch-with-reset over the whole range, returning how many pages it found, which
 * must be `expect`), reps times; the best ns per scan. */
static void measure_scan(const char *name, void (*prepare)(void), long (*scan)(void), long expect)
{
    double ns[MAX_REPS];

    prepare();
    (void)scan(); /* warm-up */
    for (int r = 0; r < reps; r++) {
        prepare();
        long long t0 = ticks();
        long got = scan();
        long long t1 = ticks();
        if (got != expect) {
            printf("error %s found %ld pages, expected %ld\n", name, got, expect);
            fprintf(stderr, "error %s found %ld pages, expected %ld\n", name, got, expect);
            exit(3);
        }
        ns[r] = ticks_to_ns(t1 - t0);
    }
    qsort(ns, (size_t)reps, sizeof(ns[0]), cmp_double);
    printf("row %s %.1f\n", name, ns[0]);
    printf("spread %s %.1f %.1f %.1f\n", name, ns[0], ns[reps / 2], ns[reps - 1]);
    fflush(stdout);
}

/* ---- the multithreaded rows: N threads started together, timed over their common interval ----
 * Each rep creates the threads (outside the timing), lets them all reach a start line, then
 * releases them at once; the row is the wall time from the first thread's start to the last
 * one's finish divided by the operations ONE thread did: ns per operation per thread, so a
 * call that scales perfectly shows its one-thread cost and one that serialises on N threads
 * shows N times that.  Native builds (bench_winmem, bench_bare) use pthreads; the mingw-w64
 * build of bench.c uses CreateThread/WaitForSingleObject (winmem has no threads API). */
#define MT_MAX 4

#ifdef _WIN32
#define MT_RET DWORD WINAPI
typedef HANDLE mt_thread_t;
static int mt_start(mt_thread_t *t, DWORD(WINAPI *fn)(void *), void *arg)
{
    *t = CreateThread(NULL, 0, fn, arg, 0, NULL);
    return *t ? 0 : -1;
}
static void mt_join(mt_thread_t t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
static void mt_yield(void)
{
    SwitchToThread();
}
#else
#include <pthread.h>
#include <sched.h>
#define MT_RET void *
typedef pthread_t mt_thread_t;
static int mt_start(mt_thread_t *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}
static void mt_join(mt_thread_t t)
{
    pthread_join(t, NULL);
}
static void mt_yield(void)
{
    sched_yield();
}
#endif

static struct {
    void (*fn)(int tid, long n);
    long n;
    int ready, go; /* __atomic only */
    long long t0[MT_MAX], t1[MT_MAX];
} mt;

static MT_RET mt_worker(void *arg)
{
    int tid = (int)(size_t)arg;

    __atomic_add_fetch(&mt.ready, 1, __ATOMIC_ACQ_REL);
    /* Yield rather than spin: on 2 CPUs the main thread needs one to say go. */
    while (!__atomic_load_n(&mt.go, __ATOMIC_ACQUIRE))
        mt_yield();
    mt.t0[tid] = ticks();
    mt.fn(tid, mt.n);
    mt.t1[tid] = ticks();
    return 0;
}

/* fn(tid, n) on nthreads threads at once; the common interval in ns. */
static double mt_run(int nthreads, void (*fn)(int, long), long n)
{
    mt_thread_t th[MT_MAX];

    mt.fn = fn;
    mt.n = n;
    __atomic_store_n(&mt.ready, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&mt.go, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < nthreads; i++)
        if (mt_start(&th[i], mt_worker, (void *)(size_t)i)) {
            printf("error creating thread %d of %d\n", i + 1, nthreads);
            fflush(stdout);
            exit(1);
        }
    while (__atomic_load_n(&mt.ready, __ATOMIC_ACQUIRE) < nthreads)
        mt_yield();
    __atomic_store_n(&mt.go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < nthreads; i++)
        mt_join(th[i]);
    long long first = mt.t0[0], last = mt.t1[0];
    for (int i = 1; i < nthreads; i++) {
        if (mt.t0[i] < first)
            first = mt.t0[i];
        if (mt.t1[i] > last)
            last = mt.t1[i];
    }
    return ticks_to_ns(last - first);
}

/* As measure(), each thread doing iters operations: the best ns per operation per thread. */
static void measure_mt(const char *name, int nthreads, void (*fn)(int, long), long iters)
{
    double ns[MAX_REPS];

    mt_run(nthreads, fn, iters / 10 > 2 ? (iters / 10) & ~1L : 2);
    for (int r = 0; r < reps; r++)
        ns[r] = mt_run(nthreads, fn, iters) / (double)iters;
    qsort(ns, (size_t)reps, sizeof(ns[0]), cmp_double);
    printf("row %s %.1f\n", name, ns[0]);
    printf("spread %s %.1f %.1f %.1f\n", name, ns[0], ns[reps / 2], ns[reps - 1]);
    fflush(stdout);
}

/* The thread counts of the multithreaded rows: 2, and 4 where there are 4 CPUs (a row on more
 * threads than CPUs would time the scheduler).  Prints the note for a skipped count. */
static int mt_counts(int cpus, int *counts)
{
    int n = 0;

    for (int t = 2; t <= MT_MAX; t *= 2) {
        if (t <= cpus)
            counts[n++] = t;
        else
            printf("note mt_%dt rows on %d threads skipped: %d CPU%s online\n", t, t, cpus,
                   cpus == 1 ? "" : "s");
    }
    return n;
}

/* An option-group name (as --only takes) or the row's own. */
static int wanted_in(const char *group, const char *name)
{
    return wanted(group) || wanted(name);
}

/* ---- rpmalloc-like churn: spans of 64 KiB-2 MiB made, partly decommitted and recommitted,
 * released, picked by a per-thread xorshift so both programs do the same operations.  The
 * calls are each program's own (churn_make ... churn_recommit below). ---- */
#define CHURN_SLOTS 16

struct churn {
    char *span[CHURN_SLOTS];
    size_t size[CHURN_SLOTS];
    unsigned long long seed;
    long made, released, recommitted;
};

/* The calls, defined by each program: reserve + commit a span, release it, decommit pages
 * of it and commit them again. */
static char *churn_make(size_t size);
static void churn_release(char *span, size_t size);
static void churn_decommit(char *at, size_t len);
static void churn_recommit(char *at, size_t len);

/* n steps.  Each picks a slot; an empty one gets a new span (its first page written); a live
 * one is released (1 in 2) or has 1-16 of its pages decommitted, recommitted and the first
 * of them written.  Steady state: two thirds of the slots live, a third of the steps of each
 * kind. */
static void churn_run(struct churn *c, long n, size_t page)
{
    for (long i = 0; i < n; i++) {
        unsigned long long r = c->seed;
        r ^= r >> 12;
        r ^= r << 25;
        r ^= r >> 27;
        c->seed = r;
        r *= 0x2545f4914f6cdd1dULL;
        unsigned k = (unsigned)(r % CHURN_SLOTS);
        char *s = c->span[k];
        if (!s) {
            size_t size = 64 * KIB << ((r >> 8) % 6);
            s = churn_make(size);
            s[0] = 1;
            c->span[k] = s;
            c->size[k] = size;
            c->made++;
        } else if ((r >> 16) & 1) {
            churn_release(s, c->size[k]);
            c->span[k] = NULL;
            c->released++;
        } else {
            size_t pages = c->size[k] / page;
            size_t len = 1 + (size_t)((r >> 20) % (pages < 16 ? pages : 16));
            size_t at = (size_t)((r >> 32) % (pages - len + 1));
            churn_decommit(s + at * page, len * page);
            churn_recommit(s + at * page, len * page);
            s[at * page] = 1;
            c->recommitted++;
        }
    }
}

/* Release what a churn row left live. */
static void churn_drain(struct churn *c)
{
    for (int k = 0; k < CHURN_SLOTS; k++)
        if (c->span[k]) {
            churn_release(c->span[k], c->size[k]);
            c->span[k] = NULL;
        }
}

/* The scale rows' levels: alloc/free, protect, query and fault measured with this many live
 * 64 KiB reservations (the last is --e-count, 1,000,000 by default). */
static const char *const scale_level_name[3] = { "n10", "n10k", "n1m" };

/* The scan rows' shapes: 256 MiB with 1 page in 7 written, and the same number of written
 * pages spread over 4 GiB (the cost should follow the pages written, not the size). */
#define WW_SMALL (256 * MIB)
#define WW_LARGE ((size_t)4096 * MIB)
#define WW_FIRST_PAGES 4096 /* ww_first_write cycles through this many pages */

#endif
