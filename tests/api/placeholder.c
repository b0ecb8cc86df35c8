/*
 * placeholder.c - placeholders: MEM_RESERVE_PLACEHOLDER, split with MEM_PRESERVE_PLACEHOLDER,
 * joined with MEM_COALESCE_PLACEHOLDERS, replaced by private memory (VirtualAlloc2
 * MEM_REPLACE_PLACEHOLDER) or by a view (MapViewOfFile3), and given back by VirtualFree /
 * UnmapViewOfFile2 with MEM_PRESERVE_PLACEHOLDER; what VirtualQuery reports in each state; and
 * NtFreeVirtualMemory's release of part of an allocation.  The facts are Microsoft's
 * documentation and results recorded on Windows 10 and later.
 */
#include "apitest.h"

#ifndef MEM_REPLACE_PLACEHOLDER
#define MEM_REPLACE_PLACEHOLDER 0x00004000
#endif

#ifdef _WIN32
typedef PVOID(WINAPI *va2_fn)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, void *, ULONG);
typedef PVOID(WINAPI *mv3_fn)(HANDLE, HANDLE, PVOID, ULONG64, SIZE_T, ULONG, ULONG, void *, ULONG);
typedef BOOL(WINAPI *uv2_fn)(HANDLE, PVOID, ULONG);
static va2_fn pVirtualAlloc2;
static mv3_fn pMapViewOfFile3;
static uv2_fn pUnmapViewOfFile2;
#else
#include "winternl.h"
#define pVirtualAlloc2 VirtualAlloc2
#define pMapViewOfFile3 MapViewOfFile3
#define pUnmapViewOfFile2 UnmapViewOfFile2
#endif

static char *placeholder(SIZE_T size)
{
    return pVirtualAlloc2(NULL, NULL, size, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS,
                          NULL, 0);
}

static BOOL split(void *at, SIZE_T size)
{
    return VirtualFree(at, size, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER);
}

#define CHECK_PLACEHOLDER(addr, size) \
    CHECK_REGION((addr), (addr), (addr), PAGE_NOACCESS, (size), MEM_RESERVE, 0, MEM_PRIVATE)

