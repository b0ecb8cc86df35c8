/*
 * raise.c - RaiseException: a software exception through the same dispatch as a fault.
 *
 * The CONTEXT handlers see is captured with getcontext() inside this function; its program
 * counter is set to the return address into RaiseException, which is also ExceptionAddress,
 * as on Windows (RtlRaiseException records its caller, and its caller is RaiseException).  When a
 * handler continues without moving the program counter or stack pointer, RaiseException simply
 * returns; when it moves them, execution goes where the CONTEXT says.
 */
#include "except.h"

#include <string.h>

__attribute__((noinline)) void wm_raise(DWORD code, DWORD flags, DWORD nargs, const ULONG_PTR *args)
{
    void *caller = __builtin_return_address(0); /* inside RaiseException */
    EXCEPTION_RECORD rec;
    CONTEXT ctx, seen;
    ucontext_t uc;
    volatile int resumed = 0;

    memset(&rec, 0, sizeof(rec));
    rec.ExceptionCode = code;
    rec.ExceptionFlags = flags & EXCEPTION_NONCONTINUABLE;
    rec.ExceptionAddress = caller;
    if (args) {
        /* "This value must not exceed EXCEPTION_MAXIMUM_PARAMETERS": more are cut off. */
        rec.NumberParameters =
            nargs > EXCEPTION_MAXIMUM_PARAMETERS ? EXCEPTION_MAXIMUM_PARAMETERS : nargs;
        memcpy(rec.ExceptionInformation, args, rec.NumberParameters * sizeof(*args));
    }

    getcontext(&uc);
    if (resumed)
        return;
    wm_context_from_ucontext(&ctx, &uc);
    wm_context_set_pc(&ctx, (uintptr_t)caller);
    seen = ctx;

    switch (wm_dispatch_sigsafe(&rec, &ctx)) {
    case WM_DISP_CONTINUE:
        if (wm_context_pc(&ctx) == wm_context_pc(&seen) &&
            wm_context_sp(&ctx) == wm_context_sp(&seen))
            return;
        resumed = 1;
        wm_context_to_ucontext(&uc, &ctx);
        setcontext(&uc);
        break;
    case WM_DISP_UNHANDLED:
    case WM_DISP_TERMINATE:
        break;
    }
    wm_dispatch_terminate_sigsafe(&rec, 0, NULL);
}
