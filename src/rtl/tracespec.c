/*
 * tracespec.c - what each function WINMEM_TRACE can trace takes and returns: one
 * wm_trace_spec per entry point (its name, family, result kind and parameters), which the
 * entry point's WM_TRACE names and trace.c formats from.  A function added to the API gets its
 * line here.
 */
#include "trace.h"

/* Argument kinds: h handle, p pointer, x size (hex), u unsigned, page PAGE_*, mem MEM_* to
 * allocate, free MEM_* to free, unmap MEM_* to unmap, sec PAGE_*|SEC_*, secattr SEC_*, fmap
 * FILE_MAP_*, heap HEAP_*, lmem LMEM_*, gmem GMEM_*, mic a MEMORY_INFORMATION_CLASS, ws / s a
 * UTF-16 / UTF-8 name, oa an OBJECT_ATTRIBUTES' name; through a pointer: *p and *x (in and
 * out), *i64 (in), *page and *h (out).
 * Result kinds: bool (BOOL), ptr (NULL fails), status (NTSTATUS), size0 (0 fails), sizem1
 * ((SIZE_T)-1 fails), uint0 (0 succeeds), ulong (0 fails), null0 (a pointer, NULL succeeds),
 * boolean (BOOLEAN), void. */

#define SPEC(fn, fam, res, args)                     \
    extern const struct wm_trace_spec wm_trace_##fn; \
    const struct wm_trace_spec wm_trace_##fn = { #fn, WM_TRACE_##fam, res, args }

#define V_ALLOC "addr:p size:x type:mem prot:page"
SPEC(VirtualAlloc, VIRTUAL, "ptr", V_ALLOC);
SPEC(VirtualAllocEx, VIRTUAL, "ptr", "process:h " V_ALLOC);
SPEC(VirtualAllocFromApp, VIRTUAL, "ptr", V_ALLOC);
SPEC(VirtualAllocExNuma, VIRTUAL, "ptr", "process:h " V_ALLOC " node:u");
SPEC(VirtualAlloc2, VIRTUAL, "ptr", "process:h " V_ALLOC " params:p count:u");
SPEC(VirtualAlloc2FromApp, VIRTUAL, "ptr", "process:h " V_ALLOC " params:p count:u");
SPEC(VirtualFree, VIRTUAL, "bool", "addr:p size:x type:free");
SPEC(VirtualFreeEx, VIRTUAL, "bool", "process:h addr:p size:x type:free");
SPEC(VirtualProtect, VIRTUAL, "bool", "addr:p size:x prot:page old:*page");
SPEC(VirtualProtectEx, VIRTUAL, "bool", "process:h addr:p size:x prot:page old:*page");
SPEC(VirtualProtectFromApp, VIRTUAL, "bool", "addr:p size:x prot:page old:*page");
SPEC(VirtualQuery, VIRTUAL, "size0", "addr:p info:p len:x");
SPEC(VirtualQueryEx, VIRTUAL, "size0", "process:h addr:p info:p len:x");
SPEC(VirtualLock, VIRTUAL, "bool", "addr:p size:x");
SPEC(VirtualUnlock, VIRTUAL, "bool", "addr:p size:x");
SPEC(GetWriteWatch, VIRTUAL, "uint0", "flags:u base:p size:x addresses:p count:*x gran:p");
SPEC(ResetWriteWatch, VIRTUAL, "uint0", "base:p size:x");
SPEC(NtAllocateVirtualMemory, VIRTUAL, "status",
     "process:h base:*p zero_bits:x size:*x type:mem prot:page");
SPEC(NtAllocateVirtualMemoryEx, VIRTUAL, "status",
     "process:h base:*p size:*x type:mem prot:page params:p count:u");
SPEC(NtFreeVirtualMemory, VIRTUAL, "status", "process:h base:*p size:*x type:free");
SPEC(NtProtectVirtualMemory, VIRTUAL, "status", "process:h base:*p size:*x prot:page old:*page");
SPEC(NtQueryVirtualMemory, VIRTUAL, "status", "process:h addr:p class:mic info:p len:x ret:*x");
SPEC(NtLockVirtualMemory, VIRTUAL, "status", "process:h base:*p size:*x type:u");
SPEC(NtUnlockVirtualMemory, VIRTUAL, "status", "process:h base:*p size:*x type:u");
SPEC(DiscardVirtualMemory, VIRTUAL, "uint0", "addr:p size:x");
SPEC(OfferVirtualMemory, VIRTUAL, "uint0", "addr:p size:x priority:u");
SPEC(ReclaimVirtualMemory, VIRTUAL, "uint0", "addr:p size:x");
SPEC(PrefetchVirtualMemory, VIRTUAL, "bool", "process:h entries:x ranges:p flags:u");
SPEC(QueryVirtualMemoryInformation, VIRTUAL, "bool",
     "process:h addr:p class:u info:p size:x ret:*x");
