/*
 * Stress: vectored handlers added and removed while other threads dispatch exceptions.  Two
 * threads raise exceptions in a loop; a last handler (added first, appended) continues each
 * one; two churning threads keep adding (in front) and removing eight other handlers, which
 * only record that they ran.  The dispatch walks the list without a lock while entries are
 * unlinked and reused, so what is checked is what a walk may never do: call a handler twice
 * in one dispatch, run the last handler anything but exactly once per exception, or crash.  Fewer
 * rounds under sanitizers (WINMEM_STRESS_ITERATIONS).
 */
#include <windows.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "wmtest.h"

#define RAISERS 2
#define CHURNERS 2
#define CHURNED 8
#define CODE 0xE0570001u

static unsigned rounds = 200000;
static atomic_int stop, last_calls, doubled, wrong_thread, churn_failed;
static _Thread_local unsigned ran;     /* churned handlers run in this dispatch (bit k) */
static _Thread_local int raising = -1; /* this thread's raiser number */

static LONG ran_k(EXCEPTION_POINTERS *ep, unsigned k)
{
    if (ep->ExceptionRecord->ExceptionCode != CODE)
        return EXCEPTION_CONTINUE_SEARCH;
    if (raising < 0)
        atomic_fetch_add(&wrong_thread, 1);
    if (ran & (1u << k))
        atomic_fetch_add(&doubled, 1);
    ran |= 1u << k;
    return EXCEPTION_CONTINUE_SEARCH;
}

/* Eight distinct handlers, as eight independent components would register. */
/* clang-format off */
#define CHURNED_FN(k) \
    static LONG CALLBACK churned##k(EXCEPTION_POINTERS *ep) { return ran_k(ep, k); }
CHURNED_FN(0) CHURNED_FN(1) CHURNED_FN(2) CHURNED_FN(3)
CHURNED_FN(4) CHURNED_FN(5) CHURNED_FN(6) CHURNED_FN(7)

static PVECTORED_EXCEPTION_HANDLER const churned[CHURNED] = {
    churned0, churned1, churned2, churned3, churned4, churned5, churned6, churned7,
};
/* clang-format on */

static LONG CALLBACK last(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode != CODE)
        return EXCEPTION_CONTINUE_SEARCH;
    atomic_fetch_add(&last_calls, 1);
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void *raiser(void *arg)
{
    raising = (int)(uintptr_t)arg;
    for (unsigned i = 0; i < rounds; i++) {
        ran = 0;
        RaiseException(CODE, 0, 0, NULL);
    }
    return NULL;
}

/* Churner c owns handlers c, c + CHURNERS, ...: adds the missing ones, removes the others. */
static void *churner(void *arg)
{
    unsigned c = (unsigned)(uintptr_t)arg;
    PVOID h[CHURNED] = { 0 };
    unsigned seed = c + 1;
    while (!atomic_load(&stop)) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = c + CHURNERS * ((seed >> 16) % (CHURNED / CHURNERS));
        if (h[k]) {
            if (RemoveVectoredExceptionHandler(h[k]) != 1)
                atomic_fetch_add(&churn_failed, 1);
            h[k] = NULL;
        } else if (!(h[k] = AddVectoredExceptionHandler(1, churned[k]))) {
            atomic_fetch_add(&churn_failed, 1);
        }
    }
    for (unsigned k = 0; k < CHURNED; k++)
        if (h[k] && RemoveVectoredExceptionHandler(h[k]) != 1)
            atomic_fetch_add(&churn_failed, 1);
    return NULL;
}

int main(void)
{
    const char *env = getenv("WINMEM_STRESS_ITERATIONS");
    if (env)
        rounds = (unsigned)strtoul(env, NULL, 0) * 10 + 1;
    PVOID h = AddVectoredExceptionHandler(0, last);
    REQUIRE(h != NULL);

    pthread_t r[RAISERS], c[CHURNERS];
    for (unsigned i = 0; i < CHURNERS; i++)
        REQUIRE(pthread_create(&c[i], NULL, churner, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < RAISERS; i++)
        REQUIRE(pthread_create(&r[i], NULL, raiser, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < RAISERS; i++)
        pthread_join(r[i], NULL);
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < CHURNERS; i++)
        pthread_join(c[i], NULL);

    CHECK_EQ(atomic_load(&last_calls), (int)(rounds * RAISERS));
    CHECK_EQ(atomic_load(&doubled), 0);
    CHECK_EQ(atomic_load(&wrong_thread), 0);
    CHECK_EQ(atomic_load(&churn_failed), 0); /* an Add or Remove failed */
    /* Only the last handler is left: one more exception reaches it alone. */
    ran = 0;
    raising = 0;
    RaiseException(CODE, 0, 0, NULL);
    CHECK_EQ(ran, 0u);
    CHECK_EQ(atomic_load(&last_calls), (int)(rounds * RAISERS) + 1);
    CHECK(RemoveVectoredExceptionHandler(h));
    return wmt_report();
}
