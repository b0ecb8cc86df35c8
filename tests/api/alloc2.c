/*
 * alloc2.c - VirtualAlloc2 and MapViewOfFile3 with MEM_EXTENDED_PARAMETERs: the parameter
 * checks, address requirements (highest ending address, lowest starting address, alignment)
 * met or refused as Windows does, NUMA node, the FromApp forms and UnmapViewOfFile2/Ex.  The
 * facts are results recorded on Windows for NtAllocateVirtualMemoryEx.
 */
#include "apitest.h"

#ifdef _WIN32
/* Looked up at run time: older mingw-w64 headers and Windows 8 lack these. */
typedef PVOID(WINAPI *va2_fn)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, void *, ULONG);
typedef PVOID(WINAPI *mv3_fn)(HANDLE, HANDLE, PVOID, ULONG64, SIZE_T, ULONG, ULONG, void *, ULONG);
static va2_fn pVirtualAlloc2;
static mv3_fn pMapViewOfFile3;
#else
#define pVirtualAlloc2 VirtualAlloc2
#define pMapViewOfFile3 MapViewOfFile3
#endif

static void *alloc_req(ULONG type, SIZE_T size, void *low, void *high, SIZE_T align)
{
    MEM_ADDRESS_REQUIREMENTS a;
    MEM_EXTENDED_PARAMETER ext;
    memset(&a, 0, sizeof a);
    memset(&ext, 0, sizeof ext);
    a.LowestStartingAddress = low;
    a.HighestEndingAddress = high;
    a.Alignment = align;
    ext.Type = MemExtendedParameterAddressRequirements;
    ext.Pointer = &a;
    return pVirtualAlloc2(GetCurrentProcess(), NULL, size, type, PAGE_READWRITE, &ext, 1);
}

static void release(void *p)
{
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_parameters(void)
{
    MEM_EXTENDED_PARAMETER ext[2];
    MEM_ADDRESS_REQUIREMENTS a;

    memset(ext, 0, sizeof ext);
    ext[0].Type = MemExtendedParameterInvalidType;
    CHECK_FAILS(
        pVirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, ext, 1),
        ERROR_INVALID_PARAMETER);
    ext[0].Type = MemExtendedParameterMax;
    CHECK_FAILS(
        pVirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, ext, 1),
        ERROR_INVALID_PARAMETER);

    /* Zeroed requirements: an ordinary allocation; given twice: refused. */
    memset(&a, 0, sizeof a);
    ext[0].Type = MemExtendedParameterAddressRequirements;
    ext[0].Pointer = &a;
    void *p = pVirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, ext, 1);
    CHECK(p != NULL);
    if (p)
        release(p);
    ext[1] = ext[0];
    CHECK_FAILS(
        pVirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, ext, 2),
        ERROR_INVALID_PARAMETER);

    /* No parameters at all: VirtualAlloc. */
    p = pVirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, NULL, 0);
    REQUIRE_VOID(p);
    CHECK_EQ((ULONG_PTR)p & 0xffff, 0);
    release(p);

    /* NUMA node 0 (every machine has it); attribute flags 0. */
    memset(ext, 0, sizeof ext);
    ext[0].Type = MemExtendedParameterNumaNode;
    ext[0].ULong = 0;
    p = pVirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, ext, 1);
    CHECK(p != NULL);
    if (p)
        release(p);
    ext[0].Type = MemExtendedParameterAttributeFlags;
    ext[0].ULong64 = 0;
    ext[1] = ext[0];
    p = pVirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE, ext, 1);
    CHECK(p != NULL);
    if (p)
        release(p);
    if (!at_wine()) /* Wine 8 accepts the flags twice (Windows refuses, later Wine too) */
        CHECK_FAILS(pVirtualAlloc2(NULL, NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE, ext, 2),
                    ERROR_INVALID_PARAMETER);
}