SPEC(NtGetWriteWatch, VIRTUAL, "status",
     "process:h flags:u base:p size:x addresses:p count:*x gran:p");
SPEC(NtResetWriteWatch, VIRTUAL, "status", "process:h base:p size:x");
SPEC(ReadProcessMemory, VIRTUAL, "bool", "process:h base:p buffer:p size:x count:*x");
SPEC(WriteProcessMemory, VIRTUAL, "bool", "process:h base:p buffer:p size:x count:*x");
SPEC(NtReadVirtualMemory, VIRTUAL, "status", "process:h base:p buffer:p size:x read:*x");
SPEC(NtWriteVirtualMemory, VIRTUAL, "status", "process:h base:p buffer:p size:x written:*x");

#define S_CREATE "file:h sa:p prot:sec size_hi:x size_lo:x"
SPEC(CreateFileMappingW, SECTION, "ptr", S_CREATE " name:ws");
SPEC(CreateFileMappingA, SECTION, "ptr", S_CREATE " name:s");
SPEC(OpenFileMappingW, SECTION, "ptr", "access:fmap inherit:u name:ws");
SPEC(OpenFileMappingA, SECTION, "ptr", "access:fmap inherit:u name:s");
#define S_MAP "mapping:h access:fmap off_hi:x off_lo:x size:x"
SPEC(MapViewOfFile, SECTION, "ptr", S_MAP);
SPEC(MapViewOfFileEx, SECTION, "ptr", S_MAP " base:p");
SPEC(MapViewOfFileExNuma, SECTION, "ptr", S_MAP " base:p node:u");
#define S_MAP3 "mapping:h process:h base:p offset:x size:x type:mem prot:page params:p count:u"
SPEC(MapViewOfFile3, SECTION, "ptr", S_MAP3);
SPEC(MapViewOfFile3FromApp, SECTION, "ptr", S_MAP3);
SPEC(UnmapViewOfFile, SECTION, "bool", "addr:p");
SPEC(UnmapViewOfFile2, SECTION, "bool", "process:h addr:p flags:unmap");
SPEC(UnmapViewOfFileEx, SECTION, "bool", "addr:p flags:unmap");
SPEC(FlushViewOfFile, SECTION, "bool", "addr:p size:x");
SPEC(NtCreateSection, SECTION, "status",
     "handle:*h access:x attr:oa size:*i64 prot:page attributes:secattr file:h");
SPEC(NtOpenSection, SECTION, "status", "handle:*h access:fmap attr:oa");
SPEC(NtMapViewOfSection, SECTION, "status",
     "section:h process:h base:*p zero_bits:x commit:x offset:*i64 size:*x inherit:u type:mem "
     "prot:page");
SPEC(NtMapViewOfSectionEx, SECTION, "status",
     "section:h process:h base:*p offset:*i64 size:*x type:mem prot:page params:p count:u");
SPEC(NtUnmapViewOfSection, SECTION, "status", "process:h base:p");
SPEC(NtUnmapViewOfSectionEx, SECTION, "status", "process:h base:p flags:unmap");
SPEC(CreateFileMappingNumaW, SECTION, "ptr",
     "file:h sa:p prot:sec size_hi:x size_lo:x name:ws node:u");
SPEC(CreateFileMappingNumaA, SECTION, "ptr",
     "file:h sa:p prot:sec size_hi:x size_lo:x name:s node:u");
SPEC(NtQuerySection, SECTION, "status", "section:h class:u info:p len:x ret:*x");
SPEC(NtAreMappedFilesTheSame, SECTION, "status", "image:p file:p");

