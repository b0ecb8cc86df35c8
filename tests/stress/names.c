/*
 * Stress: threads creating, opening, mapping and closing one named section at once.  While
 * a thread holds a handle, the name must lead every other create or open to that very
 * object (what it wrote through one view shows through a view of a handle it opened by
 * name), and no object is freed while a handle or view holds it; when the last handle goes,
 * so does the name.  At the end no winmem name is left in /dev/shm.  Before the name table
 * published sections only once they had a handle, three threads looping create/close
 * aborted with "double free or corruption".  Fixed seeds; WINMEM_STRESS_ITERATIONS scales it.
 */
#include <windows.h>

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wmtest.h"

#define WORKERS 3
#define CREATORS 2
#define SIZE 65536

static unsigned iterations = 3000;
static char name[100];
static _Atomic int failures, stop;

#define FAILED(...)                       \
    do {                                  \
        if (failures++ < 10)              \
            fprintf(stderr, __VA_ARGS__); \
    } while (0)

/* Create (or join) the section, write a token through one view, find it through a second
 * handle opened by name, and let go of everything. */
static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    volatile uint64_t *slot;

    for (unsigned it = 0; it < iterations; it++) {
        uint64_t token = ((uint64_t)id << 32) | it;
        SetLastError(0xdeadbeef);
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SIZE, name);
        DWORD err = GetLastError();
        if (!h || (err != 0 && err != ERROR_ALREADY_EXISTS)) {
            FAILED("worker %u: create: %p, last error %lu\n", id, (void *)h, (unsigned long)err);
            if (h)
                CloseHandle(h);
            continue;
        }
        char *w = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
        HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
        char *r = o ? MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0) : NULL;
        if (!w || !o || !r) {
            FAILED("worker %u: view %p, open %p, view %p, last error %lu\n", id, (void *)w,
                   (void *)o, (void *)r, (unsigned long)GetLastError());
        } else {
            slot = (volatile uint64_t *)(w + id * 64);
            *slot = token;
            if (*(volatile uint64_t *)(r + id * 64) != token)
                FAILED("worker %u: the name led to another object\n", id);
        }
        if (it & 1) { /* handles first: the views hold the section */
            if (!CloseHandle(h) || (o && !CloseHandle(o)))
                FAILED("worker %u: close failed\n", id);
        }
        if ((w && !UnmapViewOfFile(w)) || (r && !UnmapViewOfFile(r)))
            FAILED("worker %u: unmap failed\n", id);
        if (!(it & 1)) {
            if (!CloseHandle(h) || (o && !CloseHandle(o)))
                FAILED("worker %u: close failed\n", id);
        }
    }
    return NULL;
}

/* The smallest repro: create and close as fast as possible. */
static void *creator(void *arg)
{
    (void)arg;
    while (!stop) {
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SIZE, name);
        if (!h || !CloseHandle(h))
            FAILED("creator: %p, last error %lu\n", (void *)h, (unsigned long)GetLastError());
    }
    return NULL;
}

/* Open whenever some other thread holds the name; duplicate and close. */
static void *opener(void *arg)
{
    unsigned long opened = 0;
    (void)arg;
    while (!stop) {
        SetLastError(0xdeadbeef);
        HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name), d = NULL;
        if (!o) {
            if (GetLastError() != ERROR_FILE_NOT_FOUND)
                FAILED("opener: last error %lu\n", (unsigned long)GetLastError());
            continue;
        }
        opened++;
        if (!DuplicateHandle(GetCurrentProcess(), o, GetCurrentProcess(), &d, 0, FALSE,
                             DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE) ||
            !CloseHandle(d))
            FAILED("opener: duplicate/close, last error %lu\n", (unsigned long)GetLastError());
    }
    return (void *)(uintptr_t)opened;
}

static int count_names(const char *prefix)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

int main(void)
{
    pthread_t w[WORKERS], c[CREATORS], o;
    const char *n = getenv("WINMEM_STRESS_ITERATIONS");
    char shm[140];
    void *opened;

    if (n)
        iterations = (unsigned)strtoul(n, NULL, 0) / 2;
    snprintf(name, sizeof(name), "winmem-stress-names-%lu", (unsigned long)GetCurrentProcessId());
    snprintf(shm, sizeof(shm), "winmem-%u-L-%s", (unsigned)geteuid(), name);

    for (unsigned i = 0; i < CREATORS; i++)
        REQUIRE(pthread_create(&c[i], NULL, creator, NULL) == 0);
    REQUIRE(pthread_create(&o, NULL, opener, NULL) == 0);
    for (unsigned i = 0; i < WORKERS; i++)
        REQUIRE(pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < WORKERS; i++)
        pthread_join(w[i], NULL);
    stop = 1;
    for (unsigned i = 0; i < CREATORS; i++)
        pthread_join(c[i], NULL);
    pthread_join(o, &opened);
    CHECK_EQ(failures, 0);
    CHECK((uintptr_t)opened > 0);
    CHECK_EQ(count_names(shm), 0);
    CHECK(OpenFileMappingA(FILE_MAP_READ, FALSE, name) == NULL);
    return wmt_report();
}
