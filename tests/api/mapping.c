/*
 * mapping.c - file-mapping objects: CreateFileMapping's protections, SEC_ flags and sizes,
 * named objects (last error, case, Local\, lifetime), OpenFileMapping and DuplicateHandle
 * access rights and CloseHandle (the file calls are in file.c).  The expected values are those of
 * /tmp/research/mappings.md (Windows-verified where it says so).  Plain Win32 C: builds with
 * mingw-w64 and runs under Wine or Windows too.
 */
#include "apitest.h"

#ifndef _WIN32
#include "winternl.h" /* NtCreateSection: the NT status behind the Win32 error */
#endif

#include <stdio.h>

/* A mapping name of this process's own. */
static void map_name(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "winmem-map-%lu-%s", (unsigned long)GetCurrentProcessId(), tag);
}

/* Write size bytes of fill to path (C stdio), then open it with access. */
static HANDLE make_file(const char *path, size_t size, int fill, DWORD access)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return INVALID_HANDLE_VALUE;
    for (size_t i = 0; i < size; i++)
        fputc(fill, f);
    fclose(f);
    return CreateFileA(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                       FILE_ATTRIBUTE_NORMAL, NULL);
}

static LONGLONG file_size(HANDLE h)
{
    LARGE_INTEGER s;
    s.QuadPart = -1;
    return GetFileSizeEx(h, &s) ? s.QuadPart : -1;
}

#define RWX (GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE)

/* CreateFileMapping must succeed and leave the last error 0; the handle is closed. */
#define CHECK_CREATES(call)          \
    do {                             \
        SetLastError(0xdeadbeef);    \
        HANDLE ok_h = (call);        \
        CHECK(ok_h != NULL);         \
        CHECK_EQ(GetLastError(), 0); \
        if (ok_h)                    \
            CloseHandle(ok_h);       \
    } while (0)

static void test_protections(void)
{
    static const DWORD good[] = {
        PAGE_READONLY,     PAGE_READWRITE,         PAGE_WRITECOPY,
        PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY
    };
    static const DWORD bad[] = { 0,
                                 PAGE_NOACCESS,
                                 PAGE_EXECUTE,
                                 PAGE_READWRITE | PAGE_READONLY,
                                 PAGE_EXECUTE_READWRITE | PAGE_EXECUTE,
                                 PAGE_READONLY | PAGE_EXECUTE_READ,
                                 PAGE_WRITECOPY | PAGE_READWRITE };
    char path[400];
    at_tmp_path(path, sizeof(path), "map-prot");
    HANDLE f = make_file(path, 0x2000, 0, RWX);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK_CREATES(CreateFileMappingA(f, NULL, good[i] | SEC_COMMIT, 0, 0, NULL));
        CHECK_CREATES(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, good[i], 0, 0x1000, NULL));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_FAILS(CreateFileMappingA(f, NULL, bad[i] | SEC_COMMIT, 0, 0, NULL),
                    ERROR_INVALID_PARAMETER);
        CHECK_FAILS(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, bad[i], 0, 0x1000, NULL),
                    ERROR_INVALID_PARAMETER);
    }
    /* winmem's choice; Windows unverified */
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_READWRITE | PAGE_GUARD, 0, 0, NULL),
                ERROR_INVALID_PARAMETER);
    CloseHandle(f);
    remove(path);
}

