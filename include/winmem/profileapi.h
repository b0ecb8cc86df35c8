/*
 * profileapi.h - the high-resolution performance counter.
 */
#ifndef WINMEM_PROFILEAPI_H
#define WINMEM_PROFILEAPI_H

#include "windef.h"

WINMEM_EXTERN_C_BEGIN

WINBASEAPI BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount);
WINBASEAPI BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency);

WINMEM_EXTERN_C_END

#endif
