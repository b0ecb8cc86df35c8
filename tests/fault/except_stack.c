/*
 * Fault: running off the end of a thread's stack raises EXCEPTION_STACK_OVERFLOW
 * (0xC00000FD), which a vectored handler sees (it runs on another stack) and which, with no
 * handler, ends the process with exit status 0xFD.  On the main thread and on other threads,
 * including one that never called winmem itself.  One child per case (except_child.h).
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <pthread.h>
#include <stdint.h>

static volatile int
    stop_recursing; /* never set: keeps the recursion from being provably infinite */

/* Each frame keeps a volatile array, so the recursion is neither a loop nor a tail call. */
static __attribute__((noinline)) int recurse(int n)
{
    volatile char frame[512];
    frame[0] = (char)n;
    frame[sizeof(frame) - 1] = (char)(n >> 8);
    if (stop_recursing)
        return frame[0];
    return recurse(n + 1) + frame[n & 511];
}

static volatile DWORD seen_code;

/* Ends the process with the code's low byte: the only way out of a stack overflow here. */
static LONG CALLBACK exit_with_code(EXCEPTION_POINTERS *ep)
{
    seen_code = ep->ExceptionRecord->ExceptionCode;
    _exit((int)(seen_code & 0xff));
}

static void overflow_handled(void)
{
    if (!AddVectoredExceptionHandler(1, exit_with_code))
        _exit(122);
    recurse(0);
    say("recursion returned\n");
}

static void overflow_unhandled(void)
{
    if (!VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE))
        _exit(122);
    recurse(0);
    say("recursion returned\n");
}

static void *overflow_thread(void *arg)
{
    if (arg && !VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE))
        _exit(122); /* this thread calls winmem itself first */
    recurse(0);
    say("recursion returned\n");
    return NULL;
}

static void overflow_in_thread(void *winmem_call_first)
{
    pthread_attr_t a;
    pthread_t t;

    if (!AddVectoredExceptionHandler(1, exit_with_code))
        _exit(122);
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 512u << 10);
    if (pthread_create(&t, &a, overflow_thread, winmem_call_first) != 0)
        _exit(125);
    pthread_join(t, NULL);
    say("thread returned\n");
}

static void overflow_thread_after_call(void)
{
    overflow_in_thread((void *)1);
}

/* Windows reports a stack overflow on any thread, whatever it called before. */
static void overflow_thread_no_call(void)
{
    overflow_in_thread(NULL);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

int main(void)
{
    struct child c;

    if (run_case("overflow_handled", overflow_handled, CORE_OFF, 30, &c))
        CHECK_EXIT(c, 0xFD);
    if (run_case("overflow_unhandled", overflow_unhandled, CORE_OFF, 30, &c)) {
        CHECK_EXIT(c, 0xFD);
        CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xc00000fd");
    }
    if (run_case("overflow_thread_after_call", overflow_thread_after_call, CORE_OFF, 30, &c))
        CHECK_EXIT(c, 0xFD);
    /* Documented limit (docs/compat.md): winmem gives a thread an alternate signal stack when
     * that thread first calls winmem, so a thread that never did cannot have its overflow
     * reported; the kernel kills the process with SIGSEGV.  (On Windows every thread would
     * get EXCEPTION_STACK_OVERFLOW.) */
    if (run_case("overflow_thread_no_call", overflow_thread_no_call, CORE_OFF, 30, &c)) {
        if (UNDER_ASAN)
            CHECK_EXIT(c, 0xFD); /* ASan gives every thread an alternate stack of its own */
        else
            CHECK_SIGNAL(c, SIGSEGV);
    }
    return wmt_report();
}