/* The SEC_ flags table: ok (0) or the error, for the paging file and a 0x2000-byte file. */
static void test_sec_flags(void)
{
    static const struct {
        DWORD flags, err;
    } t[] = {
        { SEC_COMMIT, 0 },
        { 0, 0 },
        { SEC_COMMIT | SEC_NOCACHE, 0 },
        { SEC_COMMIT | SEC_WRITECOMBINE, 0 },
        { SEC_RESERVE | SEC_LARGE_PAGES, ERROR_INVALID_PARAMETER },
        { SEC_RESERVE | SEC_COMMIT, ERROR_INVALID_PARAMETER },
        { SEC_IMAGE, ERROR_BAD_EXE_FORMAT },
        { SEC_IMAGE | SEC_RESERVE, ERROR_INVALID_PARAMETER },
        { SEC_IMAGE | SEC_COMMIT, ERROR_INVALID_PARAMETER },
        { SEC_NOCACHE, ERROR_INVALID_PARAMETER },
        { SEC_LARGE_PAGES, ERROR_INVALID_PARAMETER },
        { SEC_WRITECOMBINE, ERROR_INVALID_PARAMETER },
        { SEC_FILE, ERROR_INVALID_PARAMETER },
        { SEC_FILE | SEC_RESERVE, ERROR_INVALID_PARAMETER },
        { SEC_FILE | SEC_COMMIT, ERROR_INVALID_PARAMETER },
    };
    /* SEC_RESERVE, alone or with a caching flag: accepted for both kinds of section. */
    static const DWORD reserve[] = { SEC_RESERVE, SEC_RESERVE | SEC_NOCACHE,
                                     SEC_RESERVE | SEC_WRITECOMBINE };
    char path[400];
    at_tmp_path(path, sizeof(path), "map-sec");
    HANDLE f = make_file(path, 0x2000, 0, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        for (int file = 0; file < 2; file++) {
            HANDLE src = file ? f : INVALID_HANDLE_VALUE;
            DWORD prot = PAGE_READWRITE | t[i].flags;
            if (t[i].err) {
                CHECK_FAILS(CreateFileMappingA(src, NULL, prot, 0, 0x1000, NULL), t[i].err);
                continue;
            }
            CHECK_CREATES(CreateFileMappingA(src, NULL, prot, 0, 0x1000, NULL));
        }
    }
    /* COMMIT|LARGE_PAGES on a file (no privilege). */
    CHECK_FAILS(
        CreateFileMappingA(f, NULL, PAGE_READWRITE | SEC_COMMIT | SEC_LARGE_PAGES, 0, 0x1000, NULL),
        ERROR_INVALID_PARAMETER);
    for (size_t i = 0; i < sizeof(reserve) / sizeof(reserve[0]); i++) {
        for (int file = 0; file < 2; file++) {
            HANDLE src = file ? f : INVALID_HANDLE_VALUE;
            CHECK_CREATES(
                CreateFileMappingA(src, NULL, PAGE_READWRITE | reserve[i], 0, 0x1000, NULL));
        }
    }
    CloseHandle(f);
    remove(path);
}

static void test_sizes(void)
{
    char path[400];
    HANDLE f, m;

    /* The paging file needs a size. */
    CHECK_FAILS(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0, NULL),
                ERROR_INVALID_PARAMETER);

    /* A zero-length file with size 0. */
    at_tmp_path(path, sizeof(path), "map-empty");
    f = make_file(path, 0, 0, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL), ERROR_FILE_INVALID);
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL), ERROR_FILE_INVALID);
    /* As an image: no file for a section at all (STATUS_INVALID_FILE_FOR_SECTION). */
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_READONLY | SEC_IMAGE, 0, 0, NULL),
                ERROR_BAD_EXE_FORMAT);
#ifndef _WIN32
    HANDLE s = NULL;
    CHECK_EQ(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, NULL, PAGE_READONLY, SEC_IMAGE, f),
             STATUS_INVALID_FILE_FOR_SECTION);
    CHECK_EQ(s, NULL);
#endif
    CHECK_EQ(file_size(f), 0);
    CloseHandle(f);
    remove(path);

    /* A read-only section cannot be larger than its file; a writable one grows the file. */
    at_tmp_path(path, sizeof(path), "map-grow");
    f = make_file(path, 0x3456, 1, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0x3457, NULL),
                ERROR_NOT_ENOUGH_MEMORY);
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_WRITECOPY, 0, 0x3457, NULL),
                ERROR_NOT_ENOUGH_MEMORY);
    CHECK_EQ(file_size(f), 0x3456);
    /* A file that is not an image has no MZ header. */
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_READONLY | SEC_IMAGE, 0, 0, NULL),
                ERROR_BAD_EXE_FORMAT);
