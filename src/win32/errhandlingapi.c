/*
 * errhandlingapi.c - the per-thread last-error value and the one helper that sets it from
 * an NTSTATUS; vectored exception handling and RaiseException over except/.
 */
#include "win32.h"
#include "rtl/trace.h"

#include "except/except.h"

/* Windows keeps the last error in the thread environment block: one per thread. */
static _Thread_local DWORD last_error;

WINMEM_API DWORD WINAPI GetLastError(VOID)
{
    return last_error;
}

WINMEM_API VOID WINAPI SetLastError(DWORD code)
{
    last_error = code;
}

BOOL wm_win32_error(DWORD err)
{
    last_error = err;
    return err == ERROR_SUCCESS;
}

BOOL wm_win32_status(NTSTATUS status)
{
    if (status == STATUS_SUCCESS)
        return TRUE;
    last_error = RtlNtStatusToDosError(status);
    return FALSE;
}

/* AddVectoredExceptionHandler: First != 0 puts the handler before every other. */
WINMEM_API PVOID WINAPI AddVectoredExceptionHandler(ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    WM_TRACE(AddVectoredExceptionHandler, first, fn);
    wm_signal_init();
    return wm_handlers_add(WM_VEH, first, fn);
}

WINMEM_API ULONG WINAPI RemoveVectoredExceptionHandler(PVOID handle)
{
    WM_TRACE(RemoveVectoredExceptionHandler, handle);
    return wm_handlers_remove(WM_VEH, handle);
}

/* AddVectoredContinueHandler: called after a handler or filter continues execution. */
WINMEM_API PVOID WINAPI AddVectoredContinueHandler(ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    WM_TRACE(AddVectoredContinueHandler, first, fn);
    wm_signal_init();
    return wm_handlers_add(WM_VCH, first, fn);
}

WINMEM_API ULONG WINAPI RemoveVectoredContinueHandler(PVOID handle)
{
    WM_TRACE(RemoveVectoredContinueHandler, handle);
    return wm_handlers_remove(WM_VCH, handle);
}

/* SetUnhandledExceptionFilter: the last word before an exception ends the process. */
WINMEM_API LPTOP_LEVEL_EXCEPTION_FILTER WINAPI
SetUnhandledExceptionFilter(LPTOP_LEVEL_EXCEPTION_FILTER filter)
{
    WM_TRACE(SetUnhandledExceptionFilter, filter);
    wm_signal_init();
    return wm_dispatch_set_filter(filter);
}

/* UnhandledExceptionFilter: the top-level filter's verdict, or EXCEPTION_EXECUTE_HANDLER (no
 * debugger gets a second chance here). */
WINMEM_API LONG WINAPI UnhandledExceptionFilter(struct _EXCEPTION_POINTERS *ep)
{
    return wm_dispatch_unhandled_filter(ep);
}

/* RaiseException: a software exception; returns if a handler continues it.  The exception
 * address is inside RaiseException, as on Windows (where RtlRaiseException records its
 * caller, RaiseException). */
WINMEM_API VOID WINAPI RaiseException(DWORD code, DWORD flags, DWORD nargs, const ULONG_PTR *args)
{
    wm_signal_init();
    wm_raise(code, flags, nargs, args);
    __asm__ volatile("" ::: "memory"); /* no tail call: wm_raise must return in here */
}
