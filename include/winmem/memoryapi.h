/*
 * memoryapi.h - the Win32 virtual-memory calls (VirtualAlloc family).
 */
#ifndef WINMEM_MEMORYAPI_H
#define WINMEM_MEMORYAPI_H

#include "minwinbase.h"
#include "winnt.h"

WINMEM_EXTERN_C_BEGIN

WINBASEAPI LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                                      DWORD flProtect);
WINBASEAPI LPVOID WINAPI VirtualAllocEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                        DWORD flAllocationType, DWORD flProtect);
WINBASEAPI BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
WINBASEAPI BOOL WINAPI VirtualFreeEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                     DWORD dwFreeType);
WINBASEAPI BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                                      PDWORD lpflOldProtect);
WINBASEAPI BOOL WINAPI VirtualProtectEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                        DWORD flNewProtect, PDWORD lpflOldProtect);
WINBASEAPI SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
                                      SIZE_T dwLength);
WINBASEAPI SIZE_T WINAPI VirtualQueryEx(HANDLE hProcess, LPCVOID lpAddress,
                                        PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength);
WINBASEAPI BOOL WINAPI VirtualLock(LPVOID lpAddress, SIZE_T dwSize);

/* Write watches (VirtualAlloc with MEM_WRITE_WATCH). */
WINBASEAPI UINT WINAPI GetWriteWatch(DWORD dwFlags, PVOID lpBaseAddress, SIZE_T dwRegionSize,
                                     PVOID *lpAddresses, ULONG_PTR *lpdwCount,
                                     LPDWORD lpdwGranularity);
WINBASEAPI UINT WINAPI ResetWriteWatch(LPVOID lpBaseAddress, SIZE_T dwRegionSize);

/* File mappings. */
#define FILE_MAP_WRITE SECTION_MAP_WRITE
#define FILE_MAP_READ SECTION_MAP_READ
#define FILE_MAP_ALL_ACCESS SECTION_ALL_ACCESS
#define FILE_MAP_EXECUTE SECTION_MAP_EXECUTE_EXPLICIT
#define FILE_MAP_COPY 0x00000001
#define FILE_MAP_RESERVE 0x80000000
#define FILE_MAP_TARGETS_INVALID 0x40000000
#define FILE_MAP_LARGE_PAGES 0x20000000

WINBASEAPI HANDLE WINAPI CreateFileMappingA(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes,
                                            DWORD flProtect, DWORD dwMaximumSizeHigh,
                                            DWORD dwMaximumSizeLow, LPCSTR lpName);
WINBASEAPI HANDLE WINAPI CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes,
                                            DWORD flProtect, DWORD dwMaximumSizeHigh,
                                            DWORD dwMaximumSizeLow, LPCWSTR lpName);
WINBASEAPI HANDLE WINAPI OpenFileMappingA(DWORD dwDesiredAccess, BOOL bInheritHandle,
                                          LPCSTR lpName);
WINBASEAPI HANDLE WINAPI OpenFileMappingW(DWORD dwDesiredAccess, BOOL bInheritHandle,
                                          LPCWSTR lpName);
WINBASEAPI LPVOID WINAPI MapViewOfFile(HANDLE hFileMappingObject, DWORD dwDesiredAccess,
                                       DWORD dwFileOffsetHigh, DWORD dwFileOffsetLow,
                                       SIZE_T dwNumberOfBytesToMap);
WINBASEAPI LPVOID WINAPI MapViewOfFileEx(HANDLE hFileMappingObject, DWORD dwDesiredAccess,
                                         DWORD dwFileOffsetHigh, DWORD dwFileOffsetLow,
                                         SIZE_T dwNumberOfBytesToMap, LPVOID lpBaseAddress);
WINBASEAPI BOOL WINAPI UnmapViewOfFile(LPCVOID lpBaseAddress);
WINBASEAPI BOOL WINAPI FlushViewOfFile(LPCVOID lpBaseAddress, SIZE_T dwNumberOfBytesToFlush);

#ifdef UNICODE
#define CreateFileMapping CreateFileMappingW
#define OpenFileMapping OpenFileMappingW
#else
#define CreateFileMapping CreateFileMappingA
#define OpenFileMapping OpenFileMappingA
#endif
WINBASEAPI BOOL WINAPI VirtualUnlock(LPVOID lpAddress, SIZE_T dwSize);

