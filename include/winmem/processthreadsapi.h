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

/* Makes code written to memory visible to instruction fetches (nothing to do on x86-64). */
WINBASEAPI BOOL WINAPI FlushInstructionCache(HANDLE hProcess, LPCVOID lpBaseAddress, SIZE_T dwSize);

WINMEM_EXTERN_C_END

#endif
