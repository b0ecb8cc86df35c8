/*
 * vqwalk - walk the whole user address space with VirtualQuery, as a debugger's memory map
 * does, and print one line per region: the stack, the executable, shared libraries and the
 * heap appear with their real states, types and protections.
 */
#include <windows.h>

#include <stdio.h>

static const char *state(DWORD s)
{
    return s == MEM_COMMIT ? "commit" : s == MEM_RESERVE ? "reserve" : "free";
}

static const char *type(DWORD t)
{
    return t == MEM_IMAGE     ? "image"
           : t == MEM_MAPPED  ? "mapped"
           : t == MEM_PRIVATE ? "private"
                              : "";
}

int main(void)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION m;
    int local = 0;
    BYTE *mine = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE, PAGE_READWRITE);
    VirtualAlloc(mine, 1 << 16, MEM_COMMIT, PAGE_READWRITE);

    GetSystemInfo(&si);
    printf("page %lu, granularity %lu, user space %p - %p\n", (unsigned long)si.dwPageSize,
           (unsigned long)si.dwAllocationGranularity, si.lpMinimumApplicationAddress,
           si.lpMaximumApplicationAddress);
    printf("(a winmem reservation is at %p, a stack variable at %p, main at %p)\n\n", (void *)mine,
           (void *)&local, (void *)(ULONG_PTR)main);
    printf("%-18s %-18s %14s %-8s %-8s %8s\n", "base", "allocation", "size", "state", "type",
           "protect");

    unsigned regions = 0, free_regions = 0;
    for (BYTE *p = NULL; p <= (BYTE *)si.lpMaximumApplicationAddress;
         p = (BYTE *)m.BaseAddress + m.RegionSize) {
        if (!VirtualQuery(p, &m, sizeof(m)))
            break;
        regions++;
        if (m.State == MEM_FREE) {
            free_regions++;
            continue; /* keep the listing short: allocated regions only */
        }
        printf("%-18p %-18p %14zu %-8s %-8s %8lx\n", m.BaseAddress, m.AllocationBase,
               (size_t)m.RegionSize, state(m.State), type(m.Type), (unsigned long)m.Protect);
    }
    printf("\n%u regions (%u free ones not listed)\n", regions, free_regions);
    VirtualFree(mine, 0, MEM_RELEASE);
    return 0;
}
