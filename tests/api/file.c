/*
 * file.c - the file calls a file mapping needs: CreateFile's creation dispositions and the
 * last errors they leave, GetFileSizeEx, SetFilePointerEx (ERROR_NEGATIVE_SEEK), SetEndOfFile
 * and FlushFileBuffers, as Microsoft's documentation of each call describes them.  Plain Win32 C:
 * builds with mingw-w64 and runs under Wine or Windows too.
 */
#include "apitest.h"

#include <stdio.h>

static LONGLONG file_size(HANDLE h)
{
    LARGE_INTEGER s;
    s.QuadPart = -1;
    return GetFileSizeEx(h, &s) ? s.QuadPart : -1;
}

/* CreateFile's dispositions and last errors, and the file-size calls. */
#define CHECK_OPEN_FAILS(path, disp, err)                                                \
    do {                                                                                 \
        SetLastError(0xdeadbeef);                                                        \
        HANDLE of_h = CreateFileA((path), GENERIC_READ | GENERIC_WRITE, 0, NULL, (disp), \
                                  FILE_ATTRIBUTE_NORMAL, NULL);                          \
        DWORD of_e = GetLastError();                                                     \
        CHECK(of_h == INVALID_HANDLE_VALUE);                                             \
        CHECK_EQ(of_e, (err));                                                           \
        if (of_h != INVALID_HANDLE_VALUE)                                                \
            CloseHandle(of_h);                                                           \
    } while (0)

static HANDLE open_with(const char *path, DWORD disp, DWORD *err)
{
    SetLastError(0xdeadbeef);
    HANDLE h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           NULL, disp, FILE_ATTRIBUTE_NORMAL, NULL);
    *err = GetLastError();
    return h;
}

static void test_files(void)
{
    char path[400], nodir[450];
    DWORD err;
    HANDLE h;
    LARGE_INTEGER d, pos;

    at_tmp_path(path, sizeof(path), "file-disp");
    snprintf(nodir, sizeof(nodir), "%s-no-such-dir%cfile", path,
#ifdef _WIN32
             '\\'
#else
             '/'
#endif
    );
    remove(path);
    CHECK_OPEN_FAILS(path, OPEN_EXISTING, ERROR_FILE_NOT_FOUND);
    CHECK_OPEN_FAILS(path, TRUNCATE_EXISTING, ERROR_FILE_NOT_FOUND);
    CHECK_OPEN_FAILS(nodir, CREATE_NEW, ERROR_PATH_NOT_FOUND);
    CHECK_OPEN_FAILS(nodir, OPEN_EXISTING, ERROR_PATH_NOT_FOUND);

    h = open_with(path, CREATE_NEW, &err);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK_EQ(err, 0);
    CHECK_EQ(file_size(h), 0);
    /* Grow to 0x3000 with the pointer and SetEndOfFile. */
    d.QuadPart = 0x3000;
    pos.QuadPart = 0;
    CHECK(SetFilePointerEx(h, d, &pos, FILE_BEGIN));
    CHECK_EQ(pos.QuadPart, 0x3000);
    CHECK(SetEndOfFile(h));
    CHECK_EQ(file_size(h), 0x3000);
    /* A negative position is refused and the pointer stays. */
    d.QuadPart = -1;
    CHECK_FAILS(SetFilePointerEx(h, d, NULL, FILE_BEGIN), ERROR_NEGATIVE_SEEK);
    d.QuadPart = -0x3001;
    CHECK_FAILS(SetFilePointerEx(h, d, NULL, FILE_CURRENT), ERROR_NEGATIVE_SEEK);
    CHECK_FAILS(SetFilePointerEx(h, d, NULL, FILE_END), ERROR_NEGATIVE_SEEK);
    d.QuadPart = 0;
    CHECK(SetFilePointerEx(h, d, &pos, FILE_CURRENT));
    CHECK_EQ(pos.QuadPart, 0x3000);
    d.QuadPart = -0x1000;
    CHECK(SetFilePointerEx(h, d, &pos, FILE_END));
    CHECK_EQ(pos.QuadPart, 0x2000);
    CHECK(SetEndOfFile(h));
    CHECK_EQ(file_size(h), 0x2000);
    CHECK(FlushFileBuffers(h));
    CloseHandle(h);

    CHECK_OPEN_FAILS(path, CREATE_NEW, ERROR_FILE_EXISTS);
    h = open_with(path, OPEN_ALWAYS, &err);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK_EQ(err, ERROR_ALREADY_EXISTS);
    CHECK_EQ(file_size(h), 0x2000);
    CloseHandle(h);
    h = open_with(path, OPEN_EXISTING, &err);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK_EQ(err, 0);
    CloseHandle(h);
    h = open_with(path, CREATE_ALWAYS, &err);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK_EQ(err, ERROR_ALREADY_EXISTS);
    CHECK_EQ(file_size(h), 0);
    CloseHandle(h);
    remove(path);
    h = open_with(path, OPEN_ALWAYS, &err);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK_EQ(err, 0);
    CloseHandle(h);
    remove(path);
    h = open_with(path, CREATE_ALWAYS, &err);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK_EQ(err, 0);
    CloseHandle(h);
    remove(path);
}

