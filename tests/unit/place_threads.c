/*
 * Placement with more than one thread (mm/place.c): a thread's reservation does not start
 * right above another thread's (nor above a range another thread is mapping), so the kernel
 * never merges two threads' mappings into one and splits them again on each munmap; a
 * thread's own reservations still climb side by side, and a hole one thread stepped over is
 * the next one its owner gets.  Single-threaded placement is unchanged (tests/api/place.c).
 */
#include <pthread.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

#define GRAN ((size_t)0x10000)

static char *alloc64k(void)
{
    char *p = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (p)
        p[0] = 1; /* resident, as a merge with it costs most */
    return p;
}

/* ---- another thread places: runs fn on a new thread and waits for it ---- */

static void on_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    REQUIRE_VOID(pthread_create(&t, NULL, fn, arg) == 0);
    pthread_join(t, NULL);
}

static char *t_got[2];

static void *two_allocs(void *arg)
{
    (void)arg;
    t_got[0] = alloc64k();
    t_got[1] = alloc64k();
    return NULL;
}

static void *one_alloc(void *arg)
{
    (void)arg;
    t_got[0] = alloc64k();
    return NULL;
}

static void test_apart(void)
{
    char *m = alloc64k();
    REQUIRE_VOID(m);
    /* Nothing is above m: bottom-up, the other thread's first reservation would go there. */

    on_thread(two_allocs, NULL);
    REQUIRE_VOID(t_got[0] && t_got[1]);
    /* One granule apart from the main thread's, then side by side with its own. */
    CHECK(t_got[0] == m + 2 * GRAN);
    CHECK(t_got[1] == t_got[0] + GRAN);

    /* The hole is the lowest free range for m's owner, which takes it. */
    char *m2 = alloc64k();
    CHECK(m2 == m + GRAN);
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);

    VirtualFree(m, 0, MEM_RELEASE);
    VirtualFree(m2, 0, MEM_RELEASE);
    VirtualFree(t_got[0], 0, MEM_RELEASE);
    VirtualFree(t_got[1], 0, MEM_RELEASE);
}

/* A thread that finds only holes above other threads' reservations steps over a few, then
 * takes the lowest: the search stays short however the threads' reservations interleave. */
static void test_bounded(void)
{
    enum { K = 12 };
    char *m[K];

    for (int i = 0; i < K; i++)
        REQUIRE_VOID((m[i] = alloc64k()) != NULL);
    for (int i = 0; i < K; i++)
        REQUIRE_VOID(i == 0 || m[i] == m[i - 1] + GRAN);
    for (int i = 1; i < K; i += 2)
        CHECK(VirtualFree(m[i], 0, MEM_RELEASE));

    /* Holes at m[1], m[3], ...: each right above one of the main thread's.  Four are stepped
     * over (place.c's PLACE_SHY_STEPS), the fifth taken. */
    on_thread(one_alloc, NULL);
    CHECK(t_got[0] == m[9]);

    for (int i = 0; i < K; i += 2)
        VirtualFree(m[i], 0, MEM_RELEASE);
    VirtualFree(t_got[0], 0, MEM_RELEASE);
}

/* ---- a range another thread is mapping right now counts as its reservation ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;          /* 1: the thread is inside its mmap; 2: main has placed */
static uintptr_t stall_at; /* the thread's claim, seen from its mmap */
static __thread bool stall_me;

/* The thread's reservation stalls in its mmap (made with the VM lock dropped) until the main
 * thread has placed one of its own. */
static void *stalling_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
    if (stall_me && (f & MAP_FIXED_NOREPLACE) && l == GRAN && stage == 0) {
        pthread_mutex_lock(&mu);
        stall_at = (uintptr_t)a;
        stage = 1;
        pthread_cond_broadcast(&cv);
        while (stage != 2)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
    }
    return wm_os_sys_default.mmap(a, l, p, f, fd, o);
}

static void *claiming(void *arg)
{
    (void)arg;
    stall_me = true;
    t_got[0] = alloc64k();
    return NULL;
}

static void test_claim(void)
{
    pthread_t t;

    stage = 0;
    wm_os_sys.mmap = stalling_mmap;
    REQUIRE_VOID(pthread_create(&t, NULL, claiming, NULL) == 0);
    pthread_mutex_lock(&mu);
    while (stage != 1)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);

    /* The thread's range is claimed and being mapped, with the VM lock free.  Nothing else
     * is reserved, so the lowest free range is the one right above the claim. */
    char *mine = alloc64k();
    CHECK((uintptr_t)mine == stall_at + 2 * GRAN);

    pthread_mutex_lock(&mu);
    stage = 2;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    wm_os_sys = wm_os_sys_default;
    CHECK((uintptr_t)t_got[0] == stall_at);

    VirtualFree(mine, 0, MEM_RELEASE);
    VirtualFree(t_got[0], 0, MEM_RELEASE);
}

int main(void)
{
    /* The first placement holds the floor's anchor with the lock kept: done here, so the
     * threads below take the usual path.  Each test leaves nothing reserved. */
    char *first = alloc64k();
    REQUIRE(first);
    VirtualFree(first, 0, MEM_RELEASE);

    test_apart();
    test_bounded();
    test_claim();
    return wmt_report();
}
