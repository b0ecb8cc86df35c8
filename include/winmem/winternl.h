/*
 * winternl.h - the NT layer: Nt*VirtualMemory calls returning NTSTATUS, and the
 * status-to-Win32-error translation.
 */
#ifndef WINMEM_WINTERNL_H
#define WINMEM_WINTERNL_H

#include "winnt.h"
#include "ntstatus.h"

WINMEM_EXTERN_C_BEGIN

typedef enum _MEMORY_INFORMATION_CLASS {
    MemoryBasicInformation = 0,
    MemoryWorkingSetInformation = 1,
    MemoryMappedFilenameInformation = 2,
    MemoryRegionInformation = 3,
    MemoryWorkingSetExInformation = 4,
} MEMORY_INFORMATION_CLASS;

/* Windows' pseudo handles: (HANDLE)-1 is the current process, (HANDLE)-2 the current thread. */
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#define NtCurrentThread() ((HANDLE)(LONG_PTR)-2)

/* NtLockVirtualMemory MapType values. */
#define MAP_PROCESS 1
#define MAP_SYSTEM 2

NTSYSAPI NTSTATUS NTAPI NtAllocateVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                                ULONG_PTR ZeroBits, PSIZE_T RegionSize,
                                                ULONG AllocationType, ULONG Protect);
NTSYSAPI NTSTATUS NTAPI NtFreeVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                            PSIZE_T RegionSize, ULONG FreeType);
NTSYSAPI NTSTATUS NTAPI NtProtectVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                               PSIZE_T RegionSize, ULONG NewProtect,
                                               PULONG OldProtect);
NTSYSAPI NTSTATUS NTAPI NtQueryVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress,
                                             MEMORY_INFORMATION_CLASS MemoryInformationClass,
                                             PVOID MemoryInformation,
                                             SIZE_T MemoryInformationLength, PSIZE_T ReturnLength);
NTSYSAPI NTSTATUS NTAPI NtLockVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                            PSIZE_T RegionSize, ULONG MapType);
NTSYSAPI NTSTATUS NTAPI NtUnlockVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                              PSIZE_T RegionSize, ULONG MapType);
NTSYSAPI ULONG NTAPI RtlNtStatusToDosError(NTSTATUS Status);

/* The secure memory cache callbacks at the NT level (AddSecureMemoryCacheCallback's
 * backing).  The callback has the Win32 callback's shape. */
typedef PSECURE_MEMORY_CACHE_CALLBACK PRTL_SECURE_MEMORY_CACHE_CALLBACK;
NTSYSAPI NTSTATUS NTAPI
RtlRegisterSecureMemoryCacheCallback(PRTL_SECURE_MEMORY_CACHE_CALLBACK Callback);
NTSYSAPI NTSTATUS NTAPI
RtlDeregisterSecureMemoryCacheCallback(PRTL_SECURE_MEMORY_CACHE_CALLBACK Callback);
NTSYSAPI BOOLEAN NTAPI RtlFlushSecureMemoryCache(PVOID MemoryCache, SIZE_T MemoryLength);

WINMEM_EXTERN_C_END

#endif