#ifndef _WIN32
    CHECK_EQ(NtCreateSection(&s, SECTION_ALL_ACCESS, NULL, NULL, PAGE_READONLY, SEC_IMAGE, f),
             STATUS_INVALID_IMAGE_NOT_MZ);
#endif
    CHECK_CREATES(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0x3456, NULL));
    CHECK_CREATES(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 36, NULL));
    CHECK_EQ(file_size(f), 0x3456);
    CHECK_CREATES(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0x100000, NULL));
    CHECK_EQ(file_size(f), 0x100000);
    CloseHandle(f);

    /* A file opened for reading only: no writable or executable section. */
    f = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL), ERROR_ACCESS_DENIED);
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_EXECUTE_READ, 0, 0, NULL), ERROR_ACCESS_DENIED);
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_EXECUTE_READWRITE, 0, 0, NULL),
                ERROR_ACCESS_DENIED);
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_EXECUTE_WRITECOPY, 0, 0, NULL),
                ERROR_ACCESS_DENIED);
    CHECK_CREATES(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL));
    CHECK_CREATES(CreateFileMappingA(f, NULL, PAGE_WRITECOPY, 0, 0, NULL));
    CloseHandle(f);

    /* A file opened with no access at all. */
    f = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    SetLastError(0xdeadbeef);
    m = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
    CHECK(m == NULL);
    CHECK(GetLastError() == ERROR_ACCESS_DENIED || GetLastError() == ERROR_INVALID_PARAMETER);
    CloseHandle(f);
    remove(path);
}

/* A named section: the last error, the same object behind an existing name, case, Local\. */
static void test_names(void)
{
    char name[100], upper[100], local[120];
    map_name(name, sizeof(name), "named");
    map_name(upper, sizeof(upper), "NAMED");
    snprintf(local, sizeof(local), "Local\\%s", name);

    SetLastError(0xdeadbeef);
    HANDLE m1 = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4090, name);
    REQUIRE_VOID(m1 != NULL);
    CHECK_EQ(GetLastError(), 0);

    /* The same name (even asking for a bigger size): the existing object, at its size. */
    SetLastError(0xdeadbeef);
    HANDLE m2 = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x100000, name);
    CHECK(m2 != NULL && m2 != m1);
    CHECK_EQ(GetLastError(), ERROR_ALREADY_EXISTS);
    volatile BYTE *v1 = MapViewOfFile(m1, FILE_MAP_WRITE, 0, 0, 0);
    volatile BYTE *v2 = m2 ? MapViewOfFile(m2, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    CHECK(v1 != NULL && v2 != NULL && v1 != v2);
    if (v1 && v2) {
        MEMORY_BASIC_INFORMATION mbi;
        CHECK_EQ(VirtualQuery((const void *)v2, &mbi, sizeof(mbi)), sizeof(mbi));
        CHECK_EQ(mbi.RegionSize, 4096);
        v1[10] = 0x5a;
        CHECK_EQ(v2[10], 0x5a);
        v2[4000] = 0xa5;
        CHECK_EQ(v1[4000], 0xa5);
    }

    /* "Local\" is the default namespace: the same object. */
    SetLastError(0xdeadbeef);
    HANDLE m3 = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, local);
    CHECK(m3 != NULL);
    CHECK_EQ(GetLastError(), ERROR_ALREADY_EXISTS);
    HANDLE o = OpenFileMappingA(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, local);
    CHECK(o != NULL);
    volatile BYTE *v3 = o ? MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0) : NULL;
    CHECK(v3 != NULL && v3[10] == 0x5a);

    /* Names are case-sensitive: another name, a new object. */
    CHECK_FAILS(OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, upper), ERROR_FILE_NOT_FOUND);
    SetLastError(0xdeadbeef);
    HANDLE m4 = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, upper);
    CHECK(m4 != NULL);
    CHECK_EQ(GetLastError(), 0);
    volatile BYTE *v4 = m4 ? MapViewOfFile(m4, FILE_MAP_READ, 0, 0, 0) : NULL;
    CHECK(v4 != NULL && v4[10] == 0);

    /* A name nobody created. */
    map_name(name + 60, 40, "missing");
    CHECK_FAILS(OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name + 60), ERROR_FILE_NOT_FOUND);
    map_name(name, sizeof(name), "named");

    /* The name goes with the last handle, while the views stay usable. */
    CloseHandle(m1);
    CloseHandle(m2);
    CloseHandle(m3);
    HANDLE still = OpenFileMappingA(FILE_MAP_READ, FALSE, name); /* o still holds the name */
    CHECK(still != NULL);
    if (still)
        CloseHandle(still);
    CloseHandle(o);
    CHECK_FAILS(OpenFileMappingA(FILE_MAP_READ, FALSE, name), ERROR_FILE_NOT_FOUND);
    CHECK_FAILS(OpenFileMappingA(FILE_MAP_READ, FALSE, local), ERROR_FILE_NOT_FOUND);
    if (v1 && v2 && v3) {
        CHECK_REGION((const void *)v1, v1, v1, PAGE_READWRITE, 4096, MEM_COMMIT, PAGE_READWRITE,
                     MEM_MAPPED);
        v1[11] = 0x33;
        CHECK_EQ(v2[11], 0x33);
        CHECK_EQ(v3[11], 0x33);
    }
    /* Created again: a new, zeroed object. */
    SetLastError(0xdeadbeef);
    m1 = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
    CHECK(m1 != NULL);
    CHECK_EQ(GetLastError(), 0);
    volatile BYTE *v5 = m1 ? MapViewOfFile(m1, FILE_MAP_READ, 0, 0, 0) : NULL;
    CHECK(v5 != NULL && v5[10] == 0);
    CloseHandle(m1);
    CloseHandle(m4);
    UnmapViewOfFile((const void *)v1);
    UnmapViewOfFile((const void *)v2);
    UnmapViewOfFile((const void *)v3);
    UnmapViewOfFile((const void *)v4);
    UnmapViewOfFile((const void *)v5);
}

