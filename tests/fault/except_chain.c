/*
 * Fault: dispatch paths that end or endanger the process.  A SIGSEGV handler installed
 * before winmem's still gets the faults nobody handles (winmem chains to it); continuing a
 * noncontinuable exception raises STATUS_NONCONTINUABLE_EXCEPTION, chained to the original,
 * and the process ends; a handler that faults itself is reported, not looped on.  One child
 * per case (except_child.h).
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <stdint.h>
#include <sys/mman.h>

/* ---- chaining to a handler installed before winmem's ------------------------------------- */

static volatile int *chain_target;

static void own_sigaction(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (sig == SIGSEGV && si->si_addr == (void *)chain_target)
        _exit(42);
    _exit(43); /* ours, but not the fault we expected */
}

static void own_handler(int sig)
{
    _exit(sig == SIGSEGV ? 42 : 43);
}

static LONG CALLBACK decline(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    say("vectored handler declined\n");
    return EXCEPTION_CONTINUE_SEARCH;
}

static void touch_after_winmem(int with_handler)
{
    if (!VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE))
        _exit(122); /* winmem installs its handler here, over ours */
    if (with_handler && !AddVectoredExceptionHandler(0, decline))
        _exit(122);
    chain_target = unmapped(); /* last: nothing may map the address again before the touch */
    (void)chain_target[0];
    say("resumed after a fault nobody handled\n");
}

static void chain_siginfo(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = own_sigaction;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0) /* before the first winmem call */
        _exit(124);
    touch_after_winmem(0);
}

static void chain_plain(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0)
        _exit(124);
    touch_after_winmem(0);
}

static void chain_after_declining_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = own_sigaction;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0)
        _exit(124);
    touch_after_winmem(1);
}

/* A fault a vectored handler fixes never reaches the earlier handler. */
static LONG CALLBACK fix_page(EXCEPTION_POINTERS *ep)
{
    DWORD old;
    EXCEPTION_RECORD *r = ep->ExceptionRecord;
    if (r->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || r->NumberParameters < 2)
        return EXCEPTION_CONTINUE_SEARCH;
    void *page = (void *)(r->ExceptionInformation[1] & ~(ULONG_PTR)4095);
    return VirtualProtect(page, 4096, PAGE_READWRITE, &old) ? EXCEPTION_CONTINUE_EXECUTION
                                                            : EXCEPTION_CONTINUE_SEARCH;
}

static void chain_not_when_handled(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0)
        _exit(124);
    volatile int *p = page_with(PAGE_NOACCESS);
    if (!p || !AddVectoredExceptionHandler(1, fix_page))
        _exit(122);
    p[2] = 5;
    _exit(p[2] == 5 ? 0 : 44);
}

/* ---- noncontinuable exceptions ----------------------------------------------------------- */

#define NC_CODE 0xE0000002u

static LONG nc_verdict_second;

/* Continues everything; reports what it sees on stderr, one line per exception. */
static LONG CALLBACK nc_handler(EXCEPTION_POINTERS *ep)
{
    EXCEPTION_RECORD *r = ep->ExceptionRecord;
    if (r->ExceptionCode == NC_CODE) {
        say(r->ExceptionFlags & EXCEPTION_NONCONTINUABLE ? "first: noncontinuable\n"
                                                         : "first: flag missing\n");
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    if (r->ExceptionCode == EXCEPTION_NONCONTINUABLE_EXCEPTION) {
        const EXCEPTION_RECORD *o = r->ExceptionRecord;
        say(o && o->ExceptionCode == NC_CODE && (o->ExceptionFlags & EXCEPTION_NONCONTINUABLE)
                ? "second: chained to the original\n"
                : "second: not chained to the original\n");
        say(r->ExceptionFlags & EXCEPTION_NONCONTINUABLE ? "second: noncontinuable\n"
                                                         : "second: continuable\n");
        return nc_verdict_second;
    }
    say("unexpected exception\n");
    return EXCEPTION_CONTINUE_SEARCH;
}

static void nc_run(LONG second)
{
    nc_verdict_second = second;
    if (!AddVectoredExceptionHandler(1, nc_handler))
        _exit(122);
    RaiseException(NC_CODE, EXCEPTION_NONCONTINUABLE, 0, NULL);
    say("RaiseException returned\n");
    _exit(0);
}

static void nc_second_searches(void)
{
    nc_run(EXCEPTION_CONTINUE_SEARCH);
}

static void nc_second_continues(void)
{
    nc_run(EXCEPTION_CONTINUE_EXECUTION); /* itself noncontinuable: still no resuming */
}

/* Noncontinuable but nobody continues it: an ordinary unhandled end with its own code. */
static void nc_unhandled(void)
{
    if (!AddVectoredExceptionHandler(1, decline))
        _exit(122);
    RaiseException(NC_CODE, EXCEPTION_NONCONTINUABLE, 0, NULL);
    say("RaiseException returned\n");
}

/* ---- a handler that faults ---------------------------------------------------------------- */

int main(void)
{
    struct child c;

    if (run_case("chain_siginfo", chain_siginfo, CORE_OFF, 20, &c))
        CHECK_EXIT(c, 42);
    if (run_case("chain_plain", chain_plain, CORE_OFF, 20, &c))
        CHECK_EXIT(c, 42);
    if (run_case("chain_after_declining_handler", chain_after_declining_handler, CORE_OFF, 20,
                 &c)) {
        CHECK_EXIT(c, 42);
        CHECK_ERR_STARTS(c, "vectored handler declined\n");
    }
    if (run_case("chain_not_when_handled", chain_not_when_handled, CORE_OFF, 20, &c))
        CHECK_EXIT(c, 0);

    if (run_case("nc_second_searches", nc_second_searches, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 0x25);
        CHECK_ERR_STARTS(c, "first: noncontinuable\nsecond: chained to the original\n"
                            "second: noncontinuable\n"
                            "winmem: unhandled exception 0xc0000025");
    }
    /* Continuing STATUS_NONCONTINUABLE_EXCEPTION raises another one (chained to it, not to
     * the original), so only the first is checked; what matters is that nothing resumes. */
    if (run_case("nc_second_continues", nc_second_continues, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 0x25);
        CHECK_ERR_STARTS(c, "first: noncontinuable\nsecond: chained to the original\n"
                            "second: noncontinuable\n");
        CHECK_ERR_HAS(c, "winmem: unhandled exception 0xc0000025");
        CHECK(strstr(c.err, "RaiseException returned") == NULL);
    }
    if (run_case("nc_unhandled", nc_unhandled, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 2);
        CHECK_ERR_STARTS(c, "vectored handler declined\nwinmem: unhandled exception 0xe0000002");
    }

    /* Terminates (no SIGALRM after 10 s), by the access violation, with the report. */
    if (can_nest("fault_in_handler") &&
        run_case("fault_in_handler", fault_in_handler, CORE_OFF, 10, &c)) {
        CHECK_EXIT(c, 5);
        CHECK_ERR_HAS(c, "winmem: unhandled exception 0xc0000005");
        CHECK(strstr(c.err, "resumed") == NULL);
    }
    return wmt_report();
}
