/*
 * tls_fork.c - thread- and fiber-local storage across fork(): the child keeps the forking
 * thread's values and has none of the other threads' (they do not exist there), so FlsFree in
 * the child runs the callback for its own value only; a thread in FlsSetValue during the fork
 * leaves no lock held in the child.
 */
#include <windows.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wmtest.h"

static DWORD fls, tls;
static atomic_int calls, ready, stop;

static void NTAPI callback(PVOID v)
{
    (void)v;
    atomic_fetch_add(&calls, 1);
}

static void *holder(void *arg)
{
    (void)arg;
    FlsSetValue(fls, (void *)2);
    atomic_store(&ready, 1);
    /* Keep setting, so a fork may well land while this thread holds the lock. */
    while (!atomic_load(&stop))
        FlsSetValue(fls, (void *)2);
    return NULL;
}

int main(void)
{
    pthread_t t;

    fls = FlsAlloc(callback);
    tls = TlsAlloc();
    REQUIRE(fls != FLS_OUT_OF_INDEXES && tls != TLS_OUT_OF_INDEXES);
    CHECK(FlsSetValue(fls, (void *)1));
    CHECK(TlsSetValue(tls, (void *)7));
    pthread_create(&t, NULL, holder, NULL);
    while (!atomic_load(&ready))
        SwitchToThread();

    for (int round = 0; round < 20; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            int bad = 0;
            atomic_store(&calls, 0);
            bad |= FlsGetValue(fls) != (void *)1;
            bad |= TlsGetValue(tls) != (void *)7;
            bad |= !FlsFree(fls);            /* would hang on a lock held at the fork */
            bad |= atomic_load(&calls) != 1; /* mine only, not the holder thread's */
            _exit(bad);
        }
        int status = -1;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    atomic_store(&calls, 0);
    CHECK(FlsFree(fls));
    CHECK_EQ(atomic_load(&calls), 1); /* the holder's value went at its exit; this is mine */
    CHECK(TlsFree(tls));
    return wmt_report();
}