SPEC(AddVectoredExceptionHandler, EXCEPT, "ptr", "first:u handler:p");
SPEC(RemoveVectoredExceptionHandler, EXCEPT, "ulong", "handle:p");
SPEC(AddVectoredContinueHandler, EXCEPT, "ptr", "first:u handler:p");
SPEC(RemoveVectoredContinueHandler, EXCEPT, "ulong", "handle:p");
SPEC(SetUnhandledExceptionFilter, EXCEPT, "ptr", "filter:p");

SPEC(AddSecureMemoryCacheCallback, SECURE, "bool", "callback:p");
SPEC(RemoveSecureMemoryCacheCallback, SECURE, "bool", "callback:p");
SPEC(RtlRegisterSecureMemoryCacheCallback, SECURE, "status", "callback:p");
SPEC(RtlDeregisterSecureMemoryCacheCallback, SECURE, "status", "callback:p");
SPEC(MmSecureVirtualMemory, SECURE, "ptr", "addr:p size:x probe:page");
SPEC(MmUnsecureVirtualMemory, SECURE, "void", "handle:p");

SPEC(HeapCreate, HEAP, "ptr", "options:heap initial:x max:x");
SPEC(HeapDestroy, HEAP, "bool", "heap:h");
SPEC(HeapAlloc, HEAP, "ptr", "heap:h flags:heap bytes:x");
SPEC(HeapReAlloc, HEAP, "ptr", "heap:h flags:heap mem:p bytes:x");
SPEC(HeapFree, HEAP, "bool", "heap:h flags:heap mem:p");
SPEC(HeapSize, HEAP, "sizem1", "heap:h flags:heap mem:p");
SPEC(HeapValidate, HEAP, "bool", "heap:h flags:heap mem:p");
SPEC(HeapCompact, HEAP, "size0", "heap:h flags:heap");
SPEC(HeapLock, HEAP, "bool", "heap:h");
SPEC(HeapUnlock, HEAP, "bool", "heap:h");
SPEC(HeapSetInformation, HEAP, "bool", "heap:h class:u info:p len:x");
SPEC(HeapQueryInformation, HEAP, "bool", "heap:h class:u info:p len:x ret:*x");
SPEC(LocalAlloc, HEAP, "ptr", "flags:lmem bytes:x");
SPEC(LocalReAlloc, HEAP, "ptr", "mem:h bytes:x flags:lmem");
SPEC(LocalFree, HEAP, "null0", "mem:h");
SPEC(GlobalAlloc, HEAP, "ptr", "flags:gmem bytes:x");
SPEC(GlobalReAlloc, HEAP, "ptr", "mem:h bytes:x flags:gmem");
SPEC(GlobalFree, HEAP, "null0", "mem:h");
SPEC(HeapWalk, HEAP, "bool", "heap:h entry:p");
SPEC(GetProcessHeaps, HEAP, "ulong", "count:u heaps:p");
SPEC(LocalLock, HEAP, "ptr", "mem:h");
SPEC(LocalUnlock, HEAP, "bool", "mem:h");
SPEC(LocalSize, HEAP, "size0", "mem:h");
SPEC(LocalHandle, HEAP, "ptr", "mem:p");
SPEC(GlobalLock, HEAP, "ptr", "mem:h");
SPEC(GlobalUnlock, HEAP, "bool", "mem:h");
SPEC(GlobalSize, HEAP, "size0", "mem:h");
SPEC(GlobalHandle, HEAP, "ptr", "mem:p");
SPEC(RtlCreateHeap, HEAP, "ptr", "flags:heap base:p reserve:x commit:x lock:p params:p");
SPEC(RtlDestroyHeap, HEAP, "null0", "heap:h");
SPEC(RtlAllocateHeap, HEAP, "ptr", "heap:h flags:heap size:x");
SPEC(RtlFreeHeap, HEAP, "boolean", "heap:h flags:heap ptr:p");
SPEC(RtlSizeHeap, HEAP, "sizem1", "heap:h flags:heap ptr:p");
SPEC(RtlReAllocateHeap, HEAP, "ptr", "heap:h flags:heap ptr:p size:x");
SPEC(RtlValidateHeap, HEAP, "boolean", "heap:h flags:heap ptr:p");
SPEC(RtlLockHeap, HEAP, "boolean", "heap:h");
SPEC(RtlUnlockHeap, HEAP, "boolean", "heap:h");
SPEC(RtlGetProcessHeaps, HEAP, "ulong", "count:u heaps:p");
