/*
 * errhandlingapi.h - the per-thread last-error value.
 */
#ifndef WINMEM_ERRHANDLINGAPI_H
#define WINMEM_ERRHANDLINGAPI_H

#include "windef.h"

WINMEM_EXTERN_C_BEGIN

WINBASEAPI DWORD WINAPI GetLastError(VOID);
WINBASEAPI VOID WINAPI SetLastError(DWORD dwErrCode);

WINMEM_EXTERN_C_END

#endif
