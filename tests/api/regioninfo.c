/*
 * regioninfo.c - QueryVirtualMemoryInformation(MemoryRegionInfo) and
 * NtQueryVirtualMemory(MemoryRegionInformation): one allocation as a whole, with what kind it
 * is and how much of it is charged as committed.  Microsoft's documentation of
 * WIN32_MEMORY_REGION_INFORMATION is the specification.
 */
#include "apitest.h"

#ifdef _WIN32
/* mingw-w64's headers predate the call: Microsoft's declarations, looked up at run time. */
typedef enum { MemoryRegionInfo } WIN32_MEMORY_INFORMATION_CLASS;
typedef struct {
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
typedef BOOL(WINAPI *qvmi_fn)(HANDLE, const VOID *, WIN32_MEMORY_INFORMATION_CLASS, PVOID, SIZE_T,
                              PSIZE_T);
static qvmi_fn qvmi;
#define QueryVirtualMemoryInformation qvmi
#endif

static int region(const void *addr, WIN32_MEMORY_REGION_INFORMATION *ri)
{
    SIZE_T ret = 0;
    memset(ri, 0xcc, sizeof *ri);
    if (!QueryVirtualMemoryInformation(GetCurrentProcess(), addr, MemoryRegionInfo, ri, sizeof *ri,
                                       &ret))
        return 0;
    CHECK(ret >= sizeof *ri);
    return 1;
}

int main(void)
{
    at_init();
#ifdef _WIN32
    qvmi = (qvmi_fn)(void *)GetProcAddress(GetModuleHandleA("kernelbase.dll"),
                                           "QueryVirtualMemoryInformation");
    REQUIRE(qvmi != NULL);
#endif
    WIN32_MEMORY_REGION_INFORMATION ri;

    /* A private reservation with 64 KiB committed in its middle. */
    char *p = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE(p);
    REQUIRE(VirtualAlloc(p + 0x20000, 0x10000, MEM_COMMIT, PAGE_READONLY));
    REQUIRE(region(p + 0x30000 + 5, &ri));
    CHECK(ri.AllocationBase == p);
    CHECK_EQ(ri.AllocationProtect, PAGE_READWRITE);
    CHECK_DOCS(ri.Private == 1);
    CHECK_EQ(ri.MappedDataFile, 0);
    CHECK_EQ(ri.MappedPageFile, 0);
    CHECK_EQ(ri.MappedImage, 0);
    CHECK_DOCS(ri.RegionSize == 1 << 20);
    CHECK_DOCS(ri.CommitSize == 0x10000);

    /* Too small a buffer; another class. */
    SIZE_T ret = 0;
    SetLastError(0xdeadbeef);
    BOOL ok = QueryVirtualMemoryInformation(GetCurrentProcess(), p, MemoryRegionInfo, &ri,
                                            sizeof ri - 1, &ret);
    CHECK_DOCS(!ok && GetLastError() == ERROR_BAD_LENGTH);
    SetLastError(0xdeadbeef);
    CHECK(!QueryVirtualMemoryInformation(GetCurrentProcess(), p, (WIN32_MEMORY_INFORMATION_CLASS)1,
                                         &ri, sizeof ri, &ret));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    /* Released: no allocation there any more. */
    CHECK_DOCS(!region(p, &ri));

    /* A view of a paging-file section: its size, no charge for shared pages. */
    HANDLE s = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x30000, NULL);
    REQUIRE(s);
    char *v = MapViewOfFile(s, FILE_MAP_WRITE, 0, 0, 0x30000);
    REQUIRE(v);
    v[0] = 1;
    REQUIRE(region(v + 0x10000, &ri));
    CHECK(ri.AllocationBase == v);
    CHECK_EQ(ri.Private, 0);
    CHECK_DOCS(ri.MappedPageFile == 1);
    CHECK_EQ(ri.MappedDataFile, 0);
    CHECK_DOCS(ri.RegionSize == 0x30000);
    CHECK_DOCS(ri.CommitSize == 0);
    CHECK(UnmapViewOfFile(v));
    /* A copy-on-write view is charged for its pages. */
    v = MapViewOfFile(s, FILE_MAP_COPY, 0, 0, 0x30000);
    REQUIRE(v);
    REQUIRE(region(v, &ri));
    CHECK_DOCS(ri.MappedPageFile == 1);
    CHECK_DOCS(ri.CommitSize == 0x30000);
    CHECK(UnmapViewOfFile(v));
    CHECK(CloseHandle(s));
    return wmt_report();
}
