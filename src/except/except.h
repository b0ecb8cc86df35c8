/*
 * except.h - cross-file functions of the exception layer (src/except/): vectored handler
 * lists, dispatch, the signal entry, and CONTEXT <-> ucontext per architecture.
 *
 * Layer rules, stated once: anything named _sigsafe runs in a signal handler and uses only
 * async-signal-safe operations (atomics, raw system calls, no malloc, no stdio, no locks a
 * signal could find held by its own thread).  Memory faults are classified by
 * mm/fault.c; this layer turns them into Windows exceptions and runs the handlers.
 */
#ifndef WM_EXCEPT_H
#define WM_EXCEPT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

#include "windows.h"

/* Every exception clears an EXCEPTION_RECORD and a CONTEXT and copies the FltSave area in and
 * back out.  gcc expands a copy or clear of a constant size as `rep movs`/`rep stos`, whose
 * start-up alone costs more than the libc routine's few vector moves (it was a third of the
 * exception path's user-space time on an AVX-512 machine); passing the size through this
 * makes the compiler call the routine.  memcpy and memset are async-signal-safe (POSIX.1-2008
 * TC2). */
static inline size_t wm_opaque_size(size_t n)
{
    __asm__("" : "+r"(n));
    return n;
}

/* ---- handlers.c: the vectored exception and continue handler lists --------------------- */

enum wm_handler_list { WM_VEH = 0, WM_VCH = 1 };

PVOID wm_handlers_add(enum wm_handler_list list, ULONG first, PVECTORED_EXCEPTION_HANDLER fn);
ULONG wm_handlers_remove(enum wm_handler_list list, PVOID handle);
/* Call the list's handlers in order until one returns EXCEPTION_CONTINUE_EXECUTION, which
 * is then returned; otherwise EXCEPTION_CONTINUE_SEARCH.  A handler removed before its turn
 * is skipped; *who (if who is not NULL) is then the handler that continued.  Lock-free and
 * free of atomic read-modify-writes (the file says how). */
LONG wm_handlers_call_sigsafe(enum wm_handler_list list, EXCEPTION_POINTERS *ep, void **who);

/* ---- dispatch.c ---------------------------------------------------------------------------- */

/* Exceptions raised while handlers of an earlier one run nest; past this depth the thread is
 * looping on a fault in its own handler, which is reported instead of recursed into.  The
 * alternate signal stacks are sized for it (signal.c). */
#define WM_MAX_NESTING 8

enum wm_disposition {
    WM_DISP_CONTINUE,  /* resume with the (possibly changed) CONTEXT */
    WM_DISP_UNHANDLED, /* nobody took it: chain to the previous signal handler, then die */
    WM_DISP_TERMINATE, /* the top-level filter said EXCEPTION_EXECUTE_HANDLER: die now */
};

LPTOP_LEVEL_EXCEPTION_FILTER wm_dispatch_set_filter(LPTOP_LEVEL_EXCEPTION_FILTER filter);
LONG wm_dispatch_unhandled_filter(EXCEPTION_POINTERS *ep);
/* Windows' dispatch: vectored handlers, the top-level filter, continue handlers, and the
 * noncontinuable rule. */
enum wm_disposition wm_dispatch_sigsafe(EXCEPTION_RECORD *rec, CONTEXT *ctx);
/* One line on stderr, then the end of the process: by the signal `sig` (or SIGABRT for a
 * software exception) when core dumps are enabled, else exit status = the code's low byte.
 * why (or NULL) is added to the line in parentheses. */
_Noreturn void wm_dispatch_terminate_sigsafe(const EXCEPTION_RECORD *rec, int sig, const char *why);

/* ---- signal.c ------------------------------------------------------------------------------ */

/* Install the signal handlers once (chaining to whatever was installed before) and give the
 * calling thread an alternate signal stack.  Cheap after the first call on a thread. */
void wm_signal_init(void);
/* True when two stack addresses of the calling thread lie on the same stack as far as winmem
 * can tell (both on its alternate signal stack, or both off it).  Async-signal-safe. */
bool wm_signal_same_stack_sigsafe(uintptr_t a, uintptr_t b);

/* ---- context_<arch>.c ---------------------------------------------------------------------- */

void wm_context_from_ucontext(CONTEXT *ctx, const ucontext_t *uc);
void wm_context_to_ucontext(ucontext_t *uc, const CONTEXT *ctx);
uintptr_t wm_context_pc(const CONTEXT *ctx);
/* The interrupted pc straight from the signal frame (no CONTEXT needed). */
uintptr_t wm_context_uc_pc_sigsafe(const ucontext_t *uc);
/* Resume the interrupted code at pc. */
void wm_context_uc_set_pc_sigsafe(ucontext_t *uc, uintptr_t pc);
uintptr_t wm_context_sp(const CONTEXT *ctx);
void wm_context_set_pc(CONTEXT *ctx, uintptr_t pc);
/* Access (WM_ACC_R/W/X) and address of a SIGSEGV/SIGBUS, from the kernel's fault record. */
unsigned wm_context_fault_sigsafe(const ucontext_t *uc, const siginfo_t *si, uintptr_t *addr);

/* ---- raise.c ------------------------------------------------------------------------------- */

/* Called from RaiseException only: the exception address is its return address. */
void wm_raise(DWORD code, DWORD flags, DWORD nargs, const ULONG_PTR *args);

#endif
