/*
 * handleapi.c - CloseHandle and DuplicateHandle over NtClose / NtDuplicateObject.
 */
#include "win32.h"

/* CloseHandle: FALSE with ERROR_INVALID_HANDLE for a handle that is not open (a second close
 * included).  The pseudo handles close successfully and stay valid, as on Windows. */
WINMEM_API BOOL WINAPI CloseHandle(HANDLE h)
{
    if (h == NtCurrentProcess() || h == NtCurrentThread())
        return TRUE;
    return wm_win32_status(NtClose(h));
}

/* DuplicateHandle: within the current process only. */
WINMEM_API BOOL WINAPI DuplicateHandle(HANDLE src_process, HANDLE src, HANDLE dst_process,
                                       LPHANDLE dst, DWORD access, BOOL inherit, DWORD options)
{
    return wm_win32_status(NtDuplicateObject(src_process, src, dst_process, dst, access,
                                             inherit ? OBJ_INHERIT : 0, options));
}
