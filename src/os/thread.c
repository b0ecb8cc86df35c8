/*
 * thread.c - what winmem needs to know about threads and time: the clock since boot,
 * sleeping and yielding, the thread's id and processor, and a hook run when a thread exits
 * (ps/tls.c runs fiber-local-storage callbacks there).  Nothing here starts threads.
 */
#include "os.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t wm_os_boot_ns(void)
{
    struct timespec ts;
    /* Since boot, counting time suspended, as Windows' tick count and performance counter
     * do; CLOCK_MONOTONIC stops while suspended. */
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void wm_os_sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    /* A signal handler's interruption is not the caller's business: sleep the rest. */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void wm_os_sleep_forever(void)
{
    for (;;)
        pause();
}

void wm_os_yield(void)
{
    sched_yield();
}

unsigned wm_os_thread_id(void)
{
    return (unsigned)syscall(SYS_gettid);
}

int wm_os_cpu_number(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : cpu;
}

static pthread_key_t exit_key;
static _Atomic(void (*)(void *)) exit_fn;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_err;

static void make_exit_key(void)
{
    exit_err = -pthread_key_create(&exit_key, exit_fn);
}

int wm_os_thread_exit_hook(void (*fn)(void *ctx), void *ctx)
{
    /* One caller (ps/tls.c) with one function, so every store writes the same value. */
    atomic_store(&exit_fn, fn);
    pthread_once(&exit_once, make_exit_key);
    if (exit_err)
        return exit_err;
    return -pthread_setspecific(exit_key, ctx);
}
