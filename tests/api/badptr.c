/*
 * badptr.c - bad pointer arguments fail the call instead of crashing the process, as the
 * kernel's probing of its arguments makes them fail on Windows: VirtualQuery into a buffer at
 * 0x10 or in a read-only page returns 0 with ERROR_NOACCESS; VirtualProtect with a bad
 * lpflOldProtect fails having changed nothing, and one inside the very page it makes
 * read-only succeeds (the old value's write is then ignored); the NT calls return
 * STATUS_ACCESS_VIOLATION for bad in/out arguments; an output in a copy-on-write view is
 * written through its first-write fault.  Plain Win32 C; the NT checks are Linux-only.
 */
#include "apitest.h"

#ifndef _WIN32
#include "winternl.h"
#endif

#define BAD ((void *)(ULONG_PTR)0x10)

static void test_query(void)
{
    BYTE *p = VirtualAlloc(NULL, 2 * 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    SetLastError(0xdeadbeef);
    CHECK_EQ(VirtualQuery(p, BAD, sizeof(MEMORY_BASIC_INFORMATION)), 0);
    CHECK_EQ(GetLastError(), ERROR_NOACCESS);
    /* A buffer in a read-only page. */
    DWORD old;
    REQUIRE_VOID(VirtualProtect(p + 4096, 4096, PAGE_READONLY, &old));
    SetLastError(0xdeadbeef);
    CHECK_EQ(
        VirtualQuery(p, (PMEMORY_BASIC_INFORMATION)(p + 4096), sizeof(MEMORY_BASIC_INFORMATION)),
        0);
    CHECK_EQ(GetLastError(), ERROR_NOACCESS);
    CHECK_EQ(p[4096], 0); /* nothing written */
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_protect(void)
{
    BYTE *p = VirtualAlloc(NULL, 2 * 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION m;
    REQUIRE_VOID(p != NULL);
    /* A bad lpflOldProtect: refused before anything changes. */
    CHECK_FAILS(VirtualProtect(p, 4096, PAGE_READONLY, BAD), ERROR_NOACCESS);
    CHECK_EQ(VirtualQuery(p, &m, sizeof(m)), sizeof(m));
    CHECK_EQ(m.Protect, PAGE_READWRITE);
    /* lpflOldProtect in the page being made read-only: the change is made, the old value's
     * write fails and is ignored. */
    DWORD *in_page = (DWORD *)(p + 4096);
    *in_page = 0x1234;
    CHECK(VirtualProtect(p + 4096, 4096, PAGE_READONLY, in_page));
    CHECK_EQ(VirtualQuery(p + 4096, &m, sizeof(m)), sizeof(m));
    CHECK_EQ(m.Protect, PAGE_READONLY);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* An output in a copy-on-write view: its first write goes through the fault that gives the
 * page its copy, and the call succeeds. */
static void test_copy_on_write_output(void)
{
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536, NULL);
    BYTE *v = m ? MapViewOfFile(m, FILE_MAP_COPY, 0, 0, 0) : NULL;
    MEMORY_BASIC_INFORMATION q;
    REQUIRE_VOID(v != NULL);
    CHECK_EQ(VirtualQuery(v, (PMEMORY_BASIC_INFORMATION)v, sizeof(MEMORY_BASIC_INFORMATION)),
             sizeof(MEMORY_BASIC_INFORMATION));
    CHECK(((PMEMORY_BASIC_INFORMATION)v)->BaseAddress == v);
    CHECK_EQ(VirtualQuery(v, &q, sizeof(q)), sizeof(q));
    CHECK_EQ(q.Protect, PAGE_READWRITE); /* written: it has its copy */
    CHECK(UnmapViewOfFile(v));
    CloseHandle(m);
}

#ifndef _WIN32
#define CHECK_ST(call, st) CHECK_EQ((ULONG)(call), (ULONG)(st))

static void test_nt(void)
{
    PVOID base = NULL;
    SIZE_T size = 65536;
    ULONG old;
    CHECK_ST(
        NtAllocateVirtualMemory(NtCurrentProcess(), BAD, 0, &size, MEM_RESERVE, PAGE_READWRITE),
        STATUS_ACCESS_VIOLATION);
    CHECK_ST(
        NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, BAD, MEM_RESERVE, PAGE_READWRITE),
        STATUS_ACCESS_VIOLATION);
    CHECK(base == NULL); /* nothing allocated */
    CHECK_ST(NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size, MEM_RESERVE | MEM_COMMIT,
                                     PAGE_READWRITE),
             STATUS_SUCCESS);
    SIZE_T len = 0;
    MEMORY_BASIC_INFORMATION mbi;
    CHECK_ST(NtQueryVirtualMemory(NtCurrentProcess(), base, MemoryBasicInformation, &mbi,
                                  sizeof(mbi), BAD),
             STATUS_ACCESS_VIOLATION);
    CHECK_ST(NtQueryVirtualMemory(NtCurrentProcess(), base, MemoryBasicInformation, &mbi,
                                  sizeof(mbi), &len),
             STATUS_SUCCESS);
    CHECK_EQ(len, sizeof(mbi));
    PVOID a = base;
    SIZE_T n = 4096;
    CHECK_ST(NtProtectVirtualMemory(NtCurrentProcess(), &a, &n, PAGE_READONLY, BAD),
             STATUS_ACCESS_VIOLATION);
    CHECK_ST(NtProtectVirtualMemory(NtCurrentProcess(), BAD, &n, PAGE_READONLY, &old),
             STATUS_ACCESS_VIOLATION);
    CHECK_ST(NtLockVirtualMemory(NtCurrentProcess(), BAD, &n, MAP_PROCESS),
             STATUS_ACCESS_VIOLATION);
    CHECK_ST(NtFreeVirtualMemory(NtCurrentProcess(), &a, BAD, MEM_RELEASE),
             STATUS_ACCESS_VIOLATION);
    CHECK_EQ(VirtualQuery(base, &mbi, sizeof(mbi)), sizeof(mbi));
    CHECK_EQ(mbi.State, MEM_COMMIT); /* still there */
    CHECK_EQ(mbi.Protect, PAGE_READWRITE);
    HANDLE s = NULL;
    LARGE_INTEGER max = { .QuadPart = 65536 };
    CHECK_ST(NtCreateSection(BAD, SECTION_ALL_ACCESS, NULL, &max, PAGE_READWRITE, SEC_COMMIT, NULL),
             STATUS_ACCESS_VIOLATION);
    CHECK_ST(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, &max, PAGE_READWRITE, SEC_COMMIT, NULL),
             STATUS_SUCCESS);
    PVOID vb = NULL;
    SIZE_T vs = 0;
    LARGE_INTEGER *bad_off = BAD;
    CHECK_ST(NtMapViewOfSection(s, NtCurrentProcess(), &vb, 0, 0, bad_off, &vs, ViewShare, 0,
                                PAGE_READWRITE),
             STATUS_ACCESS_VIOLATION);
    CHECK(vb == NULL);
    HANDLE d;
    CHECK_ST(NtDuplicateObject(NtCurrentProcess(), s, NtCurrentProcess(), BAD, 0, 0,
                               DUPLICATE_SAME_ACCESS),
             STATUS_ACCESS_VIOLATION);
    CHECK_ST(NtDuplicateObject(NtCurrentProcess(), s, NtCurrentProcess(), &d, 0, 0,
                               DUPLICATE_SAME_ACCESS),
             STATUS_SUCCESS);
    CHECK(CloseHandle(d));
    CHECK(CloseHandle(s));
    a = base, n = 0;
    CHECK_ST(NtFreeVirtualMemory(NtCurrentProcess(), &a, &n, MEM_RELEASE), STATUS_SUCCESS);
}
#endif

int main(void)
{
    at_init();
    test_query();
    test_protect();
    test_copy_on_write_output();
#ifndef _WIN32
    test_nt();
#endif
    return wmt_report();
}