static void test_requirements(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    char *max = (char *)si.lpMaximumApplicationAddress;

    /* HighestEndingAddress: one below a page boundary, within user space. */
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x10000, NULL, (void *)(0x20001000 + 1), 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x10000, NULL, (void *)(0x20001000 - 2), 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x10000, NULL, (void *)(0x20000800 - 1), 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x10000, NULL, max + 0x1000, 0), ERROR_INVALID_PARAMETER);
    char *p = alloc_req(MEM_RESERVE, 0x10000, NULL, max, 0);
    CHECK(p != NULL);
    if (p)
        release(p);

    p = alloc_req(MEM_RESERVE, 0x40000, NULL, (void *)(0x20001000 - 1), 0);
    REQUIRE_VOID(p);
    CHECK_EQ((ULONG_PTR)p & 0xffff, 0);
    CHECK((ULONG_PTR)p + 0x40000 <= 0x20001000);
    CHECK_EQ(at_state(p), MEM_RESERVE);
    /* Requirements do not go with a commit, nor with an address. */
    MEM_ADDRESS_REQUIREMENTS a = { NULL, (void *)(0x20001000 - 1), 0 };
    MEM_EXTENDED_PARAMETER ext;
    memset(&ext, 0, sizeof ext);
    ext.Type = MemExtendedParameterAddressRequirements;
    ext.Pointer = &a;
    CHECK_FAILS(pVirtualAlloc2(NULL, p, 0x40000, MEM_COMMIT, PAGE_READWRITE, &ext, 1),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(pVirtualAlloc2(NULL, p + 0x100000, 0x40000, MEM_RESERVE, PAGE_READWRITE, &ext, 1),
                ERROR_INVALID_PARAMETER);
    release(p);

    /* Alignment: a power of two of at least 64 KiB. */
    p = alloc_req(MEM_RESERVE, 0x1000, NULL, (void *)(0x20001000 - 1), 0x10000);
    REQUIRE_VOID(p);
    CHECK((ULONG_PTR)p + 0x1000 < 0x20001000);
    release(p);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x2000, NULL, (void *)(0x20001000 - 1), 0x20000000),
                ERROR_NOT_ENOUGH_MEMORY);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x1000, NULL, NULL, 0x8000), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x1000, NULL, NULL, 0x30000), ERROR_INVALID_PARAMETER);
    p = alloc_req(MEM_RESERVE, 0x1000, NULL, NULL, 0x40000);
    REQUIRE_VOID(p);
    CHECK_EQ((ULONG_PTR)p & 0x3ffff, 0);
    release(p);
    p = alloc_req(MEM_RESERVE, 0x10000, NULL, NULL, (SIZE_T)1 << 30);
    REQUIRE_VOID(p);
    CHECK_EQ((ULONG_PTR)p & (((ULONG_PTR)1 << 30) - 1), 0);
    release(p);

    /* LowestStartingAddress: 64 KiB aligned, not above the highest (Wine 8 ignores it;
     * Windows and later Wine honour it). */
    if (at_wine())
        return;
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x1000, (void *)0x20001000, NULL, 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x1000, (void *)(0x20001000 - 1), NULL, 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x1000, (void *)0x30000000, (void *)0x20000000, 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(alloc_req(MEM_RESERVE, 0x10000, max + 1, NULL, 0), ERROR_INVALID_PARAMETER);
    p = alloc_req(MEM_RESERVE, 0x1000, (void *)0x20000000, NULL, 0);
    REQUIRE_VOID(p);
    CHECK((ULONG_PTR)p >= 0x20000000);
    release(p);
    p = alloc_req(MEM_RESERVE, 0x1000, (void *)0x20000000, (void *)0x2fffffff, 0);
    REQUIRE_VOID(p);
    CHECK((ULONG_PTR)p >= 0x20000000 && (ULONG_PTR)p < 0x30000000);
    release(p);

    /* "Allocate near": a window of 2 GiB above an address, as a JIT wants for rel32 jumps,
     * committed in the same call. */
    char *anchor = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(anchor);
    char *lo = (char *)(((ULONG_PTR)anchor + 0x10000) & ~(ULONG_PTR)0xffff);
    p = alloc_req(MEM_RESERVE | MEM_COMMIT, 0x20000, lo, lo + 0x7fffffff, 0);
    REQUIRE_VOID(p);
    CHECK(p >= lo && p + 0x20000 <= lo + 0x80000000);
    CHECK_EQ(at_state(p), MEM_COMMIT);
    p[0] = 1;
    release(p);
    release(anchor);
}

#ifndef _WIN32
/* Linux only: mingw-w64 does not declare these, and Wine 8 lacks MapViewOfFile3's
 * requirements. */
static void test_views(void)
{
    HANDLE s = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x30000, NULL);
    REQUIRE_VOID(s);
    char *v = pMapViewOfFile3(s, GetCurrentProcess(), NULL, 0, 0, 0, PAGE_READWRITE, NULL, 0);
    REQUIRE_VOID(v);
    v[0] = 9;
    CHECK(UnmapViewOfFile2(GetCurrentProcess(), v, 0));

    MEM_ADDRESS_REQUIREMENTS a = { (void *)0x20000000, (void *)0x2fffffff, 0x40000 };
    MEM_EXTENDED_PARAMETER ext;
    memset(&ext, 0, sizeof ext);
    ext.Type = MemExtendedParameterAddressRequirements;
    ext.Pointer = &a;
    v = pMapViewOfFile3(s, GetCurrentProcess(), NULL, 0x10000, 0, 0, PAGE_READONLY, &ext, 1);
    REQUIRE_VOID(v);
    CHECK((ULONG_PTR)v >= 0x20000000 && (ULONG_PTR)v + 0x20000 <= 0x30000000);
    CHECK_EQ((ULONG_PTR)v & 0x3ffff, 0);
    CHECK_EQ(at_protect(v), PAGE_READONLY);
    CHECK(UnmapViewOfFileEx(v, 0));
    CHECK_FAILS(UnmapViewOfFileEx(v, 0), ERROR_INVALID_ADDRESS);
    CHECK(CloseHandle(s));
}

static void test_from_app(void)
{
    CHECK_FAILS(VirtualAlloc2FromApp(NULL, NULL, 0x10000, MEM_RESERVE | MEM_COMMIT,
                                     PAGE_EXECUTE_READWRITE, NULL, 0),
                ERROR_INVALID_PARAMETER);
    char *p = VirtualAlloc2FromApp(NULL, NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE,
                                   NULL, 0);
    REQUIRE_VOID(p);
    ULONG old;
    CHECK_FAILS(VirtualProtectFromApp(p, 0x1000, PAGE_EXECUTE_READWRITE, &old),
                ERROR_INVALID_PARAMETER);
    CHECK(VirtualProtectFromApp(p, 0x1000, PAGE_EXECUTE_READ, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    release(p);
    p = VirtualAllocFromApp(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(p);
    release(p);
}

#endif

int main(void)
{
    at_init();
#ifdef _WIN32
    HMODULE k = GetModuleHandleA("kernelbase.dll");
    pVirtualAlloc2 = (va2_fn)(void *)GetProcAddress(k, "VirtualAlloc2");
    pMapViewOfFile3 = (mv3_fn)(void *)GetProcAddress(k, "MapViewOfFile3");
    if (!pVirtualAlloc2 || !pMapViewOfFile3) {
        printf("VirtualAlloc2 / MapViewOfFile3 missing: skipped\n");
        return wmt_report();
    }
#endif
    test_parameters();
    test_requirements();
#ifndef _WIN32
    test_views();
    test_from_app();
#endif
    return wmt_report();
}