/* What a handle's access lets it map (OpenFileMapping, DuplicateHandle). */
static void test_handle_access(void)
{
    char name[100];
    HANDLE m, h, self = GetCurrentProcess();
    void *v;

    map_name(name, sizeof(name), "access");
    m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, GRAN, name);
    REQUIRE_VOID(m != NULL);

    h = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    CHECK(h != NULL);
    CHECK_FAILS(MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0), ERROR_ACCESS_DENIED);
    CHECK((v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0)) != NULL);
    if (v)
        CHECK_REGION(v, v, v, PAGE_READONLY, GRAN, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    UnmapViewOfFile(v);
    CloseHandle(h);

    /* FILE_MAP_WRITE does not include the right to read. */
    h = OpenFileMappingA(FILE_MAP_WRITE, FALSE, name);
    CHECK(h != NULL);
    CHECK_FAILS(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0), ERROR_ACCESS_DENIED);
    CHECK((v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0)) != NULL);
    if (v)
        CHECK_REGION(v, v, v, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    UnmapViewOfFile(v);
    CloseHandle(h);

    /* FILE_MAP_ALL_ACCESS opens a non-executable section (rights are checked at map time). */
    h = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name);
    CHECK(h != NULL);
    CHECK((v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0)) != NULL);
    UnmapViewOfFile(v);
    CloseHandle(h);

    /* Duplicates with reduced access. */
    CHECK(DuplicateHandle(self, m, self, &h, FILE_MAP_READ, FALSE, 0));
    CHECK_FAILS(MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0), ERROR_ACCESS_DENIED);
    CHECK((v = MapViewOfFile(h, 0, 0, 0, 0)) != NULL);
    if (v)
        CHECK_REGION(v, v, v, PAGE_NOACCESS, GRAN, MEM_COMMIT, PAGE_NOACCESS, MEM_MAPPED);
    UnmapViewOfFile(v);
    CloseHandle(h);
    CHECK(DuplicateHandle(self, m, self, &h, 0, FALSE, 0));
    CHECK_FAILS(MapViewOfFile(h, 0, 0, 0, 0), ERROR_ACCESS_DENIED);
    CloseHandle(h);
    CHECK(DuplicateHandle(self, m, self, &h, 0, FALSE, DUPLICATE_SAME_ACCESS));
    CHECK((v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0)) != NULL);
    UnmapViewOfFile(v);
    CloseHandle(h);

    /* Closed handles. */
    CHECK(CloseHandle(m));
    CHECK_FAILS(MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0), ERROR_INVALID_HANDLE);
    /* winmem's choice; Windows unverified */
    CHECK_FAILS(CloseHandle(m), ERROR_INVALID_HANDLE);
}