/* NUMA: the same as the calls without "Numa", with a preferred node for the pages
 * (NUMA_NO_PREFERRED_NODE, or a node up to GetNumaHighestNodeNumber's). */
WINBASEAPI LPVOID WINAPI VirtualAllocExNuma(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                            DWORD flAllocationType, DWORD flProtect,
                                            DWORD nndPreferred);
WINBASEAPI LPVOID WINAPI MapViewOfFileExNuma(HANDLE hFileMappingObject, DWORD dwDesiredAccess,
                                             DWORD dwFileOffsetHigh, DWORD dwFileOffsetLow,
                                             SIZE_T dwNumberOfBytesToMap, LPVOID lpBaseAddress,
                                             DWORD nndPreferred);
WINBASEAPI HANDLE WINAPI CreateFileMappingNumaA(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes,
                                                DWORD flProtect, DWORD dwMaximumSizeHigh,
                                                DWORD dwMaximumSizeLow, LPCSTR lpName,
                                                DWORD nndPreferred);
WINBASEAPI HANDLE WINAPI CreateFileMappingNumaW(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes,
                                                DWORD flProtect, DWORD dwMaximumSizeHigh,
                                                DWORD dwMaximumSizeLow, LPCWSTR lpName,
                                                DWORD nndPreferred);

/* VirtualAlloc with extended parameters (MEM_ADDRESS_REQUIREMENTS: allocate within an address
 * range or with a larger alignment; a NUMA node).  The FromApp forms refuse
 * PAGE_EXECUTE_READWRITE and PAGE_EXECUTE_WRITECOPY, as for a Store app. */
WINBASEAPI PVOID WINAPI VirtualAlloc2(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                      ULONG AllocationType, ULONG PageProtection,
                                      MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                      ULONG ParameterCount);
WINBASEAPI PVOID WINAPI VirtualAlloc2FromApp(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                             ULONG AllocationType, ULONG PageProtection,
                                             MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                             ULONG ParameterCount);
WINBASEAPI PVOID WINAPI VirtualAllocFromApp(PVOID BaseAddress, SIZE_T Size, ULONG AllocationType,
                                            ULONG Protection);
WINBASEAPI BOOL WINAPI VirtualProtectFromApp(PVOID Address, SIZE_T Size, ULONG NewProtection,
                                             PULONG OldProtection);
WINBASEAPI PVOID WINAPI MapViewOfFile3(HANDLE FileMapping, HANDLE Process, PVOID BaseAddress,
                                       ULONG64 Offset, SIZE_T ViewSize, ULONG AllocationType,
                                       ULONG PageProtection,
                                       MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                       ULONG ParameterCount);
WINBASEAPI PVOID WINAPI MapViewOfFile3FromApp(HANDLE FileMapping, HANDLE Process, PVOID BaseAddress,
                                              ULONG64 Offset, SIZE_T ViewSize, ULONG AllocationType,
                                              ULONG PageProtection,
                                              MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                              ULONG ParameterCount);
WINBASEAPI BOOL WINAPI UnmapViewOfFile2(HANDLE Process, PVOID BaseAddress, ULONG UnmapFlags);
WINBASEAPI BOOL WINAPI UnmapViewOfFileEx(PVOID BaseAddress, ULONG UnmapFlags);

/* Copies from and to this process's memory (the process handle must be the current
 * process); a partial copy fails with ERROR_PARTIAL_COPY and reports the bytes copied. */
WINBASEAPI BOOL WINAPI ReadProcessMemory(HANDLE hProcess, LPCVOID lpBaseAddress, LPVOID lpBuffer,
                                         SIZE_T nSize, SIZE_T *lpNumberOfBytesRead);
WINBASEAPI BOOL WINAPI WriteProcessMemory(HANDLE hProcess, LPVOID lpBaseAddress, LPCVOID lpBuffer,
                                          SIZE_T nSize, SIZE_T *lpNumberOfBytesWritten);

