/*
 * Stress: calls racing on one allocation while its mmap or munmap runs (reserve, release, map
 * and unmap make their system call outside winmem's lock, the range claimed meanwhile).
 *
 * - Two threads release the same allocation: exactly one succeeds, the other fails with
 *   ERROR_INVALID_ADDRESS, as if it had come second; the same for two UnmapViewOfFile.
 * - A thread queries an allocation while another releases it, and an address while another
 *   reserves exactly there: every answer is the whole state before or the whole state after,
 *   never a mix (the new mapping reported as someone else's, a freed range still half there).
 * - VirtualProtect racing the release: it succeeds on the allocation or fails as on freed
 *   memory, and a guard page of another thread's allocation raises exactly one exception per
 *   arming while the churn goes on.
 * - A thread reading an allocation that another thread keeps releasing and reserving again at
 *   the same address: its faults are access violations at that address (the handler puts the
 *   allocation back), never anything else.
 * - A thread reading a page that another keeps making a guard page and plain again: every
 *   exception it takes is a guard-page one (the model says readable while the kernel already
 *   has the guard's no-access: that fault must wait for the change, not run out of retries).
 * - fork() while two threads reserve and release: the child finds every reservation the model
 *   reports really mapped, and can reserve and release itself.
 * Fixed iteration counts (WINMEM_STRESS_ITERATIONS scales them).
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include <windows.h>

#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wmtest.h"

#define GRAN 0x10000

static unsigned iterations = 4000;
static _Atomic int bad;
static pthread_barrier_t start;

/* ---- two releases of one allocation ------------------------------------------------------ */

static char *volatile shared_p;
static _Atomic int ok_count, not_allocated;

static void *release_racer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < iterations; i++) {
        pthread_barrier_wait(&start);
        if (VirtualFree(shared_p, 0, MEM_RELEASE))
            ok_count++;
        else if (GetLastError() == ERROR_INVALID_ADDRESS)
            not_allocated++;
        else
            bad++;
        pthread_barrier_wait(&start);
    }
    return NULL;
}

static void double_release(void)
{
    pthread_t t[2];
    ok_count = not_allocated = bad = 0;
    pthread_barrier_init(&start, NULL, 3);
    for (int k = 0; k < 2; k++)
        pthread_create(&t[k], NULL, release_racer, NULL);
    for (unsigned i = 0; i < iterations; i++) {
        shared_p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!shared_p)
            bad++;
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&start);
        MEMORY_BASIC_INFORMATION m;
        if (!VirtualQuery(shared_p, &m, sizeof(m)) || m.State != MEM_FREE)
            bad++;
    }
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    pthread_barrier_destroy(&start);
    CHECK_EQ(ok_count, (int)iterations);
    CHECK_EQ(not_allocated, (int)iterations);
    CHECK_EQ(bad, 0);
}

/* ---- two unmaps of one view -------------------------------------------------------------- */

static void *unmap_racer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < iterations; i++) {
        pthread_barrier_wait(&start);
        if (UnmapViewOfFile(shared_p))
            ok_count++;
        else if (GetLastError() == ERROR_INVALID_ADDRESS)
            not_allocated++;
        else
            bad++;
        pthread_barrier_wait(&start);
    }
    return NULL;
}

static void double_unmap(void)
{
    pthread_t t[2];
    HANDLE s = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, GRAN, NULL);
    REQUIRE_VOID(s);
    ok_count = not_allocated = bad = 0;
    pthread_barrier_init(&start, NULL, 3);
    for (int k = 0; k < 2; k++)
        pthread_create(&t[k], NULL, unmap_racer, NULL);
    for (unsigned i = 0; i < iterations; i++) {
        shared_p = MapViewOfFile(s, FILE_MAP_WRITE, 0, 0, 0);
        if (!shared_p)
            bad++;
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&start);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    pthread_barrier_destroy(&start);
    CloseHandle(s);
    CHECK_EQ(ok_count, (int)iterations);
    CHECK_EQ(not_allocated, (int)iterations);
    CHECK_EQ(bad, 0);
}

/* ---- queries and protection changes racing a release or a reserve ------------------------ */

static _Atomic int phase; /* 0: run; 1: stop */
static _Atomic uintptr_t target;
static _Atomic int before_seen, after_seen;

/* The allocation the churner makes at target: 4 pages committed read-write, the rest of a
 * 64 KiB reservation reserved. */
static bool is_before(const MEMORY_BASIC_INFORMATION *m, uintptr_t p)
{
    return (uintptr_t)m->BaseAddress == p && (uintptr_t)m->AllocationBase == p &&
           m->AllocationProtect == PAGE_READWRITE && m->RegionSize == 4 * 4096 &&
           m->State == MEM_COMMIT && m->Protect == PAGE_READWRITE && m->Type == MEM_PRIVATE;
}