static void test_rules(void)
{
    /* Only MEM_RESERVE | MEM_RESERVE_PLACEHOLDER with PAGE_NOACCESS, and only VirtualAlloc2. */
    CHECK_FAILS(VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(pVirtualAlloc2(NULL, NULL, GRAN, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                               PAGE_READWRITE, NULL, 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(pVirtualAlloc2(NULL, NULL, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_RESERVE_PLACEHOLDER,
                               PAGE_NOACCESS, NULL, 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(pVirtualAlloc2(NULL, NULL, GRAN, MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0),
                ERROR_INVALID_PARAMETER);

    char *p = placeholder(4 * GRAN);
    REQUIRE_VOID(p);
    CHECK_EQ((ULONG_PTR)p % GRAN, 0);
    CHECK_PLACEHOLDER(p, 4 * GRAN);

    /* Reserved address space nothing else may use or commit. */
    CHECK_FAILS(VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    CHECK_FAILS(VirtualAlloc(p, GRAN, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    CHECK_FAILS(pVirtualAlloc2(NULL, p, GRAN, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS,
                               NULL, 0),
                ERROR_INVALID_ADDRESS);
    DWORD old;
    CHECK_FAILS(VirtualProtect(p, PAGE, PAGE_READWRITE, &old), ERROR_INVALID_ADDRESS);

    /* Replacing: MEM_RESERVE is needed, an address too, and exactly the placeholder's range. */
    CHECK_FAILS(pVirtualAlloc2(NULL, p, 4 * GRAN, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(pVirtualAlloc2(NULL, p, 4 * GRAN, MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                               PAGE_READWRITE, NULL, 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(pVirtualAlloc2(NULL, NULL, 4 * GRAN, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                               PAGE_READWRITE, NULL, 0),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(pVirtualAlloc2(NULL, p, PAGE, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
                               NULL, 0),
                ERROR_INVALID_ADDRESS);
    CHECK_FAILS(pVirtualAlloc2(NULL, p + GRAN, GRAN, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                               PAGE_READWRITE, NULL, 0),
                ERROR_INVALID_ADDRESS);

    /* Splitting needs a size, and a placeholder into itself is no split. */
    CHECK_FAILS(split(p, 0), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(split(p, 4 * GRAN), ERROR_INVALID_ADDRESS);
    CHECK_FAILS(VirtualFree(p, GRAN, MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(
        VirtualFree(p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER | MEM_COALESCE_PLACEHOLDERS),
        ERROR_INVALID_PARAMETER);
    CHECK_PLACEHOLDER(p, 4 * GRAN);

    /* An ordinary reservation is no placeholder. */
    char *r = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(r);
    CHECK_FAILS(split(r, PAGE), ERROR_INVALID_ADDRESS);
    CHECK_FAILS(split(r, GRAN), ERROR_INVALID_ADDRESS);
    CHECK_FAILS(VirtualFree(r, GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
                ERROR_INVALID_ADDRESS);
    CHECK(VirtualFree(r, 0, MEM_RELEASE));

    /* A plain release frees a placeholder. */
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_FREE(p, 4 * GRAN);

    /* Address requirements choose where a placeholder goes; a replacement takes none. */
    MEM_ADDRESS_REQUIREMENTS req;
    MEM_EXTENDED_PARAMETER ext;
    memset(&req, 0, sizeof req);
    memset(&ext, 0, sizeof ext);
    req.HighestEndingAddress = (PVOID)(ULONG_PTR)0x7fffffff;
    req.Alignment = 4 * GRAN;
    ext.Type = MemExtendedParameterAddressRequirements;
    ext.Pointer = &req;
    char *low = pVirtualAlloc2(NULL, NULL, 2 * GRAN, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                               PAGE_NOACCESS, &ext, 1);
    CHECK(low != NULL);
    if (low) {
        CHECK((ULONG_PTR)low + 2 * GRAN - 1 <= 0x7fffffff);
        CHECK_EQ((ULONG_PTR)low % (4 * GRAN), 0);
        CHECK_PLACEHOLDER(low, 2 * GRAN);
        CHECK_FAILS(pVirtualAlloc2(NULL, low, 2 * GRAN, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                   PAGE_READWRITE, &ext, 1),
                    ERROR_INVALID_PARAMETER);
        CHECK(VirtualFree(low, 0, MEM_RELEASE));
    }
}

static void test_split_coalesce(void)
{
    char *p = placeholder(4 * GRAN);
    REQUIRE_VOID(p);

    /* The first 64 KiB become a placeholder of their own: two allocations now. */
    CHECK(split(p, GRAN));
    CHECK_PLACEHOLDER(p, GRAN);
    CHECK_PLACEHOLDER(p + GRAN, 3 * GRAN);

    /* Pieces keep page granularity: [4, 8) pages out of the first one gives three (where a
     * granule holds 16 pages or more: 4 KiB pages, not arm64's 16 or 64 KiB ones). */
    if (16 * PAGE <= GRAN) {
        CHECK(split(p + 4 * PAGE, 4 * PAGE));
        CHECK_PLACEHOLDER(p, 4 * PAGE);
        CHECK_PLACEHOLDER(p + 4 * PAGE, 4 * PAGE);
        CHECK_PLACEHOLDER(p + 8 * PAGE, GRAN - 8 * PAGE);
        /* Any address in a piece reports that piece. */
        CHECK_REGION(p + 5 * PAGE, p + 5 * PAGE, p + 4 * PAGE, PAGE_NOACCESS, 3 * PAGE, MEM_RESERVE,
                     0, MEM_PRIVATE);
        CHECK_REGION(p + GRAN - PAGE, p + GRAN - PAGE, p + 8 * PAGE, PAGE_NOACCESS, PAGE,
                     MEM_RESERVE, 0, MEM_PRIVATE);

        /* A plain release frees one piece only, from its base. */
        CHECK_FAILS(VirtualFree(p + 5 * PAGE, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);

        /* Coalescing: exactly two or more whole adjacent placeholders. */
        CHECK_FAILS(VirtualFree(p, 4 * PAGE, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
                    ERROR_INVALID_ADDRESS);
        CHECK_FAILS(VirtualFree(p, GRAN - PAGE, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
                    ERROR_INVALID_ADDRESS);
        CHECK_FAILS(VirtualFree(p, GRAN + PAGE, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
                    ERROR_INVALID_ADDRESS);
        CHECK_FAILS(VirtualFree(p + PAGE, GRAN - PAGE, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
                    ERROR_INVALID_ADDRESS);
        CHECK_FAILS(VirtualFree(p, 0, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
                    ERROR_INVALID_PARAMETER);
        CHECK_PLACEHOLDER(p, 4 * PAGE);

        CHECK(VirtualFree(p, 8 * PAGE, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
        CHECK_PLACEHOLDER(p, 8 * PAGE);
        CHECK_PLACEHOLDER(p + 8 * PAGE, GRAN - 8 * PAGE);
    } else {
        printf("page-granular splits skipped: %lu-byte pages\n", (unsigned long)PAGE);
    }
    CHECK(VirtualFree(p, 4 * GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
    CHECK_PLACEHOLDER(p, 4 * GRAN);

    /* A piece released leaves a hole no coalescing crosses. */
    CHECK(split(p + GRAN, GRAN));
    CHECK(VirtualFree(p + GRAN, 0, MEM_RELEASE));
    CHECK_FREE(p + GRAN, GRAN);
    CHECK_PLACEHOLDER(p, GRAN);
    CHECK_PLACEHOLDER(p + 2 * GRAN, 2 * GRAN);
    CHECK_FAILS(VirtualFree(p, 4 * GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
                ERROR_INVALID_ADDRESS);
    /* The hole is ordinary free address space again. */
    char *q = VirtualAlloc(p + GRAN, GRAN, MEM_RESERVE, PAGE_READWRITE);
    CHECK(q == p + GRAN);
    if (q)
        CHECK(VirtualFree(q, 0, MEM_RELEASE));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK(VirtualFree(p + 2 * GRAN, 0, MEM_RELEASE));
    CHECK_FREE(p, 4 * GRAN);
}

static void test_replace_private(void)
{
    char *p = placeholder(2 * GRAN);
    REQUIRE_VOID(p);
    REQUIRE_VOID(split(p, GRAN));

    char *a = pVirtualAlloc2(NULL, p, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                             PAGE_READWRITE, NULL, 0);
    CHECK(a == p);
    REQUIRE_VOID(a);
    CHECK_REGION(p, p, p, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_PLACEHOLDER(p + GRAN, GRAN);
    memset(a, 0xcc, GRAN);
    /* An ordinary allocation now: protections, decommit and commit work on it. */
    DWORD old;
    CHECK(VirtualProtect(a + PAGE, PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK(VirtualFree(a + PAGE, PAGE, MEM_DECOMMIT));
    CHECK(VirtualAlloc(a + PAGE, PAGE, MEM_COMMIT, PAGE_READWRITE) == a + PAGE);
    CHECK_EQ(a[PAGE], 0);
    CHECK_EQ((unsigned char)a[0], 0xcc);

    /* Coalescing needs placeholders on both sides. */
    CHECK_FAILS(VirtualFree(p, 2 * GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
                ERROR_INVALID_ADDRESS);
    /* Given back whole, it is the placeholder it was; its data is gone. */
    CHECK_FAILS(split(a, PAGE), ERROR_INVALID_ADDRESS);
    CHECK(split(a, GRAN));
    CHECK_PLACEHOLDER(p, GRAN);
    a = pVirtualAlloc2(NULL, p, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                       PAGE_READONLY, NULL, 0);
    CHECK(a == p);
    REQUIRE_VOID(a);
    CHECK_REGION(p, p, p, PAGE_READONLY, GRAN, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    CHECK_EQ(a[0], 0);
    CHECK(split(a, GRAN));

    /* Reserved only, then committed as usual; with a write watch. */
    char *w = pVirtualAlloc2(NULL, p + GRAN, GRAN,
                             MEM_RESERVE | MEM_REPLACE_PLACEHOLDER | MEM_WRITE_WATCH, PAGE_READONLY,
                             NULL, 0);
    CHECK(w == p + GRAN);
    REQUIRE_VOID(w);
    CHECK_REGION(w, w, w, PAGE_READONLY, GRAN, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(VirtualAlloc(w, GRAN, MEM_COMMIT, PAGE_READWRITE) == w);
    void *addrs[16];
    ULONG_PTR count = 16;
    DWORD gran;
    CHECK_EQ(GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, GRAN, addrs, &count, &gran), 0);
    CHECK_EQ(count, 0);
    w[PAGE] = 1;
    count = 16;
    CHECK_EQ(GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, GRAN, addrs, &count, &gran), 0);
    CHECK_EQ(count, 1);
    CHECK(addrs[0] == w + PAGE);
    CHECK(split(w, GRAN));
    CHECK_PLACEHOLDER(w, GRAN);

    /* A plain release of a replacement frees it outright. */
    a = pVirtualAlloc2(NULL, p, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                       PAGE_READWRITE, NULL, 0);
    CHECK(a == p);
    if (a)
        CHECK(VirtualFree(a, 0, MEM_RELEASE));
    CHECK_FREE(p, GRAN);
    CHECK(VirtualFree(p + GRAN, 0, MEM_RELEASE));
    CHECK_FREE(p, 2 * GRAN);
}

static void test_views(void)
{
    HANDLE s = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)GRAN, NULL);
    REQUIRE_VOID(s);
    char *p = placeholder(2 * GRAN);
    REQUIRE_VOID(p);
    REQUIRE_VOID(split(p, GRAN));

    /* The magic ring buffer: one section twice, back to back. */
    CHECK(pMapViewOfFile3(s, GetCurrentProcess(), p + GRAN, 0, PAGE, MEM_REPLACE_PLACEHOLDER,
                          PAGE_READWRITE, NULL, 0) == NULL);
    char *v1 = pMapViewOfFile3(s, GetCurrentProcess(), p, 0, GRAN, MEM_REPLACE_PLACEHOLDER,
                               PAGE_READWRITE, NULL, 0);
    char *v2 = pMapViewOfFile3(s, GetCurrentProcess(), p + GRAN, 0, 0, MEM_REPLACE_PLACEHOLDER,
                               PAGE_READWRITE, NULL, 0);
    CHECK(v1 == p);
    CHECK(v2 == p + GRAN);
    REQUIRE_VOID(v1 && v2);
    CHECK_REGION(v1, v1, v1, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    CHECK_REGION(v2, v2, v2, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    memcpy(v1 + GRAN - 2, "wrap", 4);
    CHECK(memcmp(v2 + GRAN - 2, "wr", 2) == 0);
    CHECK(memcmp(v1, "ap", 2) == 0);

    /* A view is not a placeholder, nor is it freed with VirtualFree. */
    CHECK(pMapViewOfFile3(s, GetCurrentProcess(), v1, 0, GRAN, MEM_REPLACE_PLACEHOLDER,
                          PAGE_READWRITE, NULL, 0) == NULL);
    CHECK(!VirtualFree(v1, 0, MEM_RELEASE));
    CHECK(!split(v1, GRAN));
    CHECK_EQ(v1[0], 'a');

    /* Given back: a placeholder again, which private memory can replace. */
    CHECK(pUnmapViewOfFile2(GetCurrentProcess(), v2, MEM_PRESERVE_PLACEHOLDER));
    CHECK_PLACEHOLDER(p + GRAN, GRAN);
    CHECK(UnmapViewOfFileEx(v1, MEM_PRESERVE_PLACEHOLDER));
    CHECK_PLACEHOLDER(p, GRAN);
    CHECK_FAILS(UnmapViewOfFileEx(v1, MEM_PRESERVE_PLACEHOLDER), ERROR_INVALID_ADDRESS);
    CHECK(VirtualFree(p, 2 * GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
    CHECK_PLACEHOLDER(p, 2 * GRAN);

    /* Only a view that replaced a placeholder goes back to one. */
    char *plain = MapViewOfFile(s, FILE_MAP_WRITE, 0, 0, 0);
    REQUIRE_VOID(plain);
    CHECK(!pUnmapViewOfFile2(GetCurrentProcess(), plain, MEM_PRESERVE_PLACEHOLDER));
    CHECK_EQ(plain[0], 'a');
    CHECK(UnmapViewOfFile(plain));

    /* Views into placeholders may start on any page, at a page-aligned offset. */
    CHECK(split(p, PAGE));
    char *v = pMapViewOfFile3(s, GetCurrentProcess(), p + PAGE, PAGE, 2 * GRAN - PAGE,
                              MEM_REPLACE_PLACEHOLDER, PAGE_READONLY, NULL, 0);
    CHECK(v == NULL); /* the section is shorter than that */
    /* (A page smaller than the granule leaves room for a view inside it.) */
    v = NULL;
    if (PAGE < GRAN) {
        CHECK(split(p + PAGE, GRAN - PAGE));
        v = pMapViewOfFile3(s, GetCurrentProcess(), p + PAGE, PAGE, GRAN - PAGE,
                            MEM_REPLACE_PLACEHOLDER, PAGE_READONLY, NULL, 0);
        CHECK(v == p + PAGE);
    }
    if (v) {
        CHECK_REGION(v, v, v, PAGE_READONLY, GRAN - PAGE, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
        CHECK_EQ(v[GRAN - PAGE - 2], 'w');
        CHECK(pUnmapViewOfFile2(GetCurrentProcess(), v, MEM_PRESERVE_PLACEHOLDER));
    }
    CHECK(VirtualFree(p, 2 * GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_FREE(p, 2 * GRAN);
    CHECK(CloseHandle(s));
}

#ifndef _WIN32
/* NtFreeVirtualMemory's own rules, and the release of part of an allocation (Windows 10+: the
 * rest stays, as allocations of their own). */
#define CHECK_ST(call, st) CHECK_EQ((ULONG)(call), (ULONG)(st))

static void test_nt(void)
{
    HANDLE me = GetCurrentProcess();
    PVOID b = NULL;
    SIZE_T sz = 4 * GRAN;

    CHECK_ST(NtAllocateVirtualMemory(me, &b, 0, &sz, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                                     PAGE_NOACCESS),
             STATUS_INVALID_PARAMETER);
    CHECK_ST(NtAllocateVirtualMemoryEx(me, &b, &sz, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                                       PAGE_NOACCESS, NULL, 0),
             STATUS_SUCCESS);
    REQUIRE_VOID(b);
    char *p = b;
    /* MemoryRegionInformation marks it: Private, and PlaceholderReservation (0x100). */
    WIN32_MEMORY_REGION_INFORMATION ri;
    SIZE_T got = 0;
    CHECK(QueryVirtualMemoryInformation(me, p, MemoryRegionInfo, &ri, sizeof ri, &got));
    CHECK_EQ(ri.Flags, 0x101);
    CHECK_EQ(ri.RegionSize, 4 * GRAN);
    CHECK_EQ(ri.CommitSize, 0);
    PVOID a = p;
    SIZE_T s0 = 0;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &s0, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER),
             STATUS_INVALID_PARAMETER_3);
    CHECK_EQ(s0, 0);
    sz = GRAN;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &sz, MEM_COALESCE_PLACEHOLDERS),
             STATUS_INVALID_PARAMETER_4);
    /* The split reports the piece. */
    a = p + 2 * GRAN;
    sz = GRAN;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &sz, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER),
             STATUS_SUCCESS);
    CHECK(a == p + 2 * GRAN);
    CHECK_EQ(sz, GRAN);
    CHECK_PLACEHOLDER(p, 2 * GRAN);
    CHECK_PLACEHOLDER(p + 2 * GRAN, GRAN);
    CHECK_PLACEHOLDER(p + 3 * GRAN, GRAN);
    /* A release covering several allocations is refused. */
    a = p;
    sz = 4 * GRAN;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &sz, MEM_RELEASE), STATUS_UNABLE_TO_FREE_VM);
    /* Part of a placeholder released: the rest stays a placeholder. */
    a = p;
    sz = GRAN;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &sz, MEM_RELEASE), STATUS_SUCCESS);
    CHECK_EQ(sz, GRAN);
    CHECK_FREE(p, GRAN);
    CHECK_PLACEHOLDER(p + GRAN, GRAN);
    sz = 0;
    a = p;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &sz, MEM_RELEASE), STATUS_MEMORY_NOT_ALLOCATED);
    a = p + GRAN;
    sz = 3 * GRAN;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &sz, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS),
             STATUS_SUCCESS);
    CHECK_PLACEHOLDER(p + GRAN, 3 * GRAN);
    sz = 0;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &sz, MEM_RELEASE), STATUS_SUCCESS);

    /* An ordinary committed allocation released in the middle: two allocations remain, each
     * with its pages as they were. */
    b = NULL;
    sz = 4 * GRAN;
    CHECK_ST(NtAllocateVirtualMemory(me, &b, 0, &sz, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
             STATUS_SUCCESS);
    REQUIRE_VOID(b);
    p = b;
    p[0] = 1;
    p[3 * GRAN] = 3;
    DWORD old;
    CHECK(VirtualProtect(p + 3 * GRAN + PAGE, PAGE, PAGE_READONLY, &old));
    a = p + GRAN + 1;
    sz = 2 * GRAN - 2;
    CHECK_ST(NtFreeVirtualMemory(me, &a, &sz, MEM_RELEASE), STATUS_SUCCESS);
    CHECK(a == p + GRAN);
    CHECK_EQ(sz, 2 * GRAN);
    CHECK_REGION(p, p, p, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_FREE(p + GRAN, 2 * GRAN);
    CHECK_REGION(p + 3 * GRAN, p + 3 * GRAN, p + 3 * GRAN, PAGE_READWRITE, PAGE, MEM_COMMIT,
                 PAGE_READWRITE, MEM_PRIVATE);
    CHECK_REGION(p + 3 * GRAN + PAGE, p + 3 * GRAN + PAGE, p + 3 * GRAN, PAGE_READWRITE, PAGE,
                 MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    CHECK_EQ(p[0], 1);
    CHECK_EQ(p[3 * GRAN], 3);
    /* Each piece is released on its own now. */
    CHECK(VirtualFree(p + 3 * GRAN, 0, MEM_RELEASE));
    CHECK_FREE(p + 3 * GRAN, GRAN);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_FREE(p, 4 * GRAN);
}
#endif

int main(void)
{
    at_init();
#ifdef _WIN32
    HMODULE k = GetModuleHandleA("kernelbase.dll");
    pVirtualAlloc2 = (va2_fn)(void *)GetProcAddress(k, "VirtualAlloc2");
    pMapViewOfFile3 = (mv3_fn)(void *)GetProcAddress(k, "MapViewOfFile3");
    pUnmapViewOfFile2 = (uv2_fn)(void *)GetProcAddress(k, "UnmapViewOfFile2");
    if (!pVirtualAlloc2 || !pMapViewOfFile3 || !pUnmapViewOfFile2) {
        printf("VirtualAlloc2 / MapViewOfFile3 / UnmapViewOfFile2 missing: skipped\n");
        return wmt_report();
    }
    void *probe = placeholder(GRAN);
    if (!probe) {
        /* Wine 8 has no placeholders. */
        printf("placeholders not supported here (error %lu): skipped\n", GetLastError());
        return wmt_report();
    }
    VirtualFree(probe, 0, MEM_RELEASE);
#endif
    test_rules();
    test_split_coalesce();
    test_replace_private();
    test_views();
#ifndef _WIN32
    test_nt();
#endif
    return wmt_report();
}
