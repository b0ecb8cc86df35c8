/*
 * heapload.h - the heap rows' workloads, written once and instantiated per allocator
 * (HEAP_LOAD(prefix, alloc, free)): bench.c for HeapAlloc/HeapFree (winmem and Wine), bare.c
 * for glibc's malloc/free and mimalloc's mi_malloc/mi_free.  The calls are direct, so every
 * allocator is timed the same way.
 *
 *   <prefix>_64b(n)       n x (allocate 64 bytes, touch, free)
 *   <prefix>_random(n)    n x (free a random one of 4,096 live blocks, allocate 16 B-4 KiB)
 *   <prefix>_random_2t(n) the same, n operations in all, on 2 threads at once, each with its
 *                         own 4,096 live blocks, one allocator shared
 *   <prefix>_footprint()  info rows: bytes of address space per 64-byte block, and the
 *                         resident memory kept after freeing 64 MiB of blocks (Linux only)
 * Include after harness.h; define HEAPLOAD_THREADS as pthread or win32.
 */
#ifndef WINMEM_BENCH_HEAPLOAD_H
#define WINMEM_BENCH_HEAPLOAD_H

#define HL_LIVE 4096

struct hl_thread {
    void *slot[HL_LIVE];
    unsigned long long seed;
    long n;
};

static unsigned long long hl_next(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

static int hl_cmp_ptr(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return x < y ? -1 : x > y;
}

#ifdef _WIN32
static long hl_rss_kib(void)
{
    return -1;
}
#else
#include <unistd.h>
static long hl_rss_kib(void)
{
    long pages = -1, rss = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = -1;
        fclose(f);
    }
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}
#endif

#ifdef _WIN32
#define HL_THREAD_RET DWORD WINAPI
#define HL_THREAD_START(t, fn, arg) ((t) = CreateThread(NULL, 0, fn, arg, 0, NULL))
#define HL_THREAD_JOIN(t) (WaitForSingleObject((t), INFINITE), CloseHandle(t))
typedef HANDLE hl_thread_t;
#else
#include <pthread.h>
#define HL_THREAD_RET void *
#define HL_THREAD_START(t, fn, arg) pthread_create(&(t), NULL, fn, arg)
#define HL_THREAD_JOIN(t) pthread_join((t), NULL)
typedef pthread_t hl_thread_t;
#endif

