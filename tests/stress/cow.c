/*
 * Stress: threads writing the same copy-on-write view at once.  Every page's first write
 * faults; the threads race to it, one gets the copy, the others' faults are stale and
 * retried.  Each thread writes its own byte of every page, so a spurious access violation
 * (the process dies), a write lost to the copy, a private write reaching the section, or a
 * page left reporting PAGE_WRITECOPY after it was written shows up.  A new view each round
 * (usually at the last one's address).  Fewer rounds under sanitizers
 * (WINMEM_STRESS_ITERATIONS).
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include <windows.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "wmtest.h"

#define THREADS 4
#define PAGES 64

static BYTE *view;
static size_t pagesz;
static pthread_barrier_t start, done;
static unsigned rounds = 200;

static void *writer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (unsigned r = 0; r < rounds; r++) {
        pthread_barrier_wait(&start);
        /* Threads start at different pages and go different ways, to meet on every page. */
        for (unsigned i = 0; i < PAGES; i++) {
            unsigned p = id & 1 ? (id * 16 + i) % PAGES : (PAGES + id * 16 - i) % PAGES;
            view[p * pagesz + id] = (BYTE)(r + id + 1);
        }
        pthread_barrier_wait(&done);
    }
    return NULL;
}

int main(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    pagesz = si.dwPageSize;
    const char *env = getenv("WINMEM_STRESS_ITERATIONS");
    if (env)
        rounds = (unsigned)strtoul(env, NULL, 0) / 25 + 1;

    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                  (DWORD)(PAGES * pagesz), NULL);
    REQUIRE(m != NULL);
    pthread_barrier_init(&start, NULL, THREADS + 1);
    pthread_barrier_init(&done, NULL, THREADS + 1);
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, writer, (void *)(uintptr_t)i) == 0);

    unsigned bad_data = 0, bad_prot = 0;
    for (unsigned r = 0; r < rounds; r++) {
        view = MapViewOfFile(m, FILE_MAP_COPY, 0, 0, 0);
        REQUIRE(view != NULL);
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&done);
        for (unsigned p = 0; p < PAGES; p++) {
            for (unsigned id = 0; id < THREADS; id++)
                bad_data += view[p * pagesz + id] != (BYTE)(r + id + 1);
            bad_data += view[p * pagesz + THREADS] != 0;
        }
        MEMORY_BASIC_INFORMATION mbi;
        bad_prot += VirtualQuery(view, &mbi, sizeof(mbi)) != sizeof(mbi) ||
                    mbi.Protect != PAGE_READWRITE || mbi.RegionSize != PAGES * pagesz;
        REQUIRE(UnmapViewOfFile(view));
    }
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(bad_data, 0);
    CHECK_EQ(bad_prot, 0);

    /* The section itself never saw a private write. */
    BYTE *r = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    REQUIRE(r != NULL);
    unsigned nonzero = 0;
    for (size_t i = 0; i < PAGES * pagesz; i++)
        nonzero += r[i] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK(UnmapViewOfFile(r));
    CHECK(CloseHandle(m));
    return wmt_report();
}
