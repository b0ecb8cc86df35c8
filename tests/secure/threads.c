/*
 * threads.c - the secure memory cache callbacks under concurrency.  Adder threads register
 * and remove their own callback in a loop; a self-remover registers a callback that removes
 * itself when called; worker threads secure a fresh buffer and VirtualFree / VirtualProtect
 * it, so every such call is refused, flushes whatever is registered at that moment and
 * retries.  Checked: a callback is never called after RemoveSecureMemoryCacheCallback
 * returned (each registration has a flag its remover sets after Remove returns; a call that
 * sees it counts as late), a worker's call succeeds exactly when a callback unsecured its
 * buffer and otherwise fails changing nothing, and the run ends (no deadlock: alarm(60)).
 * Linux only: see tests/CMakeLists.txt.
 */
#include "../api/apitest.h"

#include <ntddk.h>
#include <winternl.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#define NADD 3
#define NWORK 3
#define ITERS 1500

static atomic_int stop;
static atomic_int removed_flag[NADD]; /* set after this adder's Remove returned */
static atomic_long late_calls, calls, bad_calls;
static atomic_long worker_ok, worker_refused, worker_errors;
static atomic_long self_removes;
static atomic_int self_gone;
static atomic_long self_adds;

/* The buffer this (worker) thread secured, for the callbacks run by its own flush. */
static __thread BYTE *my_buf;
static __thread HANDLE my_handle;

static BOOLEAN flush_mine(PVOID addr, SIZE_T size)
{
    atomic_fetch_add(&calls, 1);
    if (!my_buf || (BYTE *)addr != my_buf || size != 2 * PAGE) {
        atomic_fetch_add(&bad_calls, 1);
        return FALSE;
    }
    if (!my_handle)
        return FALSE; /* an earlier callback of this flush got it */
    MmUnsecureVirtualMemory(my_handle);
    my_handle = NULL;
    return TRUE;
}

/* Remove waits for calls under way, so the flag is never seen set, on entry or on the way
 * out (the yield widens the window a Remove that did not wait would leave). */
static BOOLEAN adder_cb(int i, PVOID addr, SIZE_T size)
{
    if (atomic_load(&removed_flag[i]))
        atomic_fetch_add(&late_calls, 1);
    BOOLEAN r = flush_mine(addr, size);
    sched_yield();
    if (atomic_load(&removed_flag[i]))
        atomic_fetch_add(&late_calls, 1);
    return r;
}
static BOOLEAN CALLBACK cb0(PVOID a, SIZE_T s)
{
    return adder_cb(0, a, s);
}
static BOOLEAN CALLBACK cb1(PVOID a, SIZE_T s)
{
    return adder_cb(1, a, s);
}
static BOOLEAN CALLBACK cb2(PVOID a, SIZE_T s)
{
    return adder_cb(2, a, s);
}
static const PSECURE_MEMORY_CACHE_CALLBACK adder_cbs[NADD] = { cb0, cb1, cb2 };

/* The adders add and remove concurrently (this once freed an entry Remove still read). */

static void *adder(void *arg)
{
    int i = (int)(intptr_t)arg;
    long errors = 0;

    while (!atomic_load(&stop)) {
        atomic_store(&removed_flag[i], 0);
        if (!AddSecureMemoryCacheCallback(adder_cbs[i]))
            errors++;
        for (int k = 0; k < 3; k++)
            sched_yield();
        if (!RemoveSecureMemoryCacheCallback(adder_cbs[i]))
            errors++;
        atomic_store(&removed_flag[i], 1);
        sched_yield();
    }
    atomic_fetch_add(&worker_errors, errors);
    return NULL;
}

/* Removes itself when called (from inside a worker's flush). */
static BOOLEAN CALLBACK self_cb(PVOID a, SIZE_T s)
{
    (void)a;
    (void)s;
    if (RemoveSecureMemoryCacheCallback(self_cb)) {
        atomic_fetch_add(&self_removes, 1);
        atomic_store(&self_gone, 1);
    }
    return FALSE;
}

static void *self_remover(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        atomic_store(&self_gone, 0);
        if (!AddSecureMemoryCacheCallback(self_cb)) {
            atomic_fetch_add(&worker_errors, 1);
            break;
        }
        atomic_fetch_add(&self_adds, 1);
        while (!atomic_load(&self_gone) && !atomic_load(&stop))
            sched_yield();
    }
    return NULL;
}

