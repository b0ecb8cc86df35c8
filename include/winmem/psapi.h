/*
 * psapi.h - process status: QueryWorkingSetEx (K32QueryWorkingSetEx), which pages of a list
 * of addresses are resident and how.  Include after windows.h, as with the SDK.
 */
#ifndef WINMEM_PSAPI_H
#define WINMEM_PSAPI_H

#include "windows.h"

WINMEM_EXTERN_C_BEGIN

/* One page's attributes.  Valid: resident in the working set; the other fields of the first
 * form only mean something then (the Invalid form is for pages that are not). */
typedef union _PSAPI_WORKING_SET_EX_BLOCK {
    ULONG_PTR Flags;
    struct {
        ULONG_PTR Valid : 1;
        ULONG_PTR ShareCount : 3;
        ULONG_PTR Win32Protection : 11;
        ULONG_PTR Shared : 1;
        ULONG_PTR Node : 6;
        ULONG_PTR Locked : 1;
        ULONG_PTR LargePage : 1;
        ULONG_PTR Reserved : 7;
        ULONG_PTR Bad : 1;
        ULONG_PTR ReservedUlong : 32;
    };
    struct {
        ULONG_PTR Valid : 1;
        ULONG_PTR Reserved0 : 14;
        ULONG_PTR Shared : 1;
        ULONG_PTR Reserved1 : 15;
        ULONG_PTR Bad : 1;
        ULONG_PTR ReservedUlong : 32;
    } Invalid;
} PSAPI_WORKING_SET_EX_BLOCK, *PPSAPI_WORKING_SET_EX_BLOCK;

typedef struct _PSAPI_WORKING_SET_EX_INFORMATION {
    PVOID VirtualAddress;
    PSAPI_WORKING_SET_EX_BLOCK VirtualAttributes;
} PSAPI_WORKING_SET_EX_INFORMATION, *PPSAPI_WORKING_SET_EX_INFORMATION;

/* Fills VirtualAttributes of each entry of pv (cb bytes); FALSE with ERROR_BAD_LENGTH when cb
 * holds no whole entry. */
WINBASEAPI BOOL WINAPI K32QueryWorkingSetEx(HANDLE hProcess, PVOID pv, DWORD cb);
#define QueryWorkingSetEx K32QueryWorkingSetEx

WINMEM_EXTERN_C_END

#endif
