/*
 * Stress: threads sharing one heap (and the process heap) allocate, write, pass blocks to one
 * another through a shared table, and free blocks other threads allocated, so every path of
 * the front end runs at once: per-thread caches, refills, drains into busy arenas (remote
 * frees), large blocks, HeapReAlloc, HeapSize, and a walker thread taking HeapLock and
 * walking/validating in between.  Each block carries its owner's pattern, checked on every
 * free; the run finishing shows there is no deadlock.  Fixed seeds;
 * WINMEM_STRESS_ITERATIONS sets the steps per thread.
 */
#include <windows.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wmtest.h"

#define THREADS 4
#define SHARED 256

static HANDLE heap;
static unsigned iterations = 40000;
static _Atomic int failures;

/* Count a failure and say where (the first few), so a rare one can be told apart. */
#define FAILED(why)                                                                  \
    do {                                                                             \
        if (atomic_fetch_add(&failures, 1) < 5)                                      \
            fprintf(stderr, "%s:%d: %s (last error %lu)\n", __FILE__, __LINE__, why, \
                    (unsigned long)GetLastError());                                  \
    } while (0)
static _Atomic int stop_walker;
static _Atomic(BYTE *) shared[SHARED];

static uint32_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 11);
}

/* A block: 8 bytes of size, then the pattern byte repeated. */
static BYTE *make(HANDLE h, SIZE_T size, BYTE tag)
{
    if (size < 9)
        size = 9;
    BYTE *p = HeapAlloc(h, 0, size);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof(size));
    memset(p + 8, tag, size - 8);
    return p;
}

static int check(HANDLE h, BYTE *p)
{
    SIZE_T size;
    memcpy(&size, p, sizeof(size));
    if (HeapSize(h, 0, p) != size)
        return 0;
    BYTE tag = p[8];
    for (SIZE_T i = 8; i < size; i++)
        if (p[i] != tag)
            return 0;
    return 1;
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b9ull * (id + 1);
    BYTE *mine[64] = { 0 };
    HANDLE h = (id & 1) ? heap : GetProcessHeap();

    for (unsigned it = 0; it < iterations; it++) {
        uint32_t r = next(&rng);
        unsigned k = r % 64;
        SIZE_T size = (r >> 8) % 100 == 0 ? 0x100000 + (r >> 16) % 4096 : (r >> 8) % 3000;
        if (mine[k]) {
            if (!check(h, mine[k]))
                FAILED("a block's size or pattern changed");
            else if (!HeapFree(h, 0, mine[k]))
                FAILED("HeapFree");
            mine[k] = NULL;
        }
        if ((r >> 20) % 8 == 0) {
            /* trade with another thread through the shared table (the test heap only) */
            BYTE *p = make(heap, size, (BYTE)(id + 1));
            if (!p) {
                FAILED("HeapAlloc of a traded block");
                continue;
            }
            BYTE *old = atomic_exchange(&shared[(r >> 4) % SHARED], p);
            if (old && !check(heap, old))
                FAILED("a traded block's size or pattern changed");
            else if (old && !HeapFree(heap, 0, old))
                FAILED("HeapFree of a traded block");
            continue;
        }
        mine[k] = make(h, size, (BYTE)(id + 1));
        if (!mine[k])
            FAILED("HeapAlloc");
        else if ((r >> 24) % 16 == 0) {
            SIZE_T ns = (r >> 4) % 5000 + 9;
            BYTE *q = HeapReAlloc(h, 0, mine[k], ns);
            if (!q)
                FAILED("HeapReAlloc");
            else {
                memcpy(q, &ns, sizeof(ns));
                memset(q + 8, (BYTE)(id + 1), ns - 8);
                mine[k] = q;
            }
        }
    }
    for (unsigned k = 0; k < 64; k++)
        if (mine[k] && (!check(h, mine[k]) || !HeapFree(h, 0, mine[k])))
            FAILED("a block left at the end");
    return NULL;
}

static void *walker(void *arg)
{
    (void)arg;
    while (!stop_walker) {
        PROCESS_HEAP_ENTRY e;
        if (!HeapLock(heap)) {
            FAILED("HeapLock");
            break;
        }
        memset(&e, 0, sizeof(e));
        int n = 0;
        while (HeapWalk(heap, &e))
            n++;
        if (GetLastError() != ERROR_NO_MORE_ITEMS)
            FAILED("HeapWalk ended without ERROR_NO_MORE_ITEMS");
        else if (n < 3)
            FAILED("HeapWalk found fewer than 3 entries");
        if (!HeapValidate(heap, 0, NULL))
            FAILED("HeapValidate");
        HeapUnlock(heap);
        HeapCompact(heap, 0);
        /* A walk holds the heap's lock throughout; taken again at once, it could leave the
         * workers little time (over a minute for the run under AddressSanitizer, alone on 2
         * cores). */
        Sleep(1);
    }
    return NULL;
}

int main(void)
{
    const char *n = getenv("WINMEM_STRESS_ITERATIONS");
    if (n)
        iterations = (unsigned)strtoul(n, NULL, 0);
    heap = HeapCreate(0, 0, 0);
    REQUIRE(heap != NULL);

    pthread_t t[THREADS], w;
    REQUIRE(pthread_create(&w, NULL, walker, NULL) == 0);
    for (unsigned i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) == 0);
    /* fork while the workers run: the child must find every heap lock free */
    for (int k = 0; k < 8; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* Each step its own exit status, so a rare failure says which. */
            alarm(20);
            void *p = HeapAlloc(heap, 0, 100), *q = HeapAlloc(GetProcessHeap(), 0, 5000);
            _exit(!p                                  ? 1
                  : !q                                ? 2
                  : !HeapFree(heap, 0, p)             ? 3
                  : !HeapFree(GetProcessHeap(), 0, q) ? 4
                  : !HeapValidate(heap, 0, NULL)      ? 5
                                                      : 0);
        }
        int status = 0;
        int got = pid > 0 && waitpid(pid, &status, 0) == pid;
        if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr,
                    "fork %d: the child %s (1-2: an allocation, 3-4: a free, 5: HeapValidate "
                    "failed; signal 14: it hung for 20 s)\n",
                    k,
                    !got                ? "was not waited for"
                    : WIFEXITED(status) ? "exited"
                                        : "was killed");
        if (got && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            fprintf(stderr, "fork %d: status %d, signal %d\n", k,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        CHECK(got && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    stop_walker = 1;
    pthread_join(w, NULL);
    for (unsigned i = 0; i < SHARED; i++) {
        BYTE *p = shared[i];
        if (p && (!check(heap, p) || !HeapFree(heap, 0, p)))
            FAILED("a traded block left at the end");
    }
    CHECK_EQ(failures, 0);
    CHECK(HeapValidate(heap, 0, NULL));
    CHECK(HeapValidate(GetProcessHeap(), 0, NULL));
    CHECK(HeapDestroy(heap));
    return wmt_report();
}
