/*
 * place.c - where system-chosen addresses go: reservations and views are placed bottom-up
 * (each in the lowest free 64 KiB aligned range, so successive ones climb and a freed gap is
 * reused first), MEM_TOP_DOWN takes the highest; and ZeroBits, which NtMapViewOfSection now
 * honours as NtAllocateVirtualMemory does (the range lies below the limit it implies, placed
 * bottom-up unless MEM_TOP_DOWN) and checks before anything else about the view.
 */
#include "apitest.h"

#ifdef _WIN32
/* ntdll's exports, looked up at run time: not every SDK's winternl.h declares them. */
typedef LONG(NTAPI *map_view_fn)(HANDLE, HANDLE, PVOID *, ULONG_PTR, SIZE_T, PLARGE_INTEGER,
                                 PSIZE_T, DWORD, ULONG, ULONG);
typedef LONG(NTAPI *unmap_view_fn)(HANDLE, PVOID);
typedef LONG(NTAPI *alloc_fn)(HANDLE, PVOID *, ULONG_PTR, PSIZE_T, ULONG, ULONG);
static map_view_fn map_view;
static unmap_view_fn unmap_view;
static alloc_fn nt_alloc;
#define NT_SELF ((HANDLE)(LONG_PTR)-1)
#else
#include <winternl.h>
#define map_view NtMapViewOfSection
#define unmap_view NtUnmapViewOfSection
#define nt_alloc NtAllocateVirtualMemory
#define NT_SELF NtCurrentProcess()
#endif

#define ST_SUCCESS ((LONG)0)
#define ST_NO_MEMORY ((LONG)0xC0000017)
#define ST_INVALID_PARAMETER ((LONG)0xC000000D)
#define ST_INVALID_PARAMETER_4 ((LONG)0xC00000F2)
#define ST_MAPPED_ALIGNMENT ((LONG)0xC0000220)

#define N 4

