/*
 * errhandlingapi.c - the per-thread last-error value and the one helper that sets it from
 * an NTSTATUS.
 */
#include "win32.h"

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

BOOL wm_win32_status(NTSTATUS status)
{
    if (status == STATUS_SUCCESS)
        return TRUE;
    last_error = RtlNtStatusToDosError(status);
    return FALSE;
}