/* SEC_RESERVE: views show the section's pages reserved until VirtualAlloc(MEM_COMMIT) in any
 * view commits them for every view; each view keeps its own protection. */
static void test_sec_reserve(void)
{
    const SIZE_T size = 0x100000;
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
                                  (DWORD)size, NULL);
    REQUIRE_VOID(h != NULL);
    BYTE *a = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    BYTE *b = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    REQUIRE_VOID(a && b);
    CHECK_REGION(a, a, a, PAGE_READWRITE, size, MEM_RESERVE, 0, MEM_MAPPED);
    CHECK_REGION(b, b, b, PAGE_READWRITE, size, MEM_RESERVE, 0, MEM_MAPPED);

    /* Commit the first 64 KiB read-only through a: b sees them committed read-write. */
    CHECK(VirtualAlloc(a, GRAN, MEM_COMMIT, PAGE_READONLY) == a);
    CHECK_REGION(a, a, a, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    CHECK_REGION(b, b, b, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    CHECK_REGION(a + GRAN, a + GRAN, a, PAGE_READWRITE, size - GRAN, MEM_RESERVE, 0, MEM_MAPPED);
    b[10] = 42;
    CHECK_EQ(a[10], 42);

    /* A view mapped later shows the same commit state, with its own protection. */
    BYTE *c = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    REQUIRE_VOID(c != NULL);
    CHECK_REGION(c, c, c, PAGE_READONLY, GRAN, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    CHECK_REGION(c + GRAN, c + GRAN, c, PAGE_READONLY, size - GRAN, MEM_RESERVE, 0, MEM_MAPPED);
    CHECK_EQ(c[10], 42);

    /* A protection beyond the view's class, and decommitting a view, are refused. */
    CHECK_FAILS(VirtualAlloc(c + GRAN, GRAN, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(VirtualFree(a, GRAN, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    CHECK(UnmapViewOfFile(a));
    CHECK(UnmapViewOfFile(b));
    CHECK(UnmapViewOfFile(c));
    CHECK(CloseHandle(h));
}

/* A named file section that exists already is returned as it is: creating it again with a
 * bigger size does not grow the file. */
static void test_named_file_exists(void)
{
    char path[400], name[64];
    at_tmp_path(path, sizeof(path), "map-named-file");
    snprintf(name, sizeof(name), "winmem-named-file-%lu", (unsigned long)GetCurrentProcessId());
    HANDLE f = make_file(path, 0x1000, 3, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    HANDLE m1 = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0x1000, name);
    CHECK(m1 != NULL);
    SetLastError(0xdeadbeef);
    HANDLE m2 = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0x10000, name);
    CHECK(m2 != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    CHECK_EQ(file_size(f), 0x1000);
    if (m2)
        CloseHandle(m2);
    if (m1)
        CloseHandle(m1);
    CloseHandle(f);
    remove(path);
}

int main(void)
{
    at_init();
    test_named_file_exists();
    test_protections();
    test_sec_flags();
    test_sizes();
    test_names();
    test_handle_access();
    test_sec_reserve();
    return wmt_report();
}