/* The buffer is committed read-write and still holds its pattern. */
static int intact(const BYTE *p, BYTE v)
{
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery(p, &m, sizeof(m)) != sizeof(m) || m.BaseAddress != p ||
        m.AllocationBase != p || m.RegionSize != 2 * PAGE || m.State != MEM_COMMIT ||
        m.Protect != PAGE_READWRITE)
        return 0;
    for (SIZE_T i = 0; i < 2 * PAGE; i += 64)
        if (p[i] != v)
            return 0;
    return 1;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    long ok = 0, refused = 0, errors = 0;
    DWORD old;

    for (int it = 0; it < ITERS; it++) {
        BYTE v = (BYTE)(id * 31 + it);
        BYTE *p = VirtualAlloc(NULL, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE);
        if (!p) {
            errors++;
            continue;
        }
        memset(p, v, 2 * PAGE);
        my_buf = p;
        my_handle = MmSecureVirtualMemory(p + (it & 1) * PAGE, PAGE, PAGE_READWRITE);
        if (!my_handle)
            errors++;
        int protect = it % 3 == 0;
        SetLastError(0xdeadbeef);
        BOOL r = protect ? VirtualProtect(p, 2 * PAGE, PAGE_NOACCESS, &old)
                         : VirtualFree(p, 0, MEM_RELEASE);
        if (r) {
            ok++;
            if (my_handle) /* succeeded while still secured */
                errors++;
        } else {
            refused++;
            if (!my_handle || GetLastError() != ERROR_INVALID_PARAMETER || !intact(p, v))
                errors++;
            MmUnsecureVirtualMemory(my_handle);
            my_handle = NULL;
            if (!(protect ? VirtualProtect(p, 2 * PAGE, PAGE_NOACCESS, &old)
                          : VirtualFree(p, 0, MEM_RELEASE)))
                errors++;
        }
        my_buf = NULL;
        if (protect && !VirtualFree(p, 0, MEM_RELEASE))
            errors++;
    }
    atomic_fetch_add(&worker_ok, ok);
    atomic_fetch_add(&worker_refused, refused);
    atomic_fetch_add(&worker_errors, errors);
    return NULL;
}

int main(void)
{
    pthread_t adders[NADD], workers[NWORK];

    alarm(60);
    at_init();
    for (int i = 0; i < NADD; i++)
        REQUIRE(pthread_create(&adders[i], NULL, adder, (void *)(intptr_t)i) == 0);
    /* A thread whose callback removes itself from inside a worker's flush, concurrently. */
    pthread_t selfr;
    REQUIRE(pthread_create(&selfr, NULL, self_remover, NULL) == 0);
    for (int i = 0; i < NWORK; i++)
        REQUIRE(pthread_create(&workers[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < NWORK; i++)
        pthread_join(workers[i], NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < NADD; i++)
        pthread_join(adders[i], NULL);
    pthread_join(selfr, NULL);
    /* A self-remover registration no flush reached is still there: exactly one, or none. */
    long leftover = 0;
    while (RemoveSecureMemoryCacheCallback(self_cb))
        leftover++;
    CHECK(leftover <= 1);
    CHECK_EQ(self_removes + leftover, self_adds);
    CHECK(self_removes > 0);

    CHECK_EQ(late_calls, 0);
    CHECK_EQ(bad_calls, 0);
    CHECK_EQ(worker_errors, 0);
    CHECK_EQ(worker_ok + worker_refused, (long)NWORK * ITERS);
    CHECK(worker_ok > 0);
    CHECK(calls > 0);
    /* Every adder removed what it added: nothing is registered any more. */
    for (int i = 0; i < NADD; i++)
        CHECK_FAILS(RemoveSecureMemoryCacheCallback(adder_cbs[i]), ERROR_INVALID_PARAMETER);
    CHECK_EQ(RtlFlushSecureMemoryCache((PVOID)0x10000, PAGE), FALSE);
    printf("%ld succeeded after a flush, %ld refused, %ld callback calls, %ld self-removals\n",
           (long)worker_ok, (long)worker_refused, (long)calls, (long)self_removes);
    return wmt_report();
}
