/*
 * synchapi.h - sleeping.  (No events, mutexes or waits: winmem is memory management.)
 */
#ifndef WINMEM_SYNCHAPI_H
#define WINMEM_SYNCHAPI_H

#include "windef.h"

WINMEM_EXTERN_C_BEGIN

#ifndef INFINITE
#define INFINITE 0xFFFFFFFF
#endif
#ifndef WAIT_IO_COMPLETION
#define WAIT_IO_COMPLETION 0x000000C0L
#endif

WINBASEAPI VOID WINAPI Sleep(DWORD dwMilliseconds);
WINBASEAPI DWORD WINAPI SleepEx(DWORD dwMilliseconds, BOOL bAlertable);

WINMEM_EXTERN_C_END

#endif
