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
/* Copies between this process's memory and a buffer: STATUS_PARTIAL_COPY (with the count of
 * bytes copied) when the process's side becomes unreadable / unwritable part way. */
NTSYSAPI NTSTATUS NTAPI NtReadVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress, PVOID Buffer,
                                            SIZE_T NumberOfBytesToRead, PSIZE_T NumberOfBytesRead);
NTSYSAPI NTSTATUS NTAPI NtWriteVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress, PVOID Buffer,
                                             SIZE_T NumberOfBytesToWrite,
                                             PSIZE_T NumberOfBytesWritten);
NTSYSAPI NTSTATUS NTAPI NtFlushInstructionCache(HANDLE ProcessHandle, PVOID BaseAddress,
                                                SIZE_T Length);
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
NTSYSAPI NTSTATUS NTAPI NtGetWriteWatch(HANDLE ProcessHandle, ULONG Flags, PVOID BaseAddress,
                                        SIZE_T RegionSize, PVOID *UserAddressArray,
                                        PULONG_PTR EntriesInUserAddressArray, PULONG Granularity);
NTSYSAPI NTSTATUS NTAPI NtResetWriteWatch(HANDLE ProcessHandle, PVOID BaseAddress,
                                          SIZE_T RegionSize);
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
/* The ...Ex forms take MEM_EXTENDED_PARAMETERs: address requirements (the address is chosen
 * to meet them; then no address may be given), a NUMA node; and they alone make and replace
 * placeholders (MEM_RESERVE_PLACEHOLDER, MEM_REPLACE_PLACEHOLDER). */
NTSYSAPI NTSTATUS NTAPI NtAllocateVirtualMemoryEx(HANDLE ProcessHandle, PVOID *BaseAddress,
                                                  PSIZE_T RegionSize, ULONG AllocationType,
                                                  ULONG PageProtection,
                                                  PMEM_EXTENDED_PARAMETER ExtendedParameters,
                                                  ULONG ExtendedParameterCount);
NTSYSAPI NTSTATUS NTAPI NtMapViewOfSectionEx(HANDLE SectionHandle, HANDLE ProcessHandle,
                                             PVOID *BaseAddress, PLARGE_INTEGER SectionOffset,
                                             PSIZE_T ViewSize, ULONG AllocationType,
                                             ULONG PageProtection,
                                             PMEM_EXTENDED_PARAMETER ExtendedParameters,
                                             ULONG ExtendedParameterCount);
NTSYSAPI NTSTATUS NTAPI NtUnmapViewOfSectionEx(HANDLE ProcessHandle, PVOID BaseAddress,
                                               ULONG Flags);

typedef enum _SECTION_INFORMATION_CLASS {
    SectionBasicInformation = 0,
    SectionImageInformation = 1,
} SECTION_INFORMATION_CLASS;
typedef struct _SECTION_BASIC_INFORMATION {
    PVOID BaseAddress;          /* NULL: 64-bit Windows has no based sections */
    ULONG AllocationAttributes; /* SEC_COMMIT / SEC_RESERVE / SEC_FILE, with SEC_NOCACHE ... */
    LARGE_INTEGER MaximumSize;  /* page-rounded for the paging file, exact for a file */
} SECTION_BASIC_INFORMATION, *PSECTION_BASIC_INFORMATION;
/* Needs SECTION_QUERY; SectionImageInformation: STATUS_SECTION_NOT_IMAGE (no image sections). */
NTSYSAPI NTSTATUS NTAPI NtQuerySection(HANDLE SectionHandle,
                                       SECTION_INFORMATION_CLASS SectionInformationClass,
                                       PVOID SectionInformation, SIZE_T SectionInformationLength,
                                       PSIZE_T ReturnLength);
/* STATUS_SUCCESS when both addresses lie in the same view (or the first in an executable
 * image and the second in any mapping of that file); STATUS_NOT_SAME_DEVICE for other views;
 * STATUS_CONFLICTING_ADDRESSES for private memory; STATUS_INVALID_ADDRESS for free memory. */
NTSYSAPI NTSTATUS NTAPI NtAreMappedFilesTheSame(PVOID File1MappedAsAnImage,
                                                PVOID File2MappedAsFile);

