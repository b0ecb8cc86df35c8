/*
 * ntfile.c - the NT file calls under the Win32 file API: NtCreateFile's dispositions and what
 * IoStatusBlock.Information reports, NtReadFile / NtWriteFile (file position, explicit
 * offsets, the end of the file, handle access), NtQueryInformationFile and
 * NtSetInformationFile.  Object names here are Linux paths, so the checks are Linux-only.
 */
#include "apitest.h"

#ifndef _WIN32
#include "winternl.h"
#endif

#include <stdio.h>

#ifndef _WIN32
/* Statuses compared as 32-bit values (winnt.h types some STATUS_ codes DWORD). */
#define CHECK_ST(call, st) CHECK_EQ((ULONG)(call), (ULONG)(st))

static NTSTATUS create(HANDLE *h, const char *path, ACCESS_MASK access, ULONG disposition,
                       ULONG options, IO_STATUS_BLOCK *io)
{
    WCHAR w[400];
    size_t n = 0;
    for (; path[n] && n < 399; n++)
        w[n] = (WCHAR)(unsigned char)path[n];
    UNICODE_STRING name = { (USHORT)(n * 2), (USHORT)(n * 2), w };
    OBJECT_ATTRIBUTES oa = { sizeof(oa), NULL, &name, 0, NULL, NULL };
    io->Information = 0xdead;
    *h = NULL;
    return NtCreateFile(h, access, &oa, io, NULL, 0, FILE_SHARE_READ | FILE_SHARE_WRITE,
                        disposition, options, NULL, 0);
}