static void test_reservations_ascend(void)
{
    BYTE *p[N];

    for (int i = 0; i < N; i++) {
        p[i] = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
        REQUIRE_VOID(p[i] != NULL);
        /* Each new one in the lowest free range: above the one before it. */
        if (i)
            CHECK((ULONG_PTR)p[i] > (ULONG_PTR)p[i - 1]);
    }
    /* A committed one takes the same path. */
    BYTE *c = VirtualAlloc(NULL, PAGE, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    CHECK((ULONG_PTR)c > (ULONG_PTR)p[N - 1]);
    VirtualFree(c, 0, MEM_RELEASE);

    /* First fit from the bottom: a freed gap is filled before anything higher, by a
     * reservation of the same size or a smaller one... */
    CHECK(VirtualFree(p[1], 0, MEM_RELEASE));
    BYTE *q = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE);
    CHECK(q == p[1]);
    CHECK(VirtualFree(q, 0, MEM_RELEASE));
    q = VirtualAlloc(NULL, PAGE, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    CHECK(q == p[1]);
    /* ...while one that does not fit goes above. */
    BYTE *big = VirtualAlloc(NULL, 3 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    CHECK((ULONG_PTR)big > (ULONG_PTR)p[N - 1]);
    VirtualFree(big, 0, MEM_RELEASE);
    VirtualFree(q, 0, MEM_RELEASE);

    /* Two adjacent gaps freed: a reservation spanning both lands at the lower one. */
    CHECK(VirtualFree(p[2], 0, MEM_RELEASE));
    q = VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    if (p[2] == p[1] + GRAN)
        CHECK(q == p[1]);
    VirtualFree(q, 0, MEM_RELEASE);
    VirtualFree(p[0], 0, MEM_RELEASE);
    VirtualFree(p[3], 0, MEM_RELEASE);
}

/* Holes too small for a request are passed over, and found again once a neighbour is freed
 * and they have grown. */
static void test_holes_grow(void)
{
    BYTE *p[8];

    for (int i = 0; i < 8; i++) {
        p[i] = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
        REQUIRE_VOID(p[i] != NULL);
    }
    for (int i = 1; i < 8; i++)
        REQUIRE_VOID(p[i] == p[i - 1] + GRAN); /* side by side, or the rest proves nothing */
    CHECK(VirtualFree(p[1], 0, MEM_RELEASE));
    CHECK(VirtualFree(p[4], 0, MEM_RELEASE));
    BYTE *big = VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    CHECK((ULONG_PTR)big > (ULONG_PTR)p[7]);
    CHECK(VirtualFree(big, 0, MEM_RELEASE));
    /* p[4] joins p[5]'s range: the lower of the two holes that now fit. */
    CHECK(VirtualFree(p[5], 0, MEM_RELEASE));
    big = VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(big == p[4]);
    CHECK(VirtualFree(big, 0, MEM_RELEASE));
    /* p[2] joins the hole below it: that one is lower still. */
    CHECK(VirtualFree(p[2], 0, MEM_RELEASE));
    big = VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(big == p[1]);
    BYTE *small = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(small == p[4]);
    VirtualFree(big, 0, MEM_RELEASE);
    VirtualFree(small, 0, MEM_RELEASE);
    for (int i = 0; i < 8; i++)
        if (i != 1 && i != 2 && i != 4 && i != 5)
            VirtualFree(p[i], 0, MEM_RELEASE);
}

static void test_top_down_is_highest(void)
{
    BYTE *lo = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
    BYTE *hi = VirtualAlloc(NULL, GRAN, MEM_RESERVE | MEM_TOP_DOWN, PAGE_NOACCESS);
    BYTE *next = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);

    REQUIRE_VOID(lo && hi && next);
    CHECK((ULONG_PTR)hi > (ULONG_PTR)next);
    /* MEM_TOP_DOWN does not move where the next bottom-up one goes. */
    CHECK((ULONG_PTR)next > (ULONG_PTR)lo);
    CHECK((ULONG_PTR)next - (ULONG_PTR)lo < (ULONG_PTR)hi - (ULONG_PTR)next);
    VirtualFree(lo, 0, MEM_RELEASE);
    VirtualFree(hi, 0, MEM_RELEASE);
    VirtualFree(next, 0, MEM_RELEASE);
}

static void test_views_ascend(void)
{
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)GRAN, NULL);
    BYTE *v[N];

    REQUIRE_VOID(h != NULL);
    for (int i = 0; i < N; i++) {
        v[i] = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
        REQUIRE_VOID(v[i] != NULL);
        if (i)
            CHECK((ULONG_PTR)v[i] > (ULONG_PTR)v[i - 1]);
    }
    v[0][0] = 7;
    CHECK_EQ(v[N - 1][0], 7);
    /* Views and reservations share one address space and one order. */
    BYTE *r = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
    CHECK((ULONG_PTR)r > (ULONG_PTR)v[N - 1]);
    CHECK(UnmapViewOfFile(v[1]));
    BYTE *w = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    CHECK(w == v[1]);
    CHECK(UnmapViewOfFile(w));
    BYTE *q = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(q == v[1]);
    VirtualFree(q, 0, MEM_RELEASE);
    VirtualFree(r, 0, MEM_RELEASE);
    for (int i = 0; i < N; i++)
        if (i != 1)
            UnmapViewOfFile(v[i]);
    CloseHandle(h);
}

/* NtMapViewOfSection with ZeroBits z and AllocationType type at no given address. */
static LONG map_zero_bits(HANDLE h, ULONG_PTR z, ULONG type, PVOID *out)
{
    LARGE_INTEGER off;
    SIZE_T size = 0;

    off.QuadPart = 0;
    *out = NULL;
    return map_view(h, NT_SELF, out, z, 0, &off, &size, 1 /* ViewShare */, type, PAGE_READWRITE);
}

