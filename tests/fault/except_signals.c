/*
 * Fault: signals that are not faults, and ways out of a handler that are not returns.
 * - A SIGSEGV, SIGFPE or SIGTRAP someone sent (kill, pthread_kill, raise: si_code <= 0) is
 *   not an exception: no vectored handler sees it, and the process ends by that signal (or
 *   the handler installed before winmem gets it), even while a thread is inside winmem.
 * - Leaving a vectored handler by siglongjmp, the usual Linux recovery pattern, does not use
 *   up the nesting limit.
 * - fork() while other threads add and remove vectored handlers or secure memory callbacks:
 *   the child can use both lists.
 * One child per case (except_child.h).
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>

static volatile int handler_calls;

static LONG CALLBACK continue_everything(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    handler_calls++;
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void winmem_with_greedy_handler(void)
{
    if (!page_with(PAGE_READWRITE) || !AddVectoredExceptionHandler(1, continue_everything))
        _exit(122);
}

/* ---- sent signals ---------------------------------------------------------------------- */

static void raise_segv(void)
{
    winmem_with_greedy_handler();
    raise(SIGSEGV);
    say("survived\n");
    _exit(handler_calls ? 3 : 4);
}

static void kill_fpe(void)
{
    winmem_with_greedy_handler();
    kill(getpid(), SIGFPE);
    say("survived\n");
    _exit(handler_calls ? 3 : 4);
}

static void tkill_trap(void)
{
    winmem_with_greedy_handler();
    pthread_kill(pthread_self(), SIGTRAP);
    say("survived\n");
    _exit(handler_calls ? 3 : 4);
}

static void sigqueue_segv(void)
{
    winmem_with_greedy_handler();
    union sigval v = { .sival_int = 7 };
    sigqueue(getpid(), SIGSEGV, v);
    say("survived\n");
    _exit(handler_calls ? 3 : 4);
}

/* A handler installed before winmem gets a sent signal, as it would without winmem. */
static void own_handler(int sig)
{
    _exit(sig == SIGSEGV ? 42 : 43);
}

static void sent_to_previous_handler(void)
{
    signal(SIGSEGV, own_handler);
    winmem_with_greedy_handler();
    raise(SIGSEGV);
    _exit(44);
}

/* A thread churning winmem calls (so often inside one, holding the VM lock) is sent SIGSEGV:
 * the process dies by it instead of the handler waiting on the lock its own thread holds. */
static atomic_int churning;

static void *churn(void *arg)
{
    (void)arg;
    for (;;) {
        void *p = VirtualAlloc(NULL, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        DWORD old;
        if (!p || !VirtualProtect(p, 4096, PAGE_READONLY, &old) || !VirtualFree(p, 0, MEM_RELEASE))
            _exit(125);
        atomic_store(&churning, 1);
    }
    return NULL;
}

static void kill_thread_inside_winmem(void)
{
    pthread_t t;
    winmem_with_greedy_handler();
    if (pthread_create(&t, NULL, churn, NULL) != 0)
        _exit(122);
    while (!atomic_load(&churning))
        ;
    for (int i = 0; i < 1000; i++) {
        pthread_kill(t, SIGSEGV);
        usleep(100);
    }
    say("survived\n");
    _exit(handler_calls ? 3 : 4);
}

/* ---- siglongjmp out of a handler ------------------------------------------------------- */

static sigjmp_buf recover;
static volatile int *bad_page;

static LONG CALLBACK jump_out(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode == EXCEPTION_ACCESS_VIOLATION &&
        ep->ExceptionRecord->ExceptionInformation[1] == (ULONG_PTR)bad_page)
        siglongjmp(recover, 1);
    return EXCEPTION_CONTINUE_SEARCH;
}

