/*
 * dispatch.c - Windows' exception dispatch, minus the frame-based (__try) handlers C on
 * Linux does not have: vectored handlers in order; if none continues, the top-level filter
 * (SetUnhandledExceptionFilter); a continue from either runs the vectored continue
 * handlers and resumes; continuing a noncontinuable exception raises
 * STATUS_NONCONTINUABLE_EXCEPTION.  Also the unhandled end: the report and exit status.
 * Everything here runs in signal handlers: async-signal-safe throughout.
 */
#include "except.h"

#include "rtl/trace.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static _Atomic(LPTOP_LEVEL_EXCEPTION_FILTER) top_filter;
static __thread int nesting __attribute__((tls_model("initial-exec")));
/* Where each level's dispatch frame is.  A handler may leave by siglongjmp (the usual Linux
 * recovery pattern) and never return here: a new dispatch whose frame lies above a level's,
 * on the same stack, proves that level is gone, so it stops counting. */
static __thread uintptr_t level_sp[WM_MAX_NESTING] __attribute__((tls_model("initial-exec")));

LPTOP_LEVEL_EXCEPTION_FILTER wm_dispatch_set_filter(LPTOP_LEVEL_EXCEPTION_FILTER filter)
{
    return atomic_exchange(&top_filter, filter);
}

LONG wm_dispatch_unhandled_filter(EXCEPTION_POINTERS *ep)
{
    LPTOP_LEVEL_EXCEPTION_FILTER f = atomic_load(&top_filter);
    LONG r = f ? f(ep) : EXCEPTION_CONTINUE_SEARCH;
    /* No debugger to hand a second chance to: default handling means "execute the
     * handler", i.e. terminate. */
    return r == EXCEPTION_CONTINUE_SEARCH ? EXCEPTION_EXECUTE_HANDLER : r;
}

enum wm_disposition wm_dispatch_sigsafe(EXCEPTION_RECORD *rec, CONTEXT *ctx)
{
    EXCEPTION_POINTERS ep = { rec, ctx };
    enum wm_disposition d = WM_DISP_UNHANDLED;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

    /* Stacks grow down: a live outer level's frame is above this one on its stack. */
    while (nesting > 0 && level_sp[nesting - 1] <= sp &&
           wm_signal_same_stack_sigsafe(level_sp[nesting - 1], sp))
        nesting--;
    if (nesting >= WM_MAX_NESTING)
        return WM_DISP_TERMINATE;
    if (nesting > 0)
        rec->ExceptionFlags |= EXCEPTION_NESTED_CALL;
    level_sp[nesting++] = sp;

    /* WINMEM_TRACE=except: what by whom (nothing but a branch when off). */
    struct wm_trace_saved traced;
    if (wm_trace_mask)
        wm_trace_dispatch_sigsafe(rec, &traced);
    const char *by = NULL;
    void *who = NULL;

    LONG r = wm_handlers_call_sigsafe(WM_VEH, &ep, &who), verdict = r;
    if (r == EXCEPTION_CONTINUE_EXECUTION)
        by = "vectored handler";
    else {
        LPTOP_LEVEL_EXCEPTION_FILTER f = atomic_load(&top_filter);
        LONG fr = f ? f(&ep) : EXCEPTION_CONTINUE_SEARCH;
        if (fr == EXCEPTION_CONTINUE_EXECUTION)
            r = fr;
        else if (fr == EXCEPTION_EXECUTE_HANDLER)
            d = WM_DISP_TERMINATE;
        verdict = fr;
        if (fr != EXCEPTION_CONTINUE_SEARCH) {
            by = "unhandled exception filter";
            who = (void *)f;
        }
    }
    if (wm_trace_mask)
        wm_trace_outcome_sigsafe(rec, verdict, by, who, &traced);
    if (r == EXCEPTION_CONTINUE_EXECUTION) {
        if (rec->ExceptionFlags & EXCEPTION_NONCONTINUABLE) {
            /* "Any attempt to continue execution after a noncontinuable exception causes the
             * EXCEPTION_NONCONTINUABLE_EXCEPTION exception" -- itself noncontinuable, so
             * whatever its handlers say, this thread does not resume. */
            EXCEPTION_RECORD nr = { .ExceptionCode = EXCEPTION_NONCONTINUABLE_EXCEPTION,
                                    .ExceptionFlags = EXCEPTION_NONCONTINUABLE,
                                    .ExceptionRecord = rec,
                                    .ExceptionAddress = rec->ExceptionAddress };
            wm_dispatch_sigsafe(&nr, ctx);
            nesting--;
            wm_dispatch_terminate_sigsafe(&nr, 0, NULL);
        }
        wm_handlers_call_sigsafe(WM_VCH, &ep, NULL);
        d = WM_DISP_CONTINUE;
    }
    nesting--;
    return d;
}

