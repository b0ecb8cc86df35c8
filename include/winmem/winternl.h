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

typedef struct _UNICODE_STRING {
    USHORT Length;        /* bytes, without a terminator */
    USHORT MaximumLength; /* bytes */
    PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

#define OBJ_INHERIT 0x00000002
#define OBJ_CASE_INSENSITIVE 0x00000040
#define OBJ_OPENIF 0x00000080

typedef struct _OBJECT_ATTRIBUTES {
    ULONG Length;
    HANDLE RootDirectory;
    PUNICODE_STRING ObjectName;
    ULONG Attributes;
    PVOID SecurityDescriptor;
    PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;

typedef enum _SECTION_INHERIT { ViewShare = 1, ViewUnmap = 2 } SECTION_INHERIT;

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

NTSYSAPI NTSTATUS NTAPI NtClose(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle,
                                          HANDLE TargetProcessHandle, PHANDLE TargetHandle,
                                          ACCESS_MASK DesiredAccess, ULONG HandleAttributes,
                                          ULONG Options);
NTSYSAPI NTSTATUS NTAPI NtCreateSection(PHANDLE SectionHandle, ACCESS_MASK DesiredAccess,
                                        POBJECT_ATTRIBUTES ObjectAttributes,
                                        PLARGE_INTEGER MaximumSize, ULONG SectionPageProtection,
                                        ULONG AllocationAttributes, HANDLE FileHandle);
NTSYSAPI NTSTATUS NTAPI NtOpenSection(PHANDLE SectionHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI NtMapViewOfSection(HANDLE SectionHandle, HANDLE ProcessHandle,
                                           PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                           SIZE_T CommitSize, PLARGE_INTEGER SectionOffset,
                                           PSIZE_T ViewSize, SECTION_INHERIT InheritDisposition,
                                           ULONG AllocationType, ULONG Win32Protect);
NTSYSAPI NTSTATUS NTAPI NtUnmapViewOfSection(HANDLE ProcessHandle, PVOID BaseAddress);

/* The secure memory cache callbacks at the NT level (AddSecureMemoryCacheCallback's
 * backing).  The callback has the Win32 callback's shape. */
typedef PSECURE_MEMORY_CACHE_CALLBACK PRTL_SECURE_MEMORY_CACHE_CALLBACK;
NTSYSAPI NTSTATUS NTAPI
RtlRegisterSecureMemoryCacheCallback(PRTL_SECURE_MEMORY_CACHE_CALLBACK Callback);
NTSYSAPI NTSTATUS NTAPI
RtlDeregisterSecureMemoryCacheCallback(PRTL_SECURE_MEMORY_CACHE_CALLBACK Callback);
NTSYSAPI BOOLEAN NTAPI RtlFlushSecureMemoryCache(PVOID MemoryCache, SIZE_T MemoryLength);

/* The heap beneath HeapCreate and friends (heapapi.h).  RtlCreateHeap takes a reserve and a
 * commit size (ReserveSize 0 with HEAP_GROWABLE: a growable heap); HeapBase, Lock and
 * Parameters must be NULL.  RtlDestroyHeap returns NULL on success and the heap on failure;
 * RtlSizeHeap returns (SIZE_T)-1 for a pointer that is not a busy block of the heap. */
typedef struct _RTL_HEAP_PARAMETERS {
    ULONG Length;
    SIZE_T SegmentReserve;
    SIZE_T SegmentCommit;
    SIZE_T DeCommitFreeBlockThreshold;
    SIZE_T DeCommitTotalFreeThreshold;
    SIZE_T MaximumAllocationSize;
    SIZE_T VirtualMemoryThreshold;
    SIZE_T InitialCommit;
    SIZE_T InitialReserve;
    PVOID CommitRoutine;
    SIZE_T Reserved[2];
} RTL_HEAP_PARAMETERS, *PRTL_HEAP_PARAMETERS;

NTSYSAPI PVOID NTAPI RtlCreateHeap(ULONG Flags, PVOID HeapBase, SIZE_T ReserveSize,
                                   SIZE_T CommitSize, PVOID Lock, PRTL_HEAP_PARAMETERS Parameters);
NTSYSAPI PVOID NTAPI RtlDestroyHeap(PVOID HeapHandle);
NTSYSAPI PVOID NTAPI RtlAllocateHeap(PVOID HeapHandle, ULONG Flags, SIZE_T Size);
NTSYSAPI BOOLEAN NTAPI RtlFreeHeap(PVOID HeapHandle, ULONG Flags, PVOID BaseAddress);
NTSYSAPI SIZE_T NTAPI RtlSizeHeap(PVOID HeapHandle, ULONG Flags, const void *BaseAddress);
NTSYSAPI PVOID NTAPI RtlReAllocateHeap(PVOID HeapHandle, ULONG Flags, PVOID BaseAddress,
                                       SIZE_T Size);
NTSYSAPI BOOLEAN NTAPI RtlValidateHeap(PVOID HeapHandle, ULONG Flags, const void *BaseAddress);
NTSYSAPI BOOLEAN NTAPI RtlLockHeap(PVOID HeapHandle);
NTSYSAPI BOOLEAN NTAPI RtlUnlockHeap(PVOID HeapHandle);
NTSYSAPI ULONG NTAPI RtlGetProcessHeaps(ULONG Count, PVOID *Heaps);

WINMEM_EXTERN_C_END

#endif
