/*
 * minwinbase.h - small structures shared by the API-set headers.
 */
#ifndef WINMEM_MINWINBASE_H
#define WINMEM_MINWINBASE_H

#include "windef.h"

/* Accepted for signature compatibility; winmem has no security descriptors, and handles are
 * not inherited (there is no CreateProcess). */
typedef struct _SECURITY_ATTRIBUTES {
    DWORD nLength;
    LPVOID lpSecurityDescriptor;
    BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

/* ReadFile / WriteFile's OVERLAPPED: on winmem's synchronous handles only the offset is used
 * (the call completes before it returns; Internal and InternalHigh get its status and count). */
typedef struct _OVERLAPPED {
    ULONG_PTR Internal;
    ULONG_PTR InternalHigh;
    union {
        struct {
            DWORD Offset;
            DWORD OffsetHigh;
        };
        PVOID Pointer;
    };
    HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;

#endif
