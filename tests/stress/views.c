/*
 * Stress: threads mapping and unmapping views of sections while others reserve, commit and
 * release private memory.  Views and reservations share the model (and its memory), so a
 * view's bookkeeping made or dropped outside the VM lock corrupts the other threads' records:
 * each thread checks that what it wrote through its own memory reads back, that a second
 * view of the same section sees it, and that VirtualQuery describes exactly what it mapped.
 * Fixed seeds; WINMEM_STRESS_ITERATIONS makes it shorter (under TSan) or longer.
 */
#include <windows.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wmtest.h"

#define MAPPERS 3
#define ALLOCATORS 2
#define SECTION_PAGES 4

static unsigned iterations = 3000;
static size_t page;
static _Atomic int failures;
static HANDLE sections[MAPPERS], reserve_sections[MAPPERS];

static uint32_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 11);
}

static void fail(const char *what, unsigned id, unsigned it)
{
    if (failures++ < 10)
        fprintf(stderr, "thread %u iteration %u: %s\n", id, it, what);
}

static int view_is(const BYTE *p, size_t size, DWORD state, DWORD prot)
{
    MEMORY_BASIC_INFORMATION m;
    return VirtualQuery(p, &m, sizeof(m)) == sizeof(m) && m.BaseAddress == p &&
           m.AllocationBase == p && m.AllocationProtect == PAGE_READWRITE && m.RegionSize == size &&
           m.State == state && m.Protect == prot && m.Type == MEM_MAPPED;
}

static void *mapper(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (id + 1);
    size_t size = SECTION_PAGES * page;

    for (unsigned it = 0; it < iterations; it++) {
        BYTE *a = MapViewOfFile(sections[id], FILE_MAP_WRITE, 0, 0, 0);
        BYTE *b = MapViewOfFile(sections[id], FILE_MAP_READ, 0, 0, 0);
        if (!a || !b) {
            fail("MapViewOfFile failed", id, it);
            if (a)
                UnmapViewOfFile(a);
            if (b)
                UnmapViewOfFile(b);
            continue;
        }
        BYTE v = (BYTE)(next(&rng) | 1);
        for (size_t off = 0; off < size; off += page / 2)
            a[off] = (BYTE)(v + off / page);
        for (size_t off = 0; off < size; off += page / 2)
            if (a[off] != (BYTE)(v + off / page) || b[off] != a[off])
                fail("data written through a view does not read back", id, it);
        if (!view_is(a, size, MEM_COMMIT, PAGE_READWRITE))
            fail("VirtualQuery disagrees on the read-write view", id, it);
        MEMORY_BASIC_INFORMATION m;
        if (VirtualQuery(b + page, &m, sizeof(m)) != sizeof(m) || m.AllocationBase != b ||
            m.AllocationProtect != PAGE_READONLY || m.Protect != PAGE_READONLY ||
            m.Type != MEM_MAPPED)
            fail("VirtualQuery disagrees on the read-only view", id, it);
        if (!UnmapViewOfFile(b) || !UnmapViewOfFile(a))
            fail("UnmapViewOfFile failed", id, it);

        /* A SEC_RESERVE section: a commit through one view shows in the other. */
        if (it % 4 == 0) {
            a = MapViewOfFile(reserve_sections[id], FILE_MAP_WRITE, 0, 0, 0);
            b = MapViewOfFile(reserve_sections[id], FILE_MAP_WRITE, 0, 0, 0);
            if (!a || !b) {
                fail("MapViewOfFile (SEC_RESERVE) failed", id, it);
            } else {
                if (it == 0 && !view_is(b, size, MEM_RESERVE, 0))
                    fail("a fresh SEC_RESERVE view is not reserved", id, it);
                if (!VirtualAlloc(a, size, MEM_COMMIT, PAGE_READWRITE)) {
                    fail("commit in a SEC_RESERVE view failed", id, it);
                } else {
                    a[page] = v;
                    if (b[page] != v || !view_is(b, size, MEM_COMMIT, PAGE_READWRITE))
                        fail("the other view of a SEC_RESERVE section disagrees", id, it);
                }
            }
            if (a && !UnmapViewOfFile(a))
                fail("UnmapViewOfFile failed", id, it);
            if (b && !UnmapViewOfFile(b))
                fail("UnmapViewOfFile failed", id, it);
        }
    }
    return NULL;
}

static void *allocator(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x1234567ull * (id + 7);

    for (unsigned it = 0; it < iterations; it++) {
        unsigned pages = 1 + next(&rng) % 16;
        BYTE *p = VirtualAlloc(NULL, pages * page, MEM_RESERVE, PAGE_READWRITE);
        if (!p || !VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE)) {
            fail("VirtualAlloc failed", MAPPERS + id, it);
            continue;
        }
        memset(p, (int)(it & 0xff), page);
        MEMORY_BASIC_INFORMATION m;
        if (VirtualQuery(p, &m, sizeof(m)) != sizeof(m) || m.AllocationBase != p ||
            m.State != MEM_COMMIT || m.RegionSize != page || m.Type != MEM_PRIVATE)
            fail("VirtualQuery disagrees on a private allocation", MAPPERS + id, it);
        if (p[page - 1] != (BYTE)(it & 0xff))
            fail("private data does not read back", MAPPERS + id, it);
        if (!VirtualFree(p, 0, MEM_RELEASE))
            fail("VirtualFree failed", MAPPERS + id, it);
    }
    return NULL;
}

int main(void)
{
    SYSTEM_INFO si;
    pthread_t t[MAPPERS + ALLOCATORS];
    const char *n = getenv("WINMEM_STRESS_ITERATIONS");

    if (n)
        iterations = (unsigned)strtoul(n, NULL, 0) / 4 + 1;
    GetSystemInfo(&si);
    page = si.dwPageSize;
    for (unsigned i = 0; i < MAPPERS; i++) {
        sections[i] = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                         (DWORD)(SECTION_PAGES * page), NULL);
        reserve_sections[i] =
            CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
                               (DWORD)(SECTION_PAGES * page), NULL);
        REQUIRE(sections[i] && reserve_sections[i]);
    }
    for (unsigned i = 0; i < MAPPERS; i++)
        REQUIRE(pthread_create(&t[i], NULL, mapper, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < ALLOCATORS; i++)
        REQUIRE(pthread_create(&t[MAPPERS + i], NULL, allocator, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < MAPPERS + ALLOCATORS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(failures, 0);
    for (unsigned i = 0; i < MAPPERS; i++) {
        CHECK(CloseHandle(sections[i]));
        CHECK(CloseHandle(reserve_sections[i]));
    }
    return wmt_report();
}
