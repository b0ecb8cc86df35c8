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

/* The scan rows' shapes: 256 MiB with 1 page in 7 written, and the same number of written
 * pages spread over 4 GiB (the cost should follow the pages written, not the size). */
#define WW_SMALL (256 * MIB)
#define WW_LARGE ((size_t)4096 * MIB)
#define WW_FIRST_PAGES 4096 /* ww_first_write cycles through this many pages */

#endif
