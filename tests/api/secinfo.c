/*
 * secinfo.c - NtQuerySection and NtAreMappedFilesTheSame: a section's attributes and size as
 * Windows reports them (SEC_COMMIT / SEC_RESERVE for the paging file, SEC_FILE with
 * SEC_NOCACHE / SEC_WRITECOMBINE kept for a file, the page-rounded or exact size), the
 * SECTION_QUERY right, the length check, SectionImageInformation on a data section; which
 * pairs of addresses "map the same file" (recorded on Windows).
 */
#include "apitest.h"

#include <winternl.h>

#ifdef _WIN32
/* mingw-w64's headers lack these: Microsoft's declarations, looked up at run time. */
typedef struct {
    PVOID BaseAddress;
    ULONG AllocationAttributes;
    LARGE_INTEGER MaximumSize;
} SECTION_BASIC_INFORMATION;
typedef NTSTATUS(NTAPI *query_section_fn)(HANDLE, int, PVOID, SIZE_T, PSIZE_T);
typedef NTSTATUS(NTAPI *same_fn)(PVOID, PVOID);
static query_section_fn pNtQuerySection;
static same_fn pNtAreMappedFilesTheSame;
#define NtQuerySection pNtQuerySection
#define NtAreMappedFilesTheSame pNtAreMappedFilesTheSame
#define SectionBasicInformation 0
#define SectionImageInformation 1
#endif
#ifndef STATUS_SECTION_NOT_IMAGE
#define STATUS_SECTION_NOT_IMAGE ((NTSTATUS)0xC0000049L)
#endif
#ifndef STATUS_NOT_SAME_DEVICE
#define STATUS_NOT_SAME_DEVICE ((NTSTATUS)0xC00000D4L)
#endif
#ifndef STATUS_INVALID_ADDRESS
#define STATUS_INVALID_ADDRESS ((NTSTATUS)0xC0000141L)
#endif
#ifndef STATUS_CONFLICTING_ADDRESSES
#define STATUS_CONFLICTING_ADDRESSES ((NTSTATUS)0xC0000018L)
#endif
#ifndef STATUS_INFO_LENGTH_MISMATCH
#define STATUS_INFO_LENGTH_MISMATCH ((NTSTATUS)0xC0000004L)
#endif
#ifndef STATUS_ACCESS_DENIED
#define STATUS_ACCESS_DENIED ((NTSTATUS)0xC0000022L)
#endif

static ULONG attrs_of(HANDLE h, LONGLONG *size)
{
    SECTION_BASIC_INFORMATION b;
    SIZE_T ret = 0xdeadbeef;
    memset(&b, 0xcc, sizeof b);
    NTSTATUS st = NtQuerySection(h, SectionBasicInformation, &b, sizeof b, &ret);
    CHECK_EQ(st, 0);
    CHECK_EQ(ret, sizeof b);
    CHECK(b.BaseAddress == NULL);
    if (size)
        *size = b.MaximumSize.QuadPart;
    return b.AllocationAttributes;
}