#define HEAP_LOAD(P, ALLOC, FREE)                                                           \
    static struct hl_thread P##_t[2];                                                       \
    static void P##_64b(long n)                                                             \
    {                                                                                       \
        for (long i = 0; i < n; i++) {                                                      \
            volatile char *p = ALLOC(64);                                                   \
            p[0] = 1;                                                                       \
            FREE((void *)p);                                                                \
        }                                                                                   \
    }                                                                                       \
    static void P##_churn(struct hl_thread *t)                                              \
    {                                                                                       \
        unsigned long long s = t->seed;                                                     \
        for (long i = 0; i < t->n; i++) {                                                   \
            unsigned long long r = hl_next(&s);                                             \
            unsigned k = (unsigned)(r & (HL_LIVE - 1));                                     \
            size_t size = 16 + (size_t)((r >> 12) % (4096 - 16 + 1));                       \
            FREE(t->slot[k]);                                                               \
            char *p = ALLOC(size);                                                          \
            p[0] = 1;                                                                       \
            t->slot[k] = p;                                                                 \
        }                                                                                   \
        t->seed = s;                                                                        \
    }                                                                                       \
    static void P##_fill(struct hl_thread *t, unsigned long long seed)                      \
    {                                                                                       \
        t->seed = seed;                                                                     \
        for (unsigned k = 0; k < HL_LIVE; k++) {                                            \
            t->slot[k] = ALLOC(16 + (size_t)(hl_next(&t->seed) % (4096 - 16 + 1)));         \
            ((char *)t->slot[k])[0] = 1;                                                    \
        }                                                                                   \
    }                                                                                       \
    static void P##_drain(struct hl_thread *t)                                              \
    {                                                                                       \
        for (unsigned k = 0; k < HL_LIVE; k++)                                              \
            FREE(t->slot[k]);                                                               \
    }                                                                                       \
    static void P##_random(long n)                                                          \
    {                                                                                       \
        P##_t[0].n = n;                                                                     \
        P##_churn(&P##_t[0]);                                                               \
    }                                                                                       \
    static HL_THREAD_RET P##_thread(void *arg)                                              \
    {                                                                                       \
        P##_churn(arg);                                                                     \
        return 0;                                                                           \
    }                                                                                       \
    static void P##_random_2t(long n)                                                       \
    {                                                                                       \
        hl_thread_t th[2];                                                                  \
        for (int i = 0; i < 2; i++) {                                                       \
            P##_t[i].n = n / 2;                                                             \
            HL_THREAD_START(th[i], P##_thread, &P##_t[i]);                                  \
        }                                                                                   \
        for (int i = 0; i < 2; i++)                                                         \
            HL_THREAD_JOIN(th[i]);                                                          \
    }                                                                                       \
    static void P##_rows(const char *suffix, long iters)                                    \
    {                                                                                       \
        char name[64];                                                                      \
        snprintf(name, sizeof(name), "heap_64b%s", suffix);                                 \
        if (wanted("heap_64b"))                                                             \
            measure(name, P##_64b, iters, 1);                                               \
        if (wanted("heap_random") || wanted("heap_random_2t")) {                            \
            P##_fill(&P##_t[0], 1);                                                         \
            P##_fill(&P##_t[1], 2);                                                         \
            snprintf(name, sizeof(name), "heap_random%s", suffix);                          \
            measure(name, P##_random, iters / 2, 1);                                        \
            snprintf(name, sizeof(name), "heap_random_2t%s", suffix);                       \
            measure(name, P##_random_2t, iters / 2, 1);                                     \
            P##_drain(&P##_t[0]);                                                           \
            P##_drain(&P##_t[1]);                                                           \
        }                                                                                   \
    }                                                                                       \
    static void P##_footprint(const char *suffix, void (*compact)(void))                    \
    {                                                                                       \
        enum { N = 16384 };                                                                 \
        static char *v[N];                                                                  \
        for (int i = 0; i < N; i++)                                                         \
            v[i] = ALLOC(64);                                                               \
        qsort(v, N, sizeof(v[0]), hl_cmp_ptr);                                              \
        long gaps[N];                                                                       \
        int ng = 0;                                                                         \
        for (int i = 1; i < N; i++)                                                         \
            if (v[i] - v[i - 1] < 4096)                                                     \
                gaps[ng++] = (long)(v[i] - v[i - 1]);                                       \
        long best = 0;                                                                      \
        if (ng) { /* the most common spacing: the block size the allocator uses for 64 B */ \
            qsort(gaps, (size_t)ng, sizeof(gaps[0]), hl_cmp_long);                          \
            long run = 0, bestrun = 0;                                                      \
            for (int i = 0; i < ng; i++) {                                                  \
                run = (i && gaps[i] == gaps[i - 1]) ? run + 1 : 1;                          \
                if (run > bestrun)                                                          \
                    bestrun = run, best = gaps[i];                                          \
            }                                                                               \
        }                                                                                   \
        printf("info heap_overhead%s %ld bytes per 64-byte block\n", suffix, best - 64);    \
        for (int i = 0; i < N; i++)                                                         \
            FREE(v[i]);                                                                     \
        long before = hl_rss_kib();                                                         \
        enum { M = 65536 };                                                                 \
        static char *w[M];                                                                  \
        for (int i = 0; i < M; i++) {                                                       \
            w[i] = ALLOC(1024);                                                             \
            memset(w[i], 1, 1024);                                                          \
        }                                                                                   \
        long full = hl_rss_kib();                                                           \
        for (int i = 0; i < M; i++)                                                         \
            FREE(w[i]);                                                                     \
        if (compact)                                                                        \
            compact();                                                                      \
        long after = hl_rss_kib();                                                          \
        if (before >= 0)                                                                    \
            printf("info heap_rss%s %ld KiB grown by 64 MiB of 1 KiB blocks, %ld KiB kept " \
                   "after freeing them\n",                                                  \
                   suffix, full - before, after - before);                                  \
    }

static int hl_cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

#endif
