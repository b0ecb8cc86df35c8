/*
 * processthreadsapi.h - the current-process pseudo handle.
 */
#ifndef WINMEM_PROCESSTHREADSAPI_H
#define WINMEM_PROCESSTHREADSAPI_H

#include "windef.h"

WINMEM_EXTERN_C_BEGIN

WINBASEAPI HANDLE WINAPI GetCurrentProcess(VOID);
WINBASEAPI DWORD WINAPI GetCurrentProcessId(VOID);
WINBASEAPI HANDLE WINAPI GetCurrentThread(VOID);

WINMEM_EXTERN_C_END

#endif