/* Between the churner's reserve and its commit. */
static bool is_reserved(const MEMORY_BASIC_INFORMATION *m, uintptr_t p)
{
    return (uintptr_t)m->BaseAddress == p && (uintptr_t)m->AllocationBase == p &&
           m->AllocationProtect == PAGE_READWRITE && m->RegionSize == GRAN &&
           m->State == MEM_RESERVE && m->Protect == 0 && m->Type == MEM_PRIVATE;
}

static bool is_free(const MEMORY_BASIC_INFORMATION *m, uintptr_t p)
{
    return (uintptr_t)m->BaseAddress == p && m->State == MEM_FREE && m->AllocationBase == NULL &&
           m->Type == 0 && m->RegionSize >= GRAN;
}

static void *querier(void *arg)
{
    (void)arg;
    do {
        uintptr_t p = target;
        MEMORY_BASIC_INFORMATION m;
        if (!VirtualQuery((void *)p, &m, sizeof(m))) {
            bad++;
            continue;
        }
        if (is_before(&m, p) || is_reserved(&m, p))
            before_seen++;
        else if (is_free(&m, p))
            after_seen++;
        else
            bad++; /* a torn answer: neither the allocation nor free memory */
        DWORD old;
        /* Either the allocation is there and takes the change, or it is gone. */
        if (VirtualProtect((void *)p, 4096, PAGE_READWRITE, &old)) {
            if (old != PAGE_READWRITE)
                bad++;
        } else if (GetLastError() != ERROR_INVALID_ADDRESS) {
            bad++;
        }
    } while (!phase);
    return NULL;
}

static void query_during_churn(void)
{
    pthread_t t;
    /* A fixed address the churner reuses: reserved once to find a free one. */
    char *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(p && VirtualFree(p, 0, MEM_RELEASE));
    target = (uintptr_t)p;
    bad = before_seen = after_seen = 0;
    phase = 0;
    pthread_create(&t, NULL, querier, NULL);
    for (unsigned i = 0; i < iterations; i++) {
        char *q = VirtualAlloc(p, GRAN, MEM_RESERVE, PAGE_READWRITE);
        if (q != p || !VirtualAlloc(p, 4 * 4096, MEM_COMMIT, PAGE_READWRITE)) {
            bad++;
            break;
        }
        if (!VirtualFree(p, 0, MEM_RELEASE))
            bad++;
    }
    phase = 1;
    pthread_join(t, NULL);
    CHECK_EQ(bad, 0);
    CHECK(before_seen + after_seen > 0);
}

/* ---- faults racing a release, guard pages beside the churn -------------------------------- */

static _Atomic int wrong_faults, av_faults, guard_faults;
static char *guard_base;