/* A directory opens only with FILE_FLAG_BACKUP_SEMANTICS; otherwise ERROR_ACCESS_DENIED. */
static void test_directory(void)
{
    char path[400];
    at_tmp_path(path, sizeof(path), "file-dir");
    char *sep = strrchr(path, '/');
#ifdef _WIN32
    char *bs = strrchr(path, '\\');
    if (!sep || (bs && bs > sep))
        sep = bs;
#endif
    REQUIRE_VOID(sep != NULL);
    *sep = 0; /* the temporary directory itself */
    SetLastError(0xdeadbeef);
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD err = GetLastError();
    CHECK(h == INVALID_HANDLE_VALUE);
    CHECK_EQ(err, ERROR_ACCESS_DENIED);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
}

/* A file cannot be cut short while a view maps it: ERROR_USER_MAPPED_FILE, nothing changed.
 * Growing it is fine; once the view is gone, cutting it is too. */
static void test_user_mapped(void)
{
    char path[400];
    DWORD err;
    LARGE_INTEGER d;

    at_tmp_path(path, sizeof(path), "file-mapped");
    remove(path);
    HANDLE h = open_with(path, CREATE_ALWAYS, &err);
    REQUIRE_VOID(h != INVALID_HANDLE_VALUE);
    d.QuadPart = 65536;
    CHECK(SetFilePointerEx(h, d, NULL, FILE_BEGIN));
    CHECK(SetEndOfFile(h));
    HANDLE m = CreateFileMappingA(h, NULL, PAGE_READWRITE, 0, 0, NULL);
    REQUIRE_VOID(m != NULL);
    char *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    REQUIRE_VOID(v != NULL);
    v[0] = 'a';
    v[65535] = 'z';

    d.QuadPart = 100;
    CHECK(SetFilePointerEx(h, d, NULL, FILE_BEGIN));
    CHECK_FAILS(SetEndOfFile(h), ERROR_USER_MAPPED_FILE);
    CHECK_EQ(file_size(h), 65536);
    CHECK_EQ(v[65535], 'z');
    /* Opening it again to overwrite it is cutting it too. */
    SetLastError(0xdeadbeef);
    HANDLE o = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    err = GetLastError();
    CHECK(o == INVALID_HANDLE_VALUE);
    CHECK_EQ(err, ERROR_USER_MAPPED_FILE);
    if (o != INVALID_HANDLE_VALUE)
        CloseHandle(o);
    SetLastError(0xdeadbeef);
    o = CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                    TRUNCATE_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    err = GetLastError();
    CHECK(o == INVALID_HANDLE_VALUE);
    CHECK_EQ(err, ERROR_USER_MAPPED_FILE);
    if (o != INVALID_HANDLE_VALUE)
        CloseHandle(o);
    CHECK_EQ(file_size(h), 65536);
    CHECK_EQ(v[0], 'a');
    CHECK_EQ(v[65535], 'z');
    /* Growing is allowed. */
    d.QuadPart = 131072;
    CHECK(SetFilePointerEx(h, d, NULL, FILE_BEGIN));
    CHECK(SetEndOfFile(h));
    CHECK_EQ(file_size(h), 131072);

    CHECK(UnmapViewOfFile(v));
    CHECK(CloseHandle(m));
    d.QuadPart = 100;
    CHECK(SetFilePointerEx(h, d, NULL, FILE_BEGIN));
    CHECK(SetEndOfFile(h));
    CHECK_EQ(file_size(h), 100);
    CloseHandle(h);
    remove(path);
}

int main(void)
{
    at_init();
    test_files();
    test_directory();
    test_user_mapped();
    return wmt_report();
}
