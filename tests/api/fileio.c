/*
 * fileio.c - the file calls ports use beside their memory code: GetTempPath (a directory
 * ending in a separator; too small a buffer gets the size it needs), GetTempFileName (with 0,
 * a new empty file per call; with a number, only the name, from its low 16 bits; a path past
 * MAX_PATH - 14 characters is ERROR_BUFFER_OVERFLOW, a missing directory ERROR_DIRECTORY), ReadFile
 * / WriteFile at the file position and at an OVERLAPPED offset (the end of the file: 0 bytes
 * synchronously, ERROR_HANDLE_EOF at an offset), and DeleteFile's errors.  Plain Win32 C: also
 * builds with mingw-w64.
 */
#include "apitest.h"

#ifdef _WIN32
#define W_(s) L##s
#define SEP '\\'
#else
#define W_(s) u##s
#define SEP '/'
#endif

static char tmp[MAX_PATH + 1];

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    if (n < t)
        return 0;
    for (size_t i = 0; i < t; i++) {
        char a = s[n - t + i], b = tail[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a + 32);
        if (a != b)
            return 0;
    }
    return 1;
}

static void test_temp_path(void)
{
    WCHAR w[MAX_PATH + 1];
    char small[2];

    DWORD n = GetTempPathA(sizeof(tmp), tmp);
    CHECK(n > 0 && n < sizeof(tmp));
    CHECK_EQ(strlen(tmp), n);
    CHECK(n > 0 && tmp[n - 1] == SEP);
    /* Too small: the size needed, with the NUL. */
    CHECK_EQ(GetTempPathA(sizeof(small), small), n + 1);
    CHECK_EQ(GetTempPathA(0, NULL), n + 1);
    CHECK_EQ(GetTempPathW(MAX_PATH + 1, w), n);
    CHECK(w[n - 1] == SEP && w[n] == 0);
}