static LONG CALLBACK handler(EXCEPTION_POINTERS *e)
{
    const EXCEPTION_RECORD *r = e->ExceptionRecord;
    uintptr_t a = r->NumberParameters >= 2 ? (uintptr_t)r->ExceptionInformation[1] : 0;

    if (r->ExceptionCode == STATUS_GUARD_PAGE_VIOLATION && guard_base &&
        a - (uintptr_t)guard_base < 16 * 4096) {
        guard_faults++;
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    if (r->ExceptionCode == EXCEPTION_ACCESS_VIOLATION && a - target < GRAN) {
        av_faults++;
        /* Put an allocation back so the read can go on (the churner may have done it too). */
        VirtualAlloc((void *)target, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    wrong_faults++;
    return EXCEPTION_CONTINUE_SEARCH;
}

static void *reader(void *arg)
{
    (void)arg;
    while (!phase)
        (void)*(volatile char *)target;
    return NULL;
}

static void *guard_toucher(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < iterations; i++) {
        DWORD old;
        if (!VirtualProtect(guard_base, 16 * 4096, PAGE_READWRITE | PAGE_GUARD, &old))
            bad++;
        for (int k = 0; k < 16; k++)
            (void)*(volatile char *)(guard_base + k * 4096);
    }
    return NULL;
}

static void faults_during_churn(void)
{
    pthread_t t[2];
    char *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(p);
    target = (uintptr_t)p;
    guard_base = VirtualAlloc(NULL, 16 * 4096, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(guard_base);
    PVOID h = AddVectoredExceptionHandler(1, handler);
    bad = wrong_faults = av_faults = guard_faults = 0;
    phase = 0;
    /* ThreadSanitizer counts the churner's mmap as a write that the reader's loads race with
     * (nothing orders them, by design): there only the guard pages run. */
    if (!WMT_TSAN)
        pthread_create(&t[0], NULL, reader, NULL);
    pthread_create(&t[1], NULL, guard_toucher, NULL);
    for (unsigned i = 0; i < iterations; i++) {
        /* Fails while the handler's allocation is there; then that one is released. */
        VirtualAlloc(p, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!VirtualFree(p, 0, MEM_RELEASE))
            bad++;
    }
    pthread_join(t[1], NULL);
    /* Leave the reader something to read while it stops. */
    VirtualAlloc(p, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    phase = 1;
    if (!WMT_TSAN)
        pthread_join(t[0], NULL);
    RemoveVectoredExceptionHandler(h);
    CHECK_EQ(wrong_faults, 0);
    CHECK_EQ(bad, 0);
    CHECK_EQ(guard_faults, (int)(16 * iterations));
    VirtualFree(p, 0, MEM_RELEASE);
    VirtualFree(guard_base, 0, MEM_RELEASE);
}

/* ---- a guard page set while another thread reads the page -------------------------------- */

static _Atomic int guard_hits, guard_wrong;
static char *volatile flip_page;

static LONG CALLBACK flip_handler(EXCEPTION_POINTERS *e)
{
    const EXCEPTION_RECORD *r = e->ExceptionRecord;
    uintptr_t a = r->NumberParameters >= 2 ? (uintptr_t)r->ExceptionInformation[1] : 0;

    if (a - (uintptr_t)flip_page >= 4096)
        return EXCEPTION_CONTINUE_SEARCH;
    if (r->ExceptionCode == STATUS_GUARD_PAGE_VIOLATION)
        guard_hits++;
    else
        guard_wrong++; /* the page is always readable or a guard page, never inaccessible */
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void *flip_reader(void *arg)
{
    (void)arg;
    while (!phase)
        (void)*(volatile char *)flip_page;
    return NULL;
}

static void guard_set_during_reads(void)
{
    pthread_t t;
    flip_page = VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(flip_page);
    PVOID h = AddVectoredExceptionHandler(1, flip_handler);
    guard_hits = guard_wrong = bad = 0;
    phase = 0;
    pthread_create(&t, NULL, flip_reader, NULL);
    for (unsigned i = 0; i < 4 * iterations; i++) {
        DWORD old;
        if (!VirtualProtect(flip_page, 4096, i % 2 ? PAGE_READWRITE : PAGE_READWRITE | PAGE_GUARD,
                            &old))
            bad++;
    }
    phase = 1;
    pthread_join(t, NULL);
    RemoveVectoredExceptionHandler(h);
    CHECK_EQ(guard_wrong, 0);
    CHECK_EQ(bad, 0);
    CHECK(guard_hits <= (int)(2 * iterations));
    VirtualFree(flip_page, 0, MEM_RELEASE);
}

/* ---- fork while other threads reserve and release ----------------------------------------- */

static void *churner(void *arg)
{
    (void)arg;
    while (!phase) {
        char *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p || !VirtualFree(p, 0, MEM_RELEASE))
            bad++;
    }
    return NULL;
}

/* In the child: the model and the kernel agree (every reservation the walk finds is really
 * mapped as it says), and reserving and releasing still work. */
static int child_checks(void)
{
    MEMORY_BASIC_INFORMATION m;
    for (char *a = (char *)0x100000000; VirtualQuery(a, &m, sizeof(m)) && a < (char *)(1ull << 46);
         a = (char *)m.BaseAddress + m.RegionSize) {
        if (m.State == MEM_COMMIT && m.Protect == PAGE_READWRITE && m.Type == MEM_PRIVATE &&
            m.AllocationProtect == PAGE_READWRITE && m.RegionSize == GRAN)
            *(volatile char *)m.BaseAddress = 1; /* a churner's: must be mapped */
        if (m.State == MEM_FREE && m.RegionSize > (1ull << 40))
            break;
    }
    for (int i = 0; i < 100; i++) {
        char *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p || !VirtualFree(p, 0, MEM_RELEASE))
            return 1;
    }
    return 0;
}

static void fork_during_churn(void)
{
    pthread_t t[2];
    bad = 0;
    phase = 0;
    for (int k = 0; k < 2; k++)
        pthread_create(&t[k], NULL, churner, NULL);
    int children_ok = 0, forks = WMT_TSAN ? 10 : 50;
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(30); /* a claim the child waits for forever is a failure, not a hang */
            _exit(child_checks());
        }
        int status = -1;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            children_ok++;
    }
    phase = 1;
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    CHECK_EQ(children_ok, forks);
    CHECK_EQ(bad, 0);
}

int main(void)
{
    const char *n = getenv("WINMEM_STRESS_ITERATIONS");
    if (n)
        iterations = (unsigned)strtoul(n, NULL, 0);
    if (WMT_TSAN && iterations > 500)
        iterations = 500;
    double_release();
    double_unmap();
    query_during_churn();
    faults_during_churn();
    guard_set_during_reads();
    fork_during_churn();
    return wmt_report();
}
