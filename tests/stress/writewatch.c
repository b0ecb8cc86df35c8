/*
 * Stress: threads writing watched memory while another thread calls GetWriteWatch with
 * WRITE_WATCH_FLAG_RESET, sometimes with an array too short for everything.  Each write is
 * bracketed by two counters per page (started before, finished after), sampled around every
 * call, which gives the two rules exactly:
 *  - no lost write: a write finished after the call that last reported its page returned,
 *    and before this call started, has its page in this call's answer (when the answer was
 *    not cut short by the array);
 *  - no false report: a page reported had a write started after the call that last reported
 *    it started.
 * Runs on whichever path was chosen; ctest reruns it on the fallback.  Fewer rounds under
 * sanitizers (WINMEM_STRESS_ITERATIONS).
 */
#define _POSIX_C_SOURCE 200809L
#include <windows.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "wmtest.h"

#define THREADS 3
#define PAGES 64

static BYTE *mem;
static size_t pagesz;
static unsigned long starts[PAGES], writes[PAGES];
static int stop, ready;

static void *writer(void *arg)
{
    uint32_t x = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
    __atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        unsigned p = x % PAGES;
        __atomic_fetch_add(&starts[p], 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_add((volatile unsigned *)(mem + p * pagesz + (x >> 8) % (pagesz - 4)), 1,
                           __ATOMIC_RELAXED);
        __atomic_fetch_add(&writes[p], 1, __ATOMIC_SEQ_CST);
        /* Let the reader find clean pages too. */
        if ((x & 63) == 0)
            for (volatile int i = 0; i < 2000; i++)
                ;
    }
    return NULL;
}

static void sample(unsigned long *dst, const unsigned long *src)
{
    for (int p = 0; p < PAGES; p++)
        dst[p] = __atomic_load_n(&src[p], __ATOMIC_SEQ_CST);
}

int main(void)
{
    SYSTEM_INFO si;
    unsigned calls = 3000;
    const char *env = getenv("WINMEM_STRESS_ITERATIONS");
    if (env && atoi(env) > 0)
        calls = (unsigned)atoi(env) * 10;
    GetSystemInfo(&si);
    pagesz = si.dwPageSize;
    mem = VirtualAlloc(NULL, PAGES * pagesz, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                       PAGE_READWRITE);
    REQUIRE(mem != NULL);

    /* For the call that last reported p: starts[p] after it returned and before it started,
     * and whether a write to p was in flight when it started. */
    static unsigned long safter_last[PAGES], sbefore_last[PAGES], before[PAGES], sbefore[PAGES],
        after[PAGES], safter[PAGES];
    static bool inflight_last[PAGES];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, writer, (void *)(uintptr_t)(i + 1)) == 0);

    /* Start calling once every writer runs (two cores may be busy elsewhere). */
    while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < THREADS)
        sched_yield();
    unsigned long lost = 0, false_reports = 0, reported = 0;
    void *res[PAGES];
    for (unsigned k = 0; k <= calls; k++) {
        if (k == calls) {
            __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
            for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
        }
        ULONG_PTR max = k % 5 == 4 ? 7 : PAGES, count = max;
        DWORD g;
        sample(before, writes);
        sample(sbefore, starts);
        if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, mem, PAGES * pagesz, res, &count, &g) != 0) {
            WMT_FAIL("GetWriteWatch failed, error %lu", (unsigned long)GetLastError());
            break;
        }
        sample(after, writes);
        sample(safter, starts);
        bool in[PAGES] = { false };
        uintptr_t prev = 0;
        for (ULONG_PTR i = 0; i < count; i++) {
            uintptr_t a = (uintptr_t)res[i];
            if (a < (uintptr_t)mem || a >= (uintptr_t)mem + PAGES * pagesz || a <= prev) {
                WMT_FAIL("bad or unordered address %p", res[i]);
                continue;
            }
            prev = a;
            in[(a - (uintptr_t)mem) / pagesz] = true;
        }
        /* Pages at or past the last one returned may have been left out of a full array. */
        size_t covered =
            count == max && count ? ((uintptr_t)res[count - 1] - (uintptr_t)mem) / pagesz : PAGES;
        for (int p = 0; p < PAGES; p++) {
            if (!in[p] && p < (int)covered && before[p] > safter_last[p])
                lost++;
            if (in[p]) {
                reported++;
                if (safter[p] <= sbefore_last[p] && !inflight_last[p])
                    false_reports++;
                safter_last[p] = safter[p];
                sbefore_last[p] = sbefore[p];
                inflight_last[p] = sbefore[p] > before[p];
            }
        }
    }
    CHECK_EQ(lost, 0);
    CHECK_EQ(false_reports, 0);
    CHECK(reported > 0);
    /* Everything was reported and reset: nothing more. */
    ULONG_PTR count = PAGES;
    DWORD g;
    CHECK_EQ(GetWriteWatch(0, mem, PAGES * pagesz, res, &count, &g), 0);
    CHECK_EQ(count, 0);
    printf("%lu pages reported over %u calls\n", reported, calls + 1);
    CHECK(VirtualFree(mem, 0, MEM_RELEASE));
    return wmt_report();
}
