/*
 * Stress: threads set fiber-local values and exit while another thread frees the index.
 * Each value FlsSetValue accepted must see its callback exactly once, at its thread's exit or
 * in FlsFree, never both and never not at all; a set that comes after the free fails and has
 * none.  (Before FlsSetValue stored under the lock, a set racing the free could store into
 * the freed index and its callback never ran.)  Thread-local values stay per thread
 * throughout.  WINMEM_STRESS_ITERATIONS scales the rounds.
 */
#include <windows.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "wmtest.h"

#define THREADS 4

static DWORD fls, tls;
static atomic_int calls[THREADS], set_ok[THREADS];
static atomic_int ready;

static void NTAPI callback(PVOID v)
{
    atomic_fetch_add(&calls[(uintptr_t)v - 1], 1);
}

static void *worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    BOOL ok = FlsSetValue(fls, (void *)(id + 1));
    if (!ok && GetLastError() != ERROR_INVALID_PARAMETER)
        atomic_fetch_add(&calls[id], 100);
    atomic_store(&set_ok[id], ok);
    if (!TlsSetValue(tls, (void *)(id + 1)))
        atomic_fetch_add(&calls[id], 100);
    atomic_fetch_add(&ready, 1);
    if (TlsGetValue(tls) != (void *)(id + 1))
        atomic_fetch_add(&calls[id], 100);
    return NULL;
}

int main(void)
{
    unsigned rounds = 300;
    const char *env = getenv("WINMEM_STRESS_ITERATIONS");
    if (env)
        rounds = (unsigned)strtoul(env, NULL, 0) / 10 + 1;

    for (unsigned r = 0; r < rounds; r++) {
        pthread_t t[THREADS];
        fls = FlsAlloc(callback);
        tls = TlsAlloc();
        REQUIRE(fls != FLS_OUT_OF_INDEXES && tls != TLS_OUT_OF_INDEXES);
        atomic_store(&ready, 0);
        for (int i = 0; i < THREADS; i++) {
            atomic_store(&calls[i], 0);
            pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
        }
        /* Free while (some of) the threads are exiting. */
        while (atomic_load(&ready) < THREADS / 2)
            SwitchToThread();
        CHECK(FlsFree(fls));
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        CHECK(TlsFree(tls));
        for (int i = 0; i < THREADS; i++) {
            int want = atomic_load(&set_ok[i]) ? 1 : 0;
            if (atomic_load(&calls[i]) != want) {
                WMT_FAIL("round %u thread %d: callback ran %d times, not %d", r, i,
                         atomic_load(&calls[i]), want);
                break;
            }
            wmt_passed++;
        }
    }
    return wmt_report();
}
