/*
 * numaapi.c - the NUMA calls: node count, each node's processors and free memory, which node
 * a processor is on, and VirtualAllocExNuma / MapViewOfFileExNuma / CreateFileMappingNuma with
 * a preferred node (a hint, honoured with mbind on machines that have several nodes).
 */
#include "win32.h"
#include "rtl/trace.h"

#include "mm/mm.h"

WINMEM_API BOOL WINAPI GetNumaHighestNodeNumber(PULONG highest)
{
    ULONG n;
    if (!highest)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    NTSTATUS st = wm_numa_highest(&n);
    if (st)
        return wm_win32_status(st);
    *highest = n;
    return TRUE;
}

WINMEM_API BOOL WINAPI GetNumaNodeProcessorMaskEx(USHORT node, PGROUP_AFFINITY mask)
{
    uint64_t m = 0;
    USHORT group = 0;
    if (!mask)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    NTSTATUS st = wm_numa_node_processors(node, &m, &group);
    if (st)
        return wm_win32_status(st);
    memset(mask, 0, sizeof *mask);
    mask->Mask = (KAFFINITY)m;
    mask->Group = group;
    return TRUE;
}

/* The old form: the mask of group 0 only (a node elsewhere reports no processors). */
WINMEM_API BOOL WINAPI GetNumaNodeProcessorMask(UCHAR node, PULONGLONG mask)
{
    GROUP_AFFINITY ga = { 0 };
    if (!mask)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    if (!GetNumaNodeProcessorMaskEx(node, &ga))
        return FALSE;
    *mask = ga.Group == 0 ? ga.Mask : 0;
    return TRUE;
}

WINMEM_API BOOL WINAPI GetNumaAvailableMemoryNodeEx(USHORT node, PULONGLONG bytes)
{
    uint64_t b;
    if (!bytes)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    NTSTATUS st = wm_numa_node_free(node, &b);
    if (st)
        return wm_win32_status(st);
    *bytes = b;
    return TRUE;
}

WINMEM_API BOOL WINAPI GetNumaAvailableMemoryNode(UCHAR node, PULONGLONG bytes)
{
    return GetNumaAvailableMemoryNodeEx(node, bytes);
}

WINMEM_API BOOL WINAPI GetNumaProcessorNodeEx(PPROCESSOR_NUMBER processor, PUSHORT node)
{
    ULONG n;
    if (!processor || !node)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    if (wm_numa_processor_node((ULONG)processor->Group * 64 + processor->Number, &n)) {
        *node = 0xffff; /* as Windows, for a processor that does not exist */
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    }
    *node = (USHORT)n;
    return TRUE;
}

WINMEM_API BOOL WINAPI GetNumaProcessorNode(UCHAR processor, PUCHAR node)
{
    PROCESSOR_NUMBER pn = { 0, processor, 0 };
    USHORT n;
    if (!node)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    if (!GetNumaProcessorNodeEx(&pn, &n)) {
        *node = 0xff;
        return FALSE;
    }
    *node = (UCHAR)n;
    return TRUE;
}

WINMEM_API LPVOID WINAPI VirtualAllocExNuma(HANDLE process, LPVOID addr, SIZE_T size, DWORD type,
                                            DWORD prot, DWORD node)
{
    WM_TRACE(VirtualAllocExNuma, process, addr, size, type, prot, node);
    NTSTATUS st = wm_numa_check_node(node);
    if (st)
        return (wm_win32_status(st), NULL);
    LPVOID p = VirtualAllocEx(process, addr, size, type, prot);
    if (p && (type & MEM_COMMIT))
        wm_numa_prefer((uintptr_t)p, size, node);
    return p;
}

WINMEM_API LPVOID WINAPI MapViewOfFileExNuma(HANDLE mapping, DWORD access, DWORD off_hi,
                                             DWORD off_lo, SIZE_T size, LPVOID addr, DWORD node)
{
    WM_TRACE(MapViewOfFileExNuma, mapping, access, off_hi, off_lo, size, addr, node);
    NTSTATUS st = wm_numa_check_node(node);
    if (st)
        return (wm_win32_status(st), NULL);
    LPVOID p = MapViewOfFileEx(mapping, access, off_hi, off_lo, size, addr);
    if (p) {
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery(p, &mbi, sizeof mbi))
            wm_numa_prefer((uintptr_t)p, mbi.RegionSize, node);
    }
    return p;
}

/* The node is checked; the pages of a section are placed when views touch them, so the
 * preference takes effect through MapViewOfFileExNuma. */
WINMEM_API HANDLE WINAPI CreateFileMappingNumaW(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD prot,
                                                DWORD max_hi, DWORD max_lo, LPCWSTR name,
                                                DWORD node)
{
    WM_TRACE(CreateFileMappingNumaW, file, sa, prot, max_hi, max_lo, name, node);
    NTSTATUS st = wm_numa_check_node(node);
    if (st)
        return (wm_win32_status(st), NULL);
    return CreateFileMappingW(file, sa, prot, max_hi, max_lo, name);
}

WINMEM_API HANDLE WINAPI CreateFileMappingNumaA(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD prot,
                                                DWORD max_hi, DWORD max_lo, LPCSTR name, DWORD node)
{
    WM_TRACE(CreateFileMappingNumaA, file, sa, prot, max_hi, max_lo, name, node);
    NTSTATUS st = wm_numa_check_node(node);
    if (st)
        return (wm_win32_status(st), NULL);
    return CreateFileMappingA(file, sa, prot, max_hi, max_lo, name);
}