/* ---- the unhandled end ------------------------------------------------------------------- */

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_hex(char *p, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    *p++ = '0';
    *p++ = 'x';
    for (int i = digits - 1; i >= 0; i--)
        *p++ = hex[(v >> (i * 4)) & 0xf];
    return p;
}

static const char *code_name(DWORD code)
{
    switch (code) {
    case EXCEPTION_ACCESS_VIOLATION:
        return "EXCEPTION_ACCESS_VIOLATION";
    case EXCEPTION_GUARD_PAGE:
        return "STATUS_GUARD_PAGE_VIOLATION";
    case EXCEPTION_STACK_OVERFLOW:
        return "EXCEPTION_STACK_OVERFLOW";
    case EXCEPTION_IN_PAGE_ERROR:
        return "EXCEPTION_IN_PAGE_ERROR";
    case EXCEPTION_DATATYPE_MISALIGNMENT:
        return "EXCEPTION_DATATYPE_MISALIGNMENT";
    case EXCEPTION_ILLEGAL_INSTRUCTION:
        return "EXCEPTION_ILLEGAL_INSTRUCTION";
    case EXCEPTION_PRIV_INSTRUCTION:
        return "EXCEPTION_PRIV_INSTRUCTION";
    case EXCEPTION_INT_DIVIDE_BY_ZERO:
        return "EXCEPTION_INT_DIVIDE_BY_ZERO";
    case EXCEPTION_INT_OVERFLOW:
        return "EXCEPTION_INT_OVERFLOW";
    case EXCEPTION_BREAKPOINT:
        return "EXCEPTION_BREAKPOINT";
    case EXCEPTION_SINGLE_STEP:
        return "EXCEPTION_SINGLE_STEP";
    case EXCEPTION_NONCONTINUABLE_EXCEPTION:
        return "EXCEPTION_NONCONTINUABLE_EXCEPTION";
    case 0xC0000409u: /* STATUS_STACK_BUFFER_OVERRUN: a fast fail */
        return "STATUS_STACK_BUFFER_OVERRUN";
    case 0xC0000374u: /* STATUS_HEAP_CORRUPTION */
        return "STATUS_HEAP_CORRUPTION";
    case 0xC0000017u: /* STATUS_NO_MEMORY: a heap made with HEAP_GENERATE_EXCEPTIONS */
        return "STATUS_NO_MEMORY";
    default:
        if (code >= EXCEPTION_FLT_DENORMAL_OPERAND && code <= EXCEPTION_FLT_UNDERFLOW)
            return "EXCEPTION_FLT_*";
        return "exception";
    }
}

_Noreturn void wm_dispatch_terminate_sigsafe(const EXCEPTION_RECORD *rec, int sig, const char *why)
{
    char buf[256], *p = buf;
    DWORD code = rec->ExceptionCode;

    p = put_str(p, "winmem: unhandled exception ");
    p = put_hex(p, code, 8);
    p = put_str(p, " (");
    p = put_str(p, code_name(code));
    p = put_str(p, ") at ");
    p = put_hex(p, (uintptr_t)rec->ExceptionAddress, 12);
    if ((code == EXCEPTION_ACCESS_VIOLATION || code == EXCEPTION_GUARD_PAGE ||
         code == EXCEPTION_IN_PAGE_ERROR || code == EXCEPTION_STACK_OVERFLOW) &&
        rec->NumberParameters >= 2) {
        ULONG_PTR kind = rec->ExceptionInformation[0];
        p = put_str(p, kind == EXCEPTION_WRITE_FAULT     ? ", writing "
                       : kind == EXCEPTION_EXECUTE_FAULT ? ", executing "
                                                         : ", reading ");
        p = put_hex(p, rec->ExceptionInformation[1], 12);
    }
    if (nesting >= WM_MAX_NESTING)
        why = "faulting inside its own exception handlers";
    if (why) {
        p = put_str(p, " (");
        p = put_str(p, why);
        p = put_str(p, ")");
    }
    *p++ = '\n';
    ssize_t ignored = write(STDERR_FILENO, buf, (size_t)(p - buf));
    (void)ignored;

    /* Keep core dumps working: where the user asked for them, die by the signal itself. */
    struct rlimit core;
    if (getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur != 0) {
        struct sigaction dfl;
        sigset_t set;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sig = sig ? sig : SIGABRT;
        sigaction(sig, &dfl, NULL);
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise(sig);
    }
    /* Windows' exit code is the exception code; Linux keeps its low 8 bits.  A code whose
     * low byte is 0 (0xE0000000 and the like) exits 255 so it never reads as success. */
    _exit((code & 0xff) ? (int)(code & 0xff) : 255);
}
