/*
 * fibersapi.h - fiber-local storage.  winmem has no fibers: each thread is its one fiber, so
 * a value lives per thread and the callback runs at thread exit and at FlsFree.
 */
#ifndef WINMEM_FIBERSAPI_H
#define WINMEM_FIBERSAPI_H

#include "windef.h"

WINMEM_EXTERN_C_BEGIN

#define FLS_OUT_OF_INDEXES ((DWORD)0xFFFFFFFF)
#define FLS_MAXIMUM_AVAILABLE 4080
#define TLS_MINIMUM_AVAILABLE 64

typedef VOID(NTAPI *PFLS_CALLBACK_FUNCTION)(PVOID lpFlsData);

WINBASEAPI DWORD WINAPI FlsAlloc(PFLS_CALLBACK_FUNCTION lpCallback);
WINBASEAPI PVOID WINAPI FlsGetValue(DWORD dwFlsIndex);
WINBASEAPI BOOL WINAPI FlsSetValue(DWORD dwFlsIndex, PVOID lpFlsData);
WINBASEAPI BOOL WINAPI FlsFree(DWORD dwFlsIndex);

WINMEM_EXTERN_C_END

#endif
