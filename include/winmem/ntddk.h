/*
 * ntddk.h - the driver-side calls winmem makes callable in-process: securing a user address
 * range the way a device driver does before it caches the range's translation (RDMA and MPI
 * registration caches).  See AddSecureMemoryCacheCallback in winbase.h for the other half.
 */
#ifndef WINMEM_NTDDK_H
#define WINMEM_NTDDK_H

#include "winnt.h"

WINMEM_EXTERN_C_BEGIN

/* Secure [Address, Address+Size): it cannot be released or decommitted, nor protected more
 * tightly than ProbeMode (PAGE_READONLY or PAGE_READWRITE), until MmUnsecureVirtualMemory.
 * NULL when the range is not committed and accessible in ProbeMode, or on bad arguments. */
NTSYSAPI HANDLE NTAPI MmSecureVirtualMemory(PVOID Address, SIZE_T Size, ULONG ProbeMode);
NTSYSAPI VOID NTAPI MmUnsecureVirtualMemory(HANDLE SecureHandle);

WINMEM_EXTERN_C_END

#endif