static void test_view_zero_bits(void)
{
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)GRAN, NULL);
    LARGE_INTEGER off;
    PVOID p, any;
    SIZE_T size;
    LONG st;

    REQUIRE_VOID(h != NULL);
    /* 1..20 leave 32 - ZeroBits address bits, bottom-up or top-down. */
    for (ULONG_PTR z = 1; z <= 20; z++) {
        for (int td = 0; td < 2; td++) {
            st = map_zero_bits(h, z, td ? MEM_TOP_DOWN : 0, &p);
            CHECK(st == ST_SUCCESS || st == ST_NO_MEMORY);
            if (z == 1)
                CHECK_EQ(st, ST_SUCCESS); /* 2 GiB of room: there is always some */
            if (st != ST_SUCCESS)
                continue;
            CHECK_EQ((ULONG_PTR)p >> (32 - z), 0);
            CHECK_EQ((ULONG_PTR)p % GRAN, 0);
            CHECK_EQ(at_state(p), MEM_COMMIT);
            CHECK_EQ(unmap_view(NT_SELF, p), ST_SUCCESS);
        }
    }
    /* Above 31, a mask: only its leading zero bits count. */
    st = map_zero_bits(h, 0x7fffffff, 0, &p);
    CHECK_EQ(st, ST_SUCCESS);
    if (st == ST_SUCCESS) {
        CHECK_EQ((ULONG_PTR)p >> 31, 0);
        unmap_view(NT_SELF, p);
    }
    /* 21 leaves no room at all; 22..31 are invalid. */
    st = map_zero_bits(h, 21, 0, &p);
    CHECK(st == ST_NO_MEMORY || st == ST_INVALID_PARAMETER);
    CHECK(p == NULL);
    for (ULONG_PTR z = 22; z < 32; z++) {
        CHECK_EQ(map_zero_bits(h, z, 0, &p), ST_INVALID_PARAMETER_4);
        CHECK(p == NULL);
    }

    /* ZeroBits is checked before the offset and address alignment. */
    off.QuadPart = 1;
    size = 0;
    p = NULL;
    CHECK_EQ(map_view(h, NT_SELF, &p, 22, 0, &off, &size, 1, 0, PAGE_READWRITE),
             ST_INVALID_PARAMETER_4);
    CHECK_EQ(map_zero_bits(h, 0, 0, &any), ST_SUCCESS);
    REQUIRE_VOID(any != NULL);
    /* A given address above the limit is refused as a bad ZeroBits, even misaligned... */
    off.QuadPart = 0;
    size = 0;
    p = (BYTE *)any + PAGE;
    CHECK_EQ(map_view(h, NT_SELF, &p, 1, 0, &off, &size, 1, 0, PAGE_READWRITE),
             ST_INVALID_PARAMETER_4);
    /* ...and one below it goes on to the alignment check. */
    size = 0;
    p = (BYTE *)any + PAGE;
    CHECK_EQ(map_view(h, NT_SELF, &p, 0x7fffffffffff, 0, &off, &size, 1, 0, PAGE_READWRITE),
             ST_MAPPED_ALIGNMENT);
    unmap_view(NT_SELF, any);
    CloseHandle(h);
}

/* NtAllocateVirtualMemory's ZeroBits: bottom-up under the limit too, unless MEM_TOP_DOWN. */
static void test_alloc_zero_bits(void)
{
    PVOID lo = NULL, hi = NULL;
    SIZE_T size = GRAN;

    CHECK_EQ(nt_alloc(NT_SELF, &lo, 1, &size, MEM_RESERVE, PAGE_NOACCESS), ST_SUCCESS);
    size = GRAN;
    CHECK_EQ(nt_alloc(NT_SELF, &hi, 1, &size, MEM_RESERVE | MEM_TOP_DOWN, PAGE_NOACCESS),
             ST_SUCCESS);
    CHECK_EQ((ULONG_PTR)lo >> 31, 0);
    CHECK_EQ((ULONG_PTR)hi >> 31, 0);
    CHECK((ULONG_PTR)lo < (ULONG_PTR)hi);
    VirtualFree(lo, 0, MEM_RELEASE);
    VirtualFree(hi, 0, MEM_RELEASE);
}

int main(void)
{
    at_init();
#ifdef _WIN32
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    map_view = (map_view_fn)(void *)GetProcAddress(ntdll, "NtMapViewOfSection");
    unmap_view = (unmap_view_fn)(void *)GetProcAddress(ntdll, "NtUnmapViewOfSection");
    nt_alloc = (alloc_fn)(void *)GetProcAddress(ntdll, "NtAllocateVirtualMemory");
    REQUIRE(map_view && unmap_view && nt_alloc);
#endif
    test_reservations_ascend();
    test_holes_grow();
    test_top_down_is_highest();
    test_views_ascend();
    test_view_zero_bits();
    test_alloc_zero_bits();
    return wmt_report();
}