static void test_query_section(void)
{
    LONGLONG size = 0;
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x1234, NULL);
    REQUIRE_VOID(h);
    CHECK_EQ(attrs_of(h, &size), SEC_COMMIT);
    CHECK_EQ(size, 0x2000); /* page-rounded */

    SECTION_BASIC_INFORMATION b;
    SIZE_T ret = 0xdeadbeef;
    CHECK_EQ(NtQuerySection(h, SectionBasicInformation, &b, sizeof b - 1, &ret),
             STATUS_INFO_LENGTH_MISMATCH);
    char image[128];
    CHECK_EQ(NtQuerySection(h, SectionImageInformation, image, sizeof image, NULL),
             STATUS_SECTION_NOT_IMAGE);
    CHECK(CloseHandle(h));

    h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0, 0x10000,
                           NULL);
    REQUIRE_VOID(h);
    CHECK_EQ(attrs_of(h, NULL), SEC_RESERVE);
    CHECK(CloseHandle(h));
    h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_COMMIT | SEC_NOCACHE, 0,
                           0x10000, NULL);
    REQUIRE_VOID(h);
    CHECK_EQ(attrs_of(h, NULL), SEC_COMMIT | SEC_NOCACHE);
    CHECK(CloseHandle(h));

    /* A file: SEC_FILE whatever SEC_COMMIT / SEC_RESERVE said, the exact size. */
    char path[400];
    at_tmp_path(path, sizeof path, "secinfo");
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    h = CreateFileMappingA(f, NULL, PAGE_READWRITE | SEC_RESERVE, 0, 0x1801, NULL);
    REQUIRE_VOID(h);
    CHECK_EQ(attrs_of(h, &size), SEC_FILE);
    CHECK_EQ(size, 0x1801);
    CHECK(CloseHandle(h));
    h = CreateFileMappingA(f, NULL, PAGE_READWRITE | SEC_COMMIT | SEC_WRITECOMBINE, 0, 0x1801,
                           NULL);
    REQUIRE_VOID(h);
    CHECK_EQ(attrs_of(h, NULL), SEC_FILE | SEC_WRITECOMBINE);
    CHECK(CloseHandle(h));
    CHECK(CloseHandle(f));
    CHECK(remove(path) == 0);

    /* Without SECTION_QUERY: access denied. */
    h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x1000,
                           "Local\\winmem-secinfo-query");
    REQUIRE_VOID(h);
    HANDLE ro = OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\winmem-secinfo-query");
    REQUIRE_VOID(ro);
    CHECK_EQ(NtQuerySection(ro, SectionBasicInformation, &b, sizeof b, &ret), STATUS_ACCESS_DENIED);
    CHECK(CloseHandle(ro));
    ro = OpenFileMappingA(FILE_MAP_READ | SECTION_QUERY, FALSE, "Local\\winmem-secinfo-query");
    REQUIRE_VOID(ro);
    CHECK_EQ(attrs_of(ro, NULL), SEC_COMMIT);
    CHECK(CloseHandle(ro));
    CHECK(CloseHandle(h));
}

static void test_same_files(void)
{
    char path[400];
    at_tmp_path(path, sizeof path, "samefile");
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS,
                           0, NULL);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 4096, NULL);
    REQUIRE_VOID(m);
    char *p = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 4096);
    char *q = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 4096);
    REQUIRE_VOID(p && q);

    CHECK_EQ(NtAreMappedFilesTheSame(p, p), 0);
    CHECK_EQ(NtAreMappedFilesTheSame(p, p + 30), 0);
    /* Two views of one data section are not "the same" (Windows). */
    CHECK_EQ(NtAreMappedFilesTheSame(p, q), STATUS_NOT_SAME_DEVICE);
    CHECK_EQ(NtAreMappedFilesTheSame(p, NULL), STATUS_INVALID_ADDRESS);
    CHECK_EQ(NtAreMappedFilesTheSame(NULL, NULL), STATUS_INVALID_ADDRESS);
    CHECK_EQ(NtAreMappedFilesTheSame(p, (void *)GetProcessHeap()), STATUS_CONFLICTING_ADDRESSES);
    void *v = VirtualAlloc(NULL, 0x10000, MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(v);
    CHECK_EQ(NtAreMappedFilesTheSame(p, v), STATUS_CONFLICTING_ADDRESSES);
    CHECK(VirtualFree(v, 0, MEM_RELEASE));
    /* The executable's code and a data view are different files. */
    CHECK_EQ(NtAreMappedFilesTheSame(p, (void *)(ULONG_PTR)test_same_files),
             STATUS_NOT_SAME_DEVICE);
    /* Two places in the executable's image: the same file. */
    CHECK_EQ(NtAreMappedFilesTheSame((void *)(ULONG_PTR)test_same_files,
                                     (void *)(ULONG_PTR)test_query_section),
             0);

    CHECK(UnmapViewOfFile(q));
    CHECK(UnmapViewOfFile(p));
    CHECK(CloseHandle(m));
    CHECK(CloseHandle(f));
    CHECK(remove(path) == 0);
}

int main(void)
{
    at_init();
#ifdef _WIN32
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    pNtQuerySection = (query_section_fn)(void *)GetProcAddress(nt, "NtQuerySection");
    pNtAreMappedFilesTheSame = (same_fn)(void *)GetProcAddress(nt, "NtAreMappedFilesTheSame");
    REQUIRE(pNtQuerySection && pNtAreMappedFilesTheSame);
#endif
    test_query_section();
    test_same_files();
    return wmt_report();
}
