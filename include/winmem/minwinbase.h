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

#endif