/* ---- files (the calls sections and the Win32 file API need) ---------------------------- */

typedef struct _IO_STATUS_BLOCK {
    union {
        NTSTATUS Status;
        PVOID Pointer;
    };
    ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

/* NtCreateFile CreateDisposition. */
#define FILE_SUPERSEDE 0
#define FILE_OPEN 1
#define FILE_CREATE 2
#define FILE_OPEN_IF 3
#define FILE_OVERWRITE 4
#define FILE_OVERWRITE_IF 5
/* IO_STATUS_BLOCK.Information after NtCreateFile. */
#define FILE_SUPERSEDED 0
#define FILE_OPENED 1
#define FILE_CREATED 2
#define FILE_OVERWRITTEN 3
#define FILE_EXISTS 4
#define FILE_DOES_NOT_EXIST 5
/* NtCreateFile CreateOptions. */
#define FILE_DIRECTORY_FILE 0x00000001
#define FILE_WRITE_THROUGH 0x00000002
#define FILE_SEQUENTIAL_ONLY 0x00000004
#define FILE_NO_INTERMEDIATE_BUFFERING 0x00000008
#define FILE_SYNCHRONOUS_IO_ALERT 0x00000010
#define FILE_SYNCHRONOUS_IO_NONALERT 0x00000020
#define FILE_NON_DIRECTORY_FILE 0x00000040
#define FILE_RANDOM_ACCESS 0x00000800
#define FILE_DELETE_ON_CLOSE 0x00001000
#define FILE_OPEN_FOR_BACKUP_INTENT 0x00004000
/* NtReadFile / NtWriteFile ByteOffset: use the handle's file position. */
#define FILE_USE_FILE_POINTER_POSITION (-2)

typedef enum _FILE_INFORMATION_CLASS {
    FileStandardInformation = 5,
    FilePositionInformation = 14,
    FileEndOfFileInformation = 20,
} FILE_INFORMATION_CLASS,
    *PFILE_INFORMATION_CLASS;

typedef struct _FILE_STANDARD_INFORMATION {
    LARGE_INTEGER AllocationSize;
    LARGE_INTEGER EndOfFile;
    ULONG NumberOfLinks;
    BOOLEAN DeletePending;
    BOOLEAN Directory;
} FILE_STANDARD_INFORMATION, *PFILE_STANDARD_INFORMATION;

typedef struct _FILE_POSITION_INFORMATION {
    LARGE_INTEGER CurrentByteOffset;
} FILE_POSITION_INFORMATION, *PFILE_POSITION_INFORMATION;

typedef struct _FILE_END_OF_FILE_INFORMATION {
    LARGE_INTEGER EndOfFile;
} FILE_END_OF_FILE_INFORMATION, *PFILE_END_OF_FILE_INFORMATION;

/* The object name is a Linux path in UTF-16 (a leading \??\ is accepted and dropped). */
NTSYSAPI NTSTATUS NTAPI NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
                                     POBJECT_ATTRIBUTES ObjectAttributes,
                                     PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
                                     ULONG FileAttributes, ULONG ShareAccess,
                                     ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
                                     ULONG EaLength);
NTSYSAPI NTSTATUS NTAPI NtReadFile(HANDLE FileHandle, HANDLE Event, PVOID ApcRoutine,
                                   PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
                                   ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key);
NTSYSAPI NTSTATUS NTAPI NtWriteFile(HANDLE FileHandle, HANDLE Event, PVOID ApcRoutine,
                                    PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock,
                                    const VOID *Buffer, ULONG Length, PLARGE_INTEGER ByteOffset,
                                    PULONG Key);
NTSYSAPI NTSTATUS NTAPI NtQueryInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
                                               PVOID FileInformation, ULONG Length,
                                               FILE_INFORMATION_CLASS FileInformationClass);
NTSYSAPI NTSTATUS NTAPI NtSetInformationFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock,
                                             PVOID FileInformation, ULONG Length,
                                             FILE_INFORMATION_CLASS FileInformationClass);
NTSYSAPI NTSTATUS NTAPI NtFlushBuffersFile(HANDLE FileHandle, PIO_STATUS_BLOCK IoStatusBlock);

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