static void test_temp_file_name(void)
{
    char a[MAX_PATH], b[MAX_PATH], named[MAX_PATH], longpath[251];

    UINT ua = GetTempFileNameA(tmp, "wmt", 0, a);
    UINT ub = GetTempFileNameA(tmp, "wmt", 0, b);
    CHECK(ua != 0 && ub != 0 && ua != ub);
    CHECK(strcmp(a, b) != 0);
    CHECK(strncmp(a, tmp, strlen(tmp)) == 0);
    CHECK(strncmp(a + strlen(tmp), "wmt", 3) == 0);
    CHECK(ends_with(a, ".tmp"));
    /* Made, and empty. */
    HANDLE h = CreateFileA(a, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    LARGE_INTEGER size;
    CHECK(GetFileSizeEx(h, &size) && size.QuadPart == 0);
    CHECK(CloseHandle(h));
    CHECK(DeleteFileA(a));
    CHECK(DeleteFileA(b));

    /* A number of its own: only the name, from the low 16 bits, the number given back; at
     * most three characters of the prefix. (The number given back is those 16 bits, as Wine
     * returns it: Microsoft's "that same number" does not say which.) */
    CHECK_EQ(GetTempFileNameA(tmp, "wmtprefix", 0x12abc, named), 0x2abc);
    CHECK(ends_with(named, "wmt2abc.tmp"));
    CHECK_FAILS(DeleteFileA(named), ERROR_FILE_NOT_FOUND);

    WCHAR wtmp[MAX_PATH + 1], wname[MAX_PATH];
    CHECK(GetTempPathW(MAX_PATH + 1, wtmp) > 0);
    UINT uw = GetTempFileNameW(wtmp, W_("wmw"), 0, wname);
    CHECK(uw != 0);
    CHECK(DeleteFileW(wname));
    CHECK_FAILS(DeleteFileW(wname), ERROR_FILE_NOT_FOUND);

    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = 0;
#ifndef _WIN32 /* Microsoft documents the limit; Wine 8 does not check it */
    CHECK_FAILS(GetTempFileNameA(longpath, "wmt", 0, named), ERROR_BUFFER_OVERFLOW);
#endif
    /* No such directory: ERROR_DIRECTORY, as Windows reports a missing temporary directory. */
    char missing[MAX_PATH * 2];
    snprintf(missing, sizeof(missing), "%swinmem-no-such-dir", tmp);
    CHECK_FAILS(GetTempFileNameA(missing, "wmt", 0, named), ERROR_DIRECTORY);
}

static void test_read_write(void)
{
    char name[MAX_PATH], buf[64];
    DWORD done = 0xdeadbeef;
    OVERLAPPED ov;

    REQUIRE_VOID(GetTempFileNameA(tmp, "wmt", 0, name) != 0);
    HANDLE h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    REQUIRE_VOID(h != INVALID_HANDLE_VALUE);

    CHECK(WriteFile(h, "hello world", 11, &done, NULL));
    CHECK_EQ(done, 11);
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    CHECK(SetFilePointerEx(h, zero, NULL, FILE_BEGIN));
    memset(buf, 0, sizeof(buf));
    CHECK(ReadFile(h, buf, sizeof(buf), &done, NULL));
    CHECK_EQ(done, 11);
    CHECK(memcmp(buf, "hello world", 11) == 0);
    /* At the end: success, nothing read. */
    done = 0xdeadbeef;
    CHECK(ReadFile(h, buf, sizeof(buf), &done, NULL));
    CHECK_EQ(done, 0);
    /* A zero-byte write is a successful no-op. */
    CHECK(WriteFile(h, buf, 0, &done, NULL));
    CHECK_EQ(done, 0);

    /* At an OVERLAPPED offset. */
    memset(&ov, 0, sizeof(ov));
    ov.Offset = 6;
    memset(buf, 0, sizeof(buf));
    CHECK(ReadFile(h, buf, sizeof(buf), &done, &ov));
    CHECK_EQ(done, 5);
    CHECK(memcmp(buf, "world", 5) == 0);
    CHECK_EQ(ov.InternalHigh, 5);
    memset(&ov, 0, sizeof(ov));
    CHECK(WriteFile(h, "HELLO", 5, &done, &ov));
    CHECK_EQ(done, 5);
    memset(&ov, 0, sizeof(ov));
    ov.Offset = 100;
    done = 0xdeadbeef;
    CHECK_FAILS(ReadFile(h, buf, sizeof(buf), &done, &ov), ERROR_HANDLE_EOF);
    CHECK_EQ(done, 0);
    memset(&ov, 0, sizeof(ov));
    CHECK(ReadFile(h, buf, 11, &done, &ov));
    CHECK(memcmp(buf, "HELLO world", 11) == 0);
    /* No buffer (here at the end of the file, where nothing would be read). */
    CHECK_FAILS(ReadFile(h, NULL, 5, &done, NULL), ERROR_NOACCESS);
    CHECK_FAILS(WriteFile(h, NULL, 5, &done, NULL), ERROR_INVALID_USER_BUFFER);
    CHECK(CloseHandle(h));

    /* Access rights and handles. */
    h = CreateFileA(name, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK_FAILS(WriteFile(h, "x", 1, &done, NULL), ERROR_ACCESS_DENIED);
    CHECK(CloseHandle(h));
    CHECK_FAILS(ReadFile(h, buf, 1, &done, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(WriteFile(h, buf, 1, &done, NULL), ERROR_INVALID_HANDLE);

    CHECK(DeleteFileA(name));
}

static void test_delete_errors(void)
{
    char path[MAX_PATH * 2];

    snprintf(path, sizeof(path), "%swinmem-no-such-dir%c%s", tmp, SEP, "file.tmp");
    CHECK_FAILS(DeleteFileA(path), ERROR_PATH_NOT_FOUND);
    snprintf(path, sizeof(path), "%swinmem-no-such-file.tmp", tmp);
    CHECK_FAILS(DeleteFileA(path), ERROR_FILE_NOT_FOUND);
    /* A directory is not a file. */
    CHECK_FAILS(DeleteFileA(tmp), ERROR_ACCESS_DENIED);
}

int main(void)
{
    test_temp_path();
    test_temp_file_name();
    test_read_write();
    test_delete_errors();
    return wmt_report();
}
