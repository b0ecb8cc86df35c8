/*
 * Unit: the exception path makes no system call beyond the one its work needs.  A guard-page
 * exception on a thread that never called winmem (so winmem never set up its alternate
 * stack) asked the kernel for the thread's alternate stack on every fault, to learn how much
 * room the handler had; the signal frame already says.  sigaltstack is counted by defining
 * it here (the library's calls bind to this definition); not under ThreadSanitizer, whose
 * runtime calls sigaltstack itself before it can run instrumented code.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <windows.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wmtest.h"

#define FAULTS 16

static atomic_int altstack_calls;

#if !WMT_TSAN
int sigaltstack(const stack_t *ss, stack_t *old)
{
    atomic_fetch_add(&altstack_calls, 1);
    return (int)syscall(SYS_sigaltstack, ss, old);
}
#endif

static char *pages;
static size_t pagesz;
static atomic_int guards;

static LONG CALLBACK on_guard(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode != EXCEPTION_GUARD_PAGE)
        return EXCEPTION_CONTINUE_SEARCH;
    atomic_fetch_add(&guards, 1);
    return EXCEPTION_CONTINUE_EXECUTION;
}

/* Touches the guard pages and nothing of winmem's API. */
static void *toucher(void *arg)
{
    int *calls = arg;
    int before = atomic_load(&altstack_calls);
    for (int i = 0; i < FAULTS; i++)
        (void)*(volatile char *)(pages + (size_t)i * pagesz);
    *calls = atomic_load(&altstack_calls) - before;
    return NULL;
}

int main(void)
{
    DWORD old;
    if (WMT_TSAN) {
        printf("skipped under ThreadSanitizer\n");
        return wmt_report();
    }
    pagesz = (size_t)sysconf(_SC_PAGESIZE);
    pages = VirtualAlloc(NULL, FAULTS * pagesz, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(pages != NULL);
    REQUIRE(VirtualProtect(pages, FAULTS * pagesz, PAGE_READWRITE | PAGE_GUARD, &old));
    PVOID h = AddVectoredExceptionHandler(1, on_guard);
    REQUIRE(h != NULL);

    pthread_t t;
    int calls = -1;
    REQUIRE(pthread_create(&t, NULL, toucher, &calls) == 0);
    pthread_join(t, NULL);
    CHECK_EQ(atomic_load(&guards), FAULTS);
    CHECK_EQ(calls, 0);

    CHECK(RemoveVectoredExceptionHandler(h));
    CHECK(VirtualFree(pages, 0, MEM_RELEASE));
    return wmt_report();
}
