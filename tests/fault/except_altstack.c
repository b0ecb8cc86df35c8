/*
 * Fault: exceptions whatever alternate signal stack a thread already has.  A program (or a
 * sanitizer) may have given the thread a small alternate stack before winmem runs: sized by
 * the legacy MINSIGSTKSZ, or by AT_MINSIGSTKSZ alone, which on a CPU with AVX-512 or AMX
 * holds about one signal frame.  Handlers must still run, nested exceptions must still be
 * handled, and a handler that faults forever must still end with the report and the exit
 * status, never a silent death by the kernel finding no room for a frame.  One child per
 * case (except_child.h).
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

/* The smallest alternate stack the kernel accepts that can hold one signal frame here. */
static size_t small_stack_size(void)
{
    size_t frame = getauxval(AT_MINSIGSTKSZ);
    size_t size = MINSIGSTKSZ;
    if (frame > size)
        size = frame;
    return size;
}

static void give_small_alt_stack(void)
{
    size_t size = small_stack_size();
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss = { .ss_sp = p, .ss_size = size };
    if (p == MAP_FAILED || sigaltstack(&ss, NULL) != 0)
        _exit(123);
}

/* ---- a handler that faults, forever ----------------------------------------------------- */

static void small_stack_then_faulting_handler(void)
{
    give_small_alt_stack(); /* before winmem's first call on this thread */
    fault_in_handler();
}

/* ---- nested exceptions that are handled --------------------------------------------------- */

static volatile int *outer_page, *guard_page;
static volatile int nested_guards;

/* The access violation on outer_page makes the handler touch a guard page: a nested
 * STATUS_GUARD_PAGE_VIOLATION (handled: the guard is gone once raised), after which the outer
 * one is fixed and continued. */
static LONG CALLBACK nesting_handler(EXCEPTION_POINTERS *ep)
{
    EXCEPTION_RECORD *rec = ep->ExceptionRecord;
    DWORD old;

    if (rec->ExceptionCode == STATUS_GUARD_PAGE_VIOLATION &&
        rec->ExceptionInformation[1] == (ULONG_PTR)guard_page) {
        nested_guards++;
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    if (rec->ExceptionCode == EXCEPTION_ACCESS_VIOLATION &&
        rec->ExceptionInformation[1] == (ULONG_PTR)outer_page) {
        (void)guard_page[0]; /* nested exception, on top of this one's frames */
        if (!VirtualProtect((LPVOID)outer_page, 4096, PAGE_READWRITE, &old))
            _exit(124);
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

static void nested_handled(void)
{
    outer_page = page_with(PAGE_NOACCESS);
    guard_page = page_with(PAGE_READWRITE | PAGE_GUARD);
    if (!outer_page || !guard_page || !AddVectoredExceptionHandler(1, nesting_handler))
        _exit(122);
    for (int i = 0; i < 4; i++) {
        DWORD old;
        outer_page[0] = i; /* faults, is fixed, then succeeds */
        if (outer_page[0] != i || !VirtualProtect((LPVOID)outer_page, 4096, PAGE_NOACCESS, &old) ||
            !VirtualProtect((LPVOID)guard_page, 4096, PAGE_READWRITE | PAGE_GUARD, &old))
            _exit(125);
    }
    if (nested_guards != 4)
        _exit(126);
    say("resumed\n");
}

static void small_stack_then_nested(void)
{
    give_small_alt_stack();
    nested_handled();
}

/* The same on a thread whose small stack came after winmem set the thread up: winmem cannot
 * swap a stack it does not know of, but must not die silently on it either. */
static void small_stack_after_init(void)
{
    if (!page_with(PAGE_READWRITE))
        _exit(122);
    give_small_alt_stack();
    fault_in_handler();
}

/* A thread's alternate stack is put back when it exits, and a later thread gets its own. */
static void *thread_small_stack(void *arg)
{
    (void)arg;
    give_small_alt_stack();
    stack_t before, after;
    if (sigaltstack(NULL, &before) != 0 || !page_with(PAGE_READWRITE) ||
        sigaltstack(NULL, &after) != 0)
        return (void *)1;
    /* Replaced: the small one cannot hold nested frames. */
    if (after.ss_sp == before.ss_sp || after.ss_size < 64 * 1024)
        return (void *)2;
    return NULL;
}

static void threads_get_room(void)
{
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        void *r = (void *)9;
        if (pthread_create(&t, NULL, thread_small_stack, NULL) != 0 || pthread_join(t, &r) != 0)
            _exit(122);
        if (r)
            _exit(130 + (int)(intptr_t)r);
    }
    nested_handled();
}

int main(void)
{
    struct child c;

    /* The nesting limit ends the process with the report and the code's low byte. */
    if (can_nest("small_stack_then_faulting_handler") &&
        run_case("small_stack_then_faulting_handler", small_stack_then_faulting_handler, CORE_OFF,
                 10, &c)) {
        CHECK_EXIT(c, 5);
        CHECK_ERR_HAS(c, "winmem: unhandled exception 0xc0000005");
        CHECK(strstr(c.err, "resumed") == NULL);
    }
    if (can_nest("small_stack_then_nested") &&
        run_case("small_stack_then_nested", small_stack_then_nested, CORE_OFF, 10, &c)) {
        CHECK_EXIT(c, 0);
        CHECK_ERR_STARTS(c, "resumed\n");
    }
    /* Either nested frames fit (then the nesting limit ends it) or winmem ends it for want
     * of room: the report and the status in both cases. */
    if (can_nest("small_stack_after_init") &&
        run_case("small_stack_after_init", small_stack_after_init, CORE_OFF, 10, &c)) {
        CHECK_EXIT(c, 5);
        CHECK_ERR_HAS(c, "winmem: unhandled exception 0xc0000005");
    }
    if (can_nest("threads_get_room") &&
        run_case("threads_get_room", threads_get_room, CORE_OFF, 10, &c)) {
        CHECK_EXIT(c, 0);
        CHECK_ERR_STARTS(c, "resumed\n");
    }
    return wmt_report();
}
