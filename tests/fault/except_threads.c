/*
 * Fault: guard pages under concurrency.  Four threads, each with its own 64 guard pages,
 * touch every page once (reads and writes) while two other threads churn VirtualAlloc /
 * VirtualProtect / VirtualFree on memory of their own.  A vectored handler counts the
 * exceptions atomically: exactly 256 per round, every access retried with the right data,
 * and the run completes (an alarm in the child turns a deadlock into a failure).  Runs in a
 * child so a crash or hang cannot take the test runner down (except_child.h).
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define TOUCHERS 4
#define CHURNERS 2
#define PAGES 64
#define ROUNDS 10
#define PG 4096

static char *mem[TOUCHERS];
static atomic_int guard_count, other_count, wrong_data, stop_churn, start_line;

static LONG CALLBACK count_guards(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode == EXCEPTION_GUARD_PAGE) {
        atomic_fetch_add(&guard_count, 1);
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    atomic_fetch_add(&other_count, 1);
    return EXCEPTION_CONTINUE_SEARCH; /* ends the child: reported by the parent */
}

static void *toucher(void *arg)
{
    int id = (int)(intptr_t)arg;
    volatile int *base = (volatile int *)mem[id];

    atomic_fetch_add(&start_line, 1);
    while (atomic_load(&start_line) < TOUCHERS)
        ;
    for (int i = 0; i < PAGES; i++) {
        volatile int *p = base + i * (PG / sizeof(int)) + (i % 7) * 16;
        if (i & 1) {
            *p = id * 1000 + i; /* a write, retried after the guard exception */
            if (*p != id * 1000 + i)
                atomic_fetch_add(&wrong_data, 1);
        } else if (*p != 0x5a5a5a5a) { /* a read */
            atomic_fetch_add(&wrong_data, 1);
        }
    }
    return NULL;
}

static uint32_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 11);
}

static void *churner(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    DWORD old;

    while (!atomic_load(&stop_churn)) {
        SIZE_T n = 1 + next(&rng) % 16;
        char *p = VirtualAlloc(NULL, n * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p) {
            atomic_fetch_add(&wrong_data, 1000);
            return NULL;
        }
        for (SIZE_T i = 0; i < n; i++)
            p[i * PG] = (char)i;
        SIZE_T k = next(&rng) % n;
        if (!VirtualProtect(p + k * PG, PG, PAGE_READONLY, &old) ||
            !VirtualProtect(p + k * PG, PG, PAGE_NOACCESS, &old) ||
            !VirtualProtect(p, n * PG, PAGE_READWRITE, &old) ||
            (n > 1 && !VirtualFree(p + PG, PG, MEM_DECOMMIT)) || !VirtualFree(p, 0, MEM_RELEASE))
            atomic_fetch_add(&wrong_data, 1000);
    }
    return NULL;
}

static void concurrent_guards(void)
{
    pthread_t t[TOUCHERS], c[CHURNERS];
    DWORD old;

    if (!AddVectoredExceptionHandler(1, count_guards))
        _exit(122);
    for (int i = 0; i < TOUCHERS; i++) {
        mem[i] = VirtualAlloc(NULL, PAGES * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!mem[i])
            _exit(122);
    }
    for (int i = 0; i < CHURNERS; i++)
        if (pthread_create(&c[i], NULL, churner, (void *)(intptr_t)i) != 0)
            _exit(125);

    int failed = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < TOUCHERS; i++) {
            for (int k = 0; k < PAGES * PG / (int)sizeof(int); k++)
                ((int *)mem[i])[k] = 0x5a5a5a5a;
            if (!VirtualProtect(mem[i], PAGES * PG, PAGE_READWRITE | PAGE_GUARD, &old))
                _exit(126);
        }
        atomic_store(&guard_count, 0);
        atomic_store(&start_line, 0);
        for (int i = 0; i < TOUCHERS; i++)
            if (pthread_create(&t[i], NULL, toucher, (void *)(intptr_t)i) != 0)
                _exit(125);
        for (int i = 0; i < TOUCHERS; i++)
            pthread_join(t[i], NULL);
        int n = atomic_load(&guard_count);
        if (n != TOUCHERS * PAGES) {
            char line[96];
            snprintf(line, sizeof(line), "round %d: %d guard exceptions, expected %d\n", round, n,
                     TOUCHERS * PAGES);
            say(line);
            failed = 1;
        }
        for (int i = 0; i < TOUCHERS; i++) {
            MEMORY_BASIC_INFORMATION m;
            if (VirtualQuery(mem[i], &m, sizeof(m)) != sizeof(m) || m.Protect != PAGE_READWRITE ||
                m.RegionSize != PAGES * PG) {
                say("a touched region still has guard pages\n");
                failed = 1;
            }
        }
    }
    atomic_store(&stop_churn, 1);
    for (int i = 0; i < CHURNERS; i++)
        pthread_join(c[i], NULL);
    if (atomic_load(&wrong_data)) {
        say("wrong data after a guard exception, or a churn call failed\n");
        failed = 1;
    }
    if (atomic_load(&other_count)) {
        say("exceptions other than guard page violations\n");
        failed = 1;
    }
    _exit(failed ? 3 : 0);
}

int main(void)
{
    struct child c;

    if (run_case("concurrent_guards", concurrent_guards, CORE_OFF, 60, &c)) {
        CHECK_EXIT(c, 0);
        CHECK_EQ(c.err[0], 0); /* nothing reported */
    }
    return wmt_report();
}