static void longjmp_recovery(void)
{
    bad_page = page_with(PAGE_NOACCESS);
    if (!bad_page || !AddVectoredExceptionHandler(1, jump_out))
        _exit(122);
    volatile int recovered = 0;
    for (volatile int i = 0; i < 100; i++) {
        if (sigsetjmp(recover, 1) == 0)
            (void)bad_page[0];
        else
            recovered++;
    }
    _exit(recovered == 100 ? 0 : 3);
}

/* ---- fork while the lists change --------------------------------------------------------- */

static atomic_int stop_adding;

static LONG CALLBACK pass(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    return EXCEPTION_CONTINUE_SEARCH;
}

static LONG CALLBACK take_it(EXCEPTION_POINTERS *ep)
{
    return ep->ExceptionRecord->ExceptionCode == 0xE0000F0Fu ? EXCEPTION_CONTINUE_EXECUTION
                                                             : EXCEPTION_CONTINUE_SEARCH;
}

static BOOLEAN CALLBACK cache_cb(PVOID a, SIZE_T s)
{
    (void)a, (void)s;
    return FALSE;
}

static void *add_remove(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_adding)) {
        PVOID h = AddVectoredExceptionHandler(0, pass);
        PVOID c = AddVectoredContinueHandler(1, pass);
        AddSecureMemoryCacheCallback(cache_cb);
        RemoveVectoredExceptionHandler(h);
        RemoveVectoredContinueHandler(c);
        RemoveSecureMemoryCacheCallback(cache_cb);
    }
    return NULL;
}

static void fork_while_lists_change(void)
{
    pthread_t t[2];
    if (!AddVectoredExceptionHandler(1, take_it))
        _exit(122);
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, add_remove, NULL) != 0)
            _exit(122);
    for (int i = 0; i < 200; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(5);
            PVOID h = AddVectoredExceptionHandler(0, pass);
            RaiseException(0xE0000F0Fu, 0, 0, NULL); /* continued by take_it */
            _exit(h && RemoveVectoredExceptionHandler(h) &&
                          AddSecureMemoryCacheCallback(cache_cb) &&
                          RemoveSecureMemoryCacheCallback(cache_cb)
                      ? 0
                      : 3);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
            _exit(123);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            say("a child hung or failed\n");
            _exit(4);
        }
    }
    atomic_store(&stop_adding, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    _exit(0);
}

int main(void)
{
    struct child c;

    if (run_case("raise_segv", raise_segv, CORE_OFF, 10, &c))
        CHECK_SIGNAL(c, SIGSEGV);
    if (run_case("kill_fpe", kill_fpe, CORE_OFF, 10, &c))
        CHECK_SIGNAL(c, SIGFPE);
    if (run_case("tkill_trap", tkill_trap, CORE_OFF, 10, &c))
        CHECK_SIGNAL(c, SIGTRAP);
    if (run_case("sigqueue_segv", sigqueue_segv, CORE_OFF, 10, &c))
        CHECK_SIGNAL(c, SIGSEGV);
    if (run_case("sent_to_previous_handler", sent_to_previous_handler, CORE_OFF, 10, &c))
        CHECK_EXIT(c, 42);
    /* ThreadSanitizer holds a sent signal back until the thread reaches one of its own
     * interceptors and delivers it from there, so under load the kills can miss: its stage
     * skips this case (the other configurations run it). */
    if (EXCEPT_CHILD_TSAN)
        fprintf(stderr, "kill_thread_inside_winmem: skipped under ThreadSanitizer\n");
    else if (run_case("kill_thread_inside_winmem", kill_thread_inside_winmem, CORE_OFF, 20, &c))
        CHECK_SIGNAL(c, SIGSEGV);
    if (run_case("longjmp_recovery", longjmp_recovery, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 0);
        CHECK(strstr(c.err, "winmem:") == NULL);
    }
    if (run_case("fork_while_lists_change", fork_while_lists_change, CORE_OFF, 60, &c))
        CHECK_EXIT(c, 0);
    return wmt_report();
}
