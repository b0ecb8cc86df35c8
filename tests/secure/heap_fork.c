/*
 * heap_fork.c - fork() while another thread is inside a secure memory cache callback run by a
 * heap release.  That thread holds the heap's lock while the callback runs and walks the
 * callback list after it returns, so fork must take the heap's locks before the callback
 * list's: the fork waits for the HeapFree to finish, then both processes go on (the child can
 * use the heap).  With the handlers in the other order the fork and the HeapFree wait for each
 * other forever; an alarm turns that into a failure.  Linux only: see tests/CMakeLists.txt.
 */
#define _DEFAULT_SOURCE /* usleep */
#include "../api/apitest.h"

#include <ntddk.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static HANDLE secured;
static atomic_int in_callback, calls;

static BOOLEAN CALLBACK cache_cb(PVOID addr, SIZE_T size)
{
    (void)addr;
    (void)size;
    atomic_fetch_add(&calls, 1);
    atomic_store(&in_callback, 1);
    usleep(200 * 1000); /* long enough for the main thread to be inside fork() */
    if (secured) {
        MmUnsecureVirtualMemory(secured);
        secured = NULL;
    }
    return TRUE;
}

struct job {
    HANDLE heap;
    void *block;
    BOOL ok;
};

static void *freer(void *arg)
{
    struct job *j = arg;
    j->ok = HeapFree(j->heap, 0, j->block);
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "heap_fork: fork and HeapFree deadlocked\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(1);
}

int main(void)
{
    at_init();
    signal(SIGALRM, on_alarm);
    REQUIRE(AddSecureMemoryCacheCallback(cache_cb));

    const SIZE_T size = 2 << 20; /* a large block: its own allocation, released on free */
    struct job j = { HeapCreate(0, 0, 0), NULL, FALSE };
    REQUIRE(j.heap);
    j.block = HeapAlloc(j.heap, 0, size);
    REQUIRE(j.block);
    memset(j.block, 0x11, size);
    secured = MmSecureVirtualMemory(j.block, size, PAGE_READWRITE);
    REQUIRE(secured);

    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, freer, &j) == 0);
    while (!atomic_load(&in_callback))
        usleep(1000);

    alarm(30);
    pid_t pid = fork();
    if (pid == 0) {
        /* the child's copy of the heap is whole and its locks free */
        void *q = HeapAlloc(j.heap, 0, 100);
        int rc = q && HeapFree(j.heap, 0, q) && HeapValidate(j.heap, 0, NULL) ? 0 : 2;
        /* the raw exit: ThreadSanitizer's _exit would report the freeing thread, which the
         * child inherited only on paper, as leaked */
        syscall(SYS_exit_group, rc);
    }
    REQUIRE(pid > 0);
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pthread_join(t, NULL);
    alarm(0);

    /* the HeapFree itself went through: the callback unsecured the block, the retry freed it */
    CHECK(j.ok);
    CHECK_EQ(atomic_load(&calls), 1);
    CHECK_EQ(at_state(j.block), MEM_FREE);
    CHECK(HeapDestroy(j.heap));
    CHECK(RemoveSecureMemoryCacheCallback(cache_cb));
    return wmt_report();
}
