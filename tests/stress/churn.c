/*
 * Stress: threads churning reservations concurrently (reserve, commit, write, protect,
 * query, decommit, release) while a reader thread queries random addresses.  Each thread
 * checks that its own memory holds what it wrote and that VirtualQuery agrees with what it
 * did, so a lost update, a torn tree or a stale region shows up as a failed check; the
 * run finishing at all shows there is no deadlock.  Fixed seeds; smaller under sanitizers.
 */
#include <windows.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wmtest.h"

#define THREADS 4
#define SLOTS 32

static unsigned iterations = 20000;
static _Atomic int failures;
static _Atomic int stop_reader;
static _Atomic uintptr_t published[THREADS * SLOTS];

static uint32_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 11);
}

static void *churn(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x1234567ull * (id + 1);
    char *slot[SLOTS] = { 0 };
    unsigned pages[SLOTS] = { 0 };
    MEMORY_BASIC_INFORMATION m;

    for (unsigned it = 0; it < iterations; it++) {
        unsigned k = next(&rng) % SLOTS;
        if (!slot[k]) {
            pages[k] = 1 + next(&rng) % 16;
            slot[k] = VirtualAlloc(NULL, pages[k] * 4096, MEM_RESERVE, PAGE_READWRITE);
            if (!slot[k] || !VirtualAlloc(slot[k], 4096, MEM_COMMIT, PAGE_READWRITE)) {
                failures++;
                continue;
            }
            memset(slot[k], (int)(id * SLOTS + k) & 0xff, 4096);
            published[id * SLOTS + k] = (uintptr_t)slot[k];
            continue;
        }
        char *p = slot[k];
        switch (next(&rng) % 5) {
        case 0: /* release */
            published[id * SLOTS + k] = 0;
            if (!VirtualFree(p, 0, MEM_RELEASE))
                failures++;
            slot[k] = NULL;
            break;
        case 1: { /* flip protection and back */
            DWORD old;
            if (!VirtualProtect(p, 4096, PAGE_READONLY, &old) || old != PAGE_READWRITE ||
                !VirtualProtect(p, 4096, PAGE_READWRITE, &old) || old != PAGE_READONLY)
                failures++;
            break;
        }
        case 2: /* our data is intact */
            for (unsigned i = 0; i < 4096; i += 512)
                if ((unsigned char)p[i] != ((id * SLOTS + k) & 0xff))
                    failures++;
            break;
        case 3: /* query agrees */
            if (VirtualQuery(p, &m, sizeof(m)) != sizeof(m) || m.AllocationBase != p ||
                m.State != MEM_COMMIT || m.RegionSize != 4096 || m.Protect != PAGE_READWRITE)
                failures++;
            if (pages[k] > 1 && (VirtualQuery(p + 4096, &m, sizeof(m)) != sizeof(m) ||
                                 m.State != MEM_RESERVE || m.RegionSize != (pages[k] - 1) * 4096u))
                failures++;
            break;
        default: /* commit and decommit the rest */
            if (pages[k] > 1) {
                if (!VirtualAlloc(p + 4096, (pages[k] - 1) * 4096, MEM_COMMIT, PAGE_READWRITE))
                    failures++;
                else if (p[4096] != 0)
                    failures++; /* a fresh commit reads zero */
                else
                    p[4096] = 1;
                if (!VirtualFree(p + 4096, (pages[k] - 1) * 4096, MEM_DECOMMIT))
                    failures++;
            }
            break;
        }
    }
    for (unsigned k = 0; k < SLOTS; k++) {
        published[id * SLOTS + k] = 0;
        if (slot[k] && !VirtualFree(slot[k], 0, MEM_RELEASE))
            failures++;
    }
    return NULL;
}

/* Queries addresses other threads may be releasing: any answer is fine, a crash is not. */
static void *reader(void *arg)
{
    uint64_t rng = 99;
    MEMORY_BASIC_INFORMATION m;
    unsigned long queries = 0;

    (void)arg;
    while (!stop_reader) {
        uintptr_t a = published[next(&rng) % (THREADS * SLOTS)];
        if (a && VirtualQuery((void *)(a + next(&rng) % 65536), &m, sizeof(m)) != sizeof(m))
            failures++;
        queries++;
    }
    return (void *)(uintptr_t)queries;
}

int main(void)
{
    pthread_t t[THREADS], r;
    const char *n = getenv("WINMEM_STRESS_ITERATIONS");
    if (n)
        iterations = (unsigned)strtoul(n, NULL, 0);

    REQUIRE(pthread_create(&r, NULL, reader, NULL) == 0);
    for (unsigned i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    stop_reader = 1;
    void *queries;
    pthread_join(r, &queries);
    CHECK_EQ(failures, 0);
    CHECK((uintptr_t)queries > 0);
    return wmt_report();
}