typedef struct _WIN32_MEMORY_RANGE_ENTRY {
    PVOID VirtualAddress;
    SIZE_T NumberOfBytes;
} WIN32_MEMORY_RANGE_ENTRY, *PWIN32_MEMORY_RANGE_ENTRY;
/* A hint: read these ranges in ahead of use.  Flags must be 0. */
WINBASEAPI BOOL WINAPI PrefetchVirtualMemory(HANDLE hProcess, ULONG_PTR NumberOfEntries,
                                             PWIN32_MEMORY_RANGE_ENTRY VirtualAddresses,
                                             ULONG Flags);
/* The contents of these committed pages are no longer needed (they may read as anything after);
 * returns ERROR_SUCCESS or an error code. */
WINBASEAPI DWORD WINAPI DiscardVirtualMemory(PVOID VirtualAddress, SIZE_T Size);

/* Offered memory is inaccessible and may be discarded until reclaimed; ReclaimVirtualMemory
 * returns ERROR_BUSY when some of it was (the contents must then be rewritten). */
typedef enum OFFER_PRIORITY {
    VmOfferPriorityVeryLow = 1,
    VmOfferPriorityLow,
    VmOfferPriorityBelowNormal,
    VmOfferPriorityNormal
} OFFER_PRIORITY;
WINBASEAPI DWORD WINAPI OfferVirtualMemory(PVOID VirtualAddress, SIZE_T Size,
                                           OFFER_PRIORITY Priority);
WINBASEAPI DWORD WINAPI ReclaimVirtualMemory(const void *VirtualAddress, SIZE_T Size);

/* QueryVirtualMemoryInformation: one allocation as a whole (VirtualQuery describes runs of
 * pages with the same state instead). */
typedef enum WIN32_MEMORY_INFORMATION_CLASS { MemoryRegionInfo } WIN32_MEMORY_INFORMATION_CLASS;
typedef struct WIN32_MEMORY_REGION_INFORMATION {
    PVOID AllocationBase;
    ULONG AllocationProtect;
    union {
        ULONG Flags;
        struct {
            ULONG Private : 1;
            ULONG MappedDataFile : 1;
            ULONG MappedImage : 1;
            ULONG MappedPageFile : 1;
            ULONG MappedPhysical : 1;
            ULONG DirectMapped : 1;
            ULONG Reserved : 26;
        };
    };
    SIZE_T RegionSize;
    SIZE_T CommitSize;
} WIN32_MEMORY_REGION_INFORMATION;
WINBASEAPI BOOL WINAPI QueryVirtualMemoryInformation(
    HANDLE Process, const VOID *VirtualAddress,
    WIN32_MEMORY_INFORMATION_CLASS MemoryInformationClass, PVOID MemoryInformation,
    SIZE_T MemoryInformationSize, PSIZE_T ReturnSize);

/* Working-set sizes (flags: QUOTA_LIMITS_HARDWS_*, winnt.h). */
WINBASEAPI BOOL WINAPI GetProcessWorkingSetSize(HANDLE hProcess, PSIZE_T lpMinimumWorkingSetSize,
                                                PSIZE_T lpMaximumWorkingSetSize);
WINBASEAPI BOOL WINAPI GetProcessWorkingSetSizeEx(HANDLE hProcess, PSIZE_T lpMinimumWorkingSetSize,
                                                  PSIZE_T lpMaximumWorkingSetSize, PDWORD Flags);
WINBASEAPI BOOL WINAPI SetProcessWorkingSetSize(HANDLE hProcess, SIZE_T dwMinimumWorkingSetSize,
                                                SIZE_T dwMaximumWorkingSetSize);
WINBASEAPI BOOL WINAPI SetProcessWorkingSetSizeEx(HANDLE hProcess, SIZE_T dwMinimumWorkingSetSize,
                                                  SIZE_T dwMaximumWorkingSetSize, DWORD Flags);

/* Control Flow Guard call targets in executable memory (one bit per 16 bytes, see docs/cfg.md). */
WINBASEAPI BOOL WINAPI SetProcessValidCallTargets(HANDLE hProcess, PVOID VirtualAddress,
                                                  SIZE_T RegionSize, ULONG NumberOfOffsets,
                                                  PCFG_CALL_TARGET_INFO OffsetInformation);

WINMEM_EXTERN_C_END

#endif
