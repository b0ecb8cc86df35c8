/*
 * numa.c - the NUMA calls on whatever machine runs the test: the highest node, each node's
 * processors and free memory, a processor's node, and the *Numa allocation calls with a node
 * the machine has, NUMA_NO_PREFERRED_NODE, and one it does not have (ERROR_INVALID_PARAMETER,
 * nothing allocated).
 */
#include "apitest.h"

int main(void)
{
    at_init();
    if (at_wine()) {
        /* Wine 8 leaves these calls unimplemented (ERROR_CALL_NOT_IMPLEMENTED). */
        printf("skipped under Wine\n");
        return wmt_report();
    }
    ULONG highest = 12345;
    REQUIRE(GetNumaHighestNodeNumber(&highest));
    CHECK(highest < 64);

    GROUP_AFFINITY ga;
    ULONGLONG all = 0;
    for (ULONG n = 0; n <= highest; n++) {
        memset(&ga, 0xcc, sizeof ga);
        if (!GetNumaNodeProcessorMaskEx((USHORT)n, &ga))
            continue; /* a node can be memory only */
        CHECK_EQ(ga.Reserved[0] | ga.Reserved[1] | ga.Reserved[2], 0);
        if (ga.Group == 0)
            all |= ga.Mask;
    }
    CHECK(all & 1); /* processor 0 is on some node */
    SetLastError(0xdeadbeef);
    CHECK(!GetNumaNodeProcessorMaskEx((USHORT)(highest + 1), &ga));
    CHECK_EQ(GetLastError(), ERROR_INVALID_PARAMETER);

    PROCESSOR_NUMBER pn = { 0, 0, 0 };
    USHORT node = 0xabcd;
    CHECK(GetNumaProcessorNodeEx(&pn, &node));
    CHECK(node <= highest);
    ULONGLONG avail = 0;
    CHECK(GetNumaAvailableMemoryNodeEx(node, &avail));
    CHECK_DOCS(avail > 0); /* Wine 8 reports 0 */

    /* Allocation with a node it has, with no preference, and with one it does not have. */
    char *p = VirtualAllocExNuma(GetCurrentProcess(), NULL, 1 << 20, MEM_RESERVE | MEM_COMMIT,
                                 PAGE_READWRITE, node);
    REQUIRE(p);
    p[0] = 1;
    p[(1 << 20) - 1] = 2;
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    p = VirtualAllocExNuma(GetCurrentProcess(), NULL, 1 << 16, MEM_RESERVE | MEM_COMMIT,
                           PAGE_READWRITE, NUMA_NO_PREFERRED_NODE);
    REQUIRE(p);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    /* A node the machine does not have (Wine 8 ignores the node). */
    SetLastError(0xdeadbeef);
    void *bad = VirtualAllocExNuma(GetCurrentProcess(), NULL, 1 << 16, MEM_RESERVE | MEM_COMMIT,
                                   PAGE_READWRITE, highest + 1);
    CHECK_DOCS(bad == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    if (bad)
        VirtualFree(bad, 0, MEM_RELEASE);

    HANDLE m =
        CreateFileMappingNumaW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 1 << 16, NULL, node);
    REQUIRE(m);
    char *v = MapViewOfFileExNuma(m, FILE_MAP_WRITE, 0, 0, 0, NULL, node);
    REQUIRE(v);
    v[100] = 7;
    CHECK_EQ(v[100], 7);
    CHECK(UnmapViewOfFile(v));
    SetLastError(0xdeadbeef);
    bad = MapViewOfFileExNuma(m, FILE_MAP_WRITE, 0, 0, 0, NULL, highest + 1);
    CHECK_DOCS(bad == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    if (bad)
        UnmapViewOfFile(bad);
    CHECK(CloseHandle(m));
    SetLastError(0xdeadbeef);
    HANDLE bm = CreateFileMappingNumaW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 1 << 16, NULL,
                                       highest + 1);
    CHECK_DOCS(bm == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    if (bm)
        CloseHandle(bm);
    return wmt_report();
}