static void test_dispositions(void)
{
    char path[400];
    IO_STATUS_BLOCK io;
    HANDLE h;

    at_tmp_path(path, sizeof(path), "ntfile");
    remove(path);
    CHECK_ST(create(&h, path, GENERIC_READ, FILE_OPEN, 0, &io), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_ST(create(&h, path, GENERIC_WRITE, FILE_OVERWRITE, 0, &io), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_ST(create(&h, path, GENERIC_READ, 6, 0, &io), STATUS_INVALID_PARAMETER);
    CHECK_ST(create(&h, path, GENERIC_READ, FILE_OPEN,
                    FILE_DIRECTORY_FILE | FILE_NON_DIRECTORY_FILE, &io),
             STATUS_INVALID_PARAMETER);

    CHECK_ST(create(&h, path, GENERIC_READ | GENERIC_WRITE, FILE_CREATE, 0, &io), STATUS_SUCCESS);
    CHECK_EQ(io.Information, FILE_CREATED);
    CHECK(NtClose(h) == STATUS_SUCCESS);
    CHECK_ST(create(&h, path, GENERIC_READ, FILE_CREATE, 0, &io), STATUS_OBJECT_NAME_COLLISION);
    CHECK_ST(create(&h, path, GENERIC_READ, FILE_OPEN_IF, 0, &io), STATUS_SUCCESS);
    CHECK_EQ(io.Information, FILE_OPENED);
    NtClose(h);
    CHECK_ST(create(&h, path, GENERIC_WRITE, FILE_OVERWRITE_IF, 0, &io), STATUS_SUCCESS);
    CHECK_EQ(io.Information, FILE_OVERWRITTEN);
    NtClose(h);
    CHECK_ST(create(&h, path, GENERIC_WRITE, FILE_SUPERSEDE, 0, &io), STATUS_SUCCESS);
    CHECK_EQ(io.Information, FILE_SUPERSEDED);
    NtClose(h);
    CHECK_ST(create(&h, path, GENERIC_READ, FILE_OPEN, FILE_DIRECTORY_FILE, &io),
             STATUS_NOT_A_DIRECTORY);
    remove(path);
    CHECK_ST(create(&h, path, GENERIC_WRITE, FILE_OVERWRITE_IF, 0, &io), STATUS_SUCCESS);
    CHECK_EQ(io.Information, FILE_CREATED);
    NtClose(h);
    remove(path);

    /* A missing directory on the way, a directory itself. */
    char deeper[450];
    snprintf(deeper, sizeof(deeper), "%s-nodir/file", path);
    CHECK_ST(create(&h, deeper, GENERIC_READ, FILE_OPEN, 0, &io), STATUS_OBJECT_PATH_NOT_FOUND);
    CHECK_ST(create(&h, "/tmp", GENERIC_READ, FILE_OPEN, FILE_NON_DIRECTORY_FILE, &io),
             STATUS_FILE_IS_A_DIRECTORY);
    CHECK_ST(create(&h, "/tmp", GENERIC_READ, FILE_OPEN, FILE_DIRECTORY_FILE, &io), STATUS_SUCCESS);
    NtClose(h);
    /* The NT prefix \??\ is accepted. */
    CHECK_ST(create(&h, "\\??\\/tmp", GENERIC_READ, FILE_OPEN, 0, &io), STATUS_SUCCESS);
    NtClose(h);
    CHECK_ST(NtCreateFile(&h, GENERIC_READ, NULL, &io, NULL, 0, 0, FILE_OPEN, 0, NULL, 0),
             STATUS_ACCESS_VIOLATION);
}

static void test_read_write(void)
{
    char path[400], buf[16];
    IO_STATUS_BLOCK io;
    HANDLE h, r;
    LARGE_INTEGER off;
    FILE_POSITION_INFORMATION pos;
    FILE_STANDARD_INFORMATION std;
    FILE_END_OF_FILE_INFORMATION eof;

    at_tmp_path(path, sizeof(path), "ntfile-rw");
    remove(path);
    REQUIRE_VOID(create(&h, path, GENERIC_READ | GENERIC_WRITE, FILE_CREATE, 0, &io) == 0);
    CHECK_ST(NtWriteFile(h, NULL, NULL, NULL, &io, "hello", 5, NULL, NULL), STATUS_SUCCESS);
    CHECK_EQ(io.Information, 5);
    /* An explicit offset writes there, and the position follows it. */
    off.QuadPart = 10;
    CHECK_ST(NtWriteFile(h, NULL, NULL, NULL, &io, "world", 5, &off, NULL), STATUS_SUCCESS);
    CHECK_ST(NtQueryInformationFile(h, &io, &pos, sizeof(pos), FilePositionInformation),
             STATUS_SUCCESS);
    CHECK_EQ(pos.CurrentByteOffset.QuadPart, 15);
    CHECK_EQ(io.Information, sizeof(pos));
    CHECK_ST(NtQueryInformationFile(h, &io, &std, sizeof(std), FileStandardInformation),
             STATUS_SUCCESS);
    CHECK_EQ(std.EndOfFile.QuadPart, 15);
    CHECK_EQ(std.Directory, FALSE);
    CHECK_ST(NtQueryInformationFile(h, &io, &std, sizeof(std) - 1, FileStandardInformation),
             STATUS_INFO_LENGTH_MISMATCH);
    CHECK_ST(NtQueryInformationFile(h, &io, &std, sizeof(std), (FILE_INFORMATION_CLASS)1000),
             STATUS_INVALID_INFO_CLASS);

    /* Reading: at an offset, then at the end of the file. */
    off.QuadPart = 10;
    memset(buf, 0, sizeof(buf));
    CHECK_ST(NtReadFile(h, NULL, NULL, NULL, &io, buf, sizeof(buf), &off, NULL), STATUS_SUCCESS);
    CHECK_EQ(io.Information, 5);
    CHECK(memcmp(buf, "world", 5) == 0);
    CHECK_ST(NtReadFile(h, NULL, NULL, NULL, &io, buf, sizeof(buf), NULL, NULL),
             STATUS_END_OF_FILE);
    CHECK_EQ(io.Information, 0);
    pos.CurrentByteOffset.QuadPart = 0;
    CHECK_ST(NtSetInformationFile(h, &io, &pos, sizeof(pos), FilePositionInformation),
             STATUS_SUCCESS);
    CHECK_ST(NtReadFile(h, NULL, NULL, NULL, &io, buf, 5, NULL, NULL), STATUS_SUCCESS);
    CHECK(memcmp(buf, "hello", 5) == 0);
    pos.CurrentByteOffset.QuadPart = -1;
    CHECK_ST(NtSetInformationFile(h, &io, &pos, sizeof(pos), FilePositionInformation),
             STATUS_INVALID_PARAMETER);
    eof.EndOfFile.QuadPart = 3;
    CHECK_ST(NtSetInformationFile(h, &io, &eof, sizeof(eof), FileEndOfFileInformation),
             STATUS_SUCCESS);
    CHECK_ST(NtFlushBuffersFile(h, &io), STATUS_SUCCESS);

    /* What the handle may not do, it does not. */
    REQUIRE_VOID(create(&r, path, GENERIC_READ, FILE_OPEN, 0, &io) == 0);
    CHECK_ST(NtWriteFile(r, NULL, NULL, NULL, &io, "x", 1, NULL, NULL), STATUS_ACCESS_DENIED);
    CHECK_ST(NtSetInformationFile(r, &io, &eof, sizeof(eof), FileEndOfFileInformation),
             STATUS_ACCESS_DENIED);
    CHECK_ST(NtFlushBuffersFile(r, &io), STATUS_ACCESS_DENIED);
    NtClose(r);
    REQUIRE_VOID(create(&r, path, GENERIC_WRITE, FILE_OPEN, 0, &io) == 0);
    CHECK_ST(NtReadFile(r, NULL, NULL, NULL, &io, buf, 1, NULL, NULL), STATUS_ACCESS_DENIED);
    NtClose(r);
    /* Append-only: every write lands at the end. */
    REQUIRE_VOID(create(&r, path, FILE_APPEND_DATA | SYNCHRONIZE, FILE_OPEN, 0, &io) == 0);
    off.QuadPart = 0;
    CHECK_ST(NtWriteFile(r, NULL, NULL, NULL, &io, "XY", 2, &off, NULL), STATUS_SUCCESS);
    NtClose(r);
    CHECK_ST(NtQueryInformationFile(h, &io, &std, sizeof(std), FileStandardInformation),
             STATUS_SUCCESS);
    CHECK_EQ(std.EndOfFile.QuadPart, 5);
    off.QuadPart = 0;
    CHECK_ST(NtReadFile(h, NULL, NULL, NULL, &io, buf, 5, &off, NULL), STATUS_SUCCESS);
    CHECK(memcmp(buf, "helXY", 5) == 0);
    CHECK_ST(NtReadFile((HANDLE)(ULONG_PTR)0x1234, NULL, NULL, NULL, &io, buf, 1, NULL, NULL),
             STATUS_INVALID_HANDLE);
    NtClose(h);
    remove(path);
}
#endif

int main(void)
{
    at_init();
#ifndef _WIN32
    test_dispositions();
    test_read_write();
#endif
    return wmt_report();
}
