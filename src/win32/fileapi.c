/*
 * fileapi.c - CreateFileA/W and the few file calls a mapping needs (GetFileSizeEx,
 * SetFilePointerEx, SetEndOfFile, FlushFileBuffers), ReadFile / WriteFile, DeleteFileA/W,
 * GetTempPathA/W and GetTempFileNameA/W, plus the CRT's _get_osfhandle / _open_osfhandle:
 * one-liners over the NT file calls (io/file.c), as kernelbase is over ntdll.
 */
#include "win32.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h" /* the public one: _get_osfhandle, _open_osfhandle */
#include "io/io.h"
#include "rtl/rtl.h"

/* Paths longer than this (in UTF-16 units) are refused with ERROR_INVALID_NAME... as Linux
 * refuses paths past PATH_MAX. */
#define PATH_UNITS 4096

/* CreateFileW: open or create by the creation disposition; on success the last error is
 * ERROR_ALREADY_EXISTS when CREATE_ALWAYS / OPEN_ALWAYS found the file, else 0. */
WINMEM_API HANDLE WINAPI CreateFileW(LPCWSTR path, DWORD access, DWORD share,
                                     LPSECURITY_ATTRIBUTES sa, DWORD disposition, DWORD attrs,
                                     HANDLE template_file)
{
    static const ULONG nt_disposition[] = { 0,         FILE_CREATE,  FILE_OVERWRITE_IF,
                                            FILE_OPEN, FILE_OPEN_IF, FILE_OVERWRITE };
    IO_STATUS_BLOCK io = { .Information = 0 };
    HANDLE h = INVALID_HANDLE_VALUE;
    size_t n;

    (void)sa, (void)template_file;
    if (!path) {
        wm_win32_error(ERROR_PATH_NOT_FOUND);
        return h;
    }
    if (disposition < CREATE_NEW || disposition > TRUNCATE_EXISTING ||
        (disposition == TRUNCATE_EXISTING && !(access & (GENERIC_WRITE | GENERIC_ALL)))) {
        wm_win32_error(ERROR_INVALID_PARAMETER);
        return h;
    }
    if ((n = wm_unicode_len(path)) >= PATH_UNITS) {
        wm_win32_error(ERROR_INVALID_NAME);
        return h;
    }
    UNICODE_STRING name = { (USHORT)(n * sizeof(WCHAR)), (USHORT)(n * sizeof(WCHAR)), (PWSTR)path };
    OBJECT_ATTRIBUTES oa = { sizeof(oa), NULL, &name, 0, NULL, NULL };
    /* A directory opens only for backup semantics, as on Windows. */
    ULONG options = FILE_SYNCHRONOUS_IO_NONALERT |
                    ((attrs & FILE_FLAG_BACKUP_SEMANTICS) ? FILE_OPEN_FOR_BACKUP_INTENT
                                                          : FILE_NON_DIRECTORY_FILE);
    NTSTATUS st =
        NtCreateFile(&h, access | SYNCHRONIZE | FILE_READ_ATTRIBUTES, &oa, &io, NULL,
                     attrs & 0xffff, share, nt_disposition[disposition], options, NULL, 0);
    if (st == STATUS_OBJECT_NAME_COLLISION) {
        /* CREATE_NEW's own error, not the status's generic ERROR_ALREADY_EXISTS. */
        wm_win32_error(ERROR_FILE_EXISTS);
        return INVALID_HANDLE_VALUE;
    }
    if (!wm_win32_status(st))
        return INVALID_HANDLE_VALUE;
    wm_win32_error((disposition == CREATE_ALWAYS && io.Information == FILE_OVERWRITTEN) ||
                           (disposition == OPEN_ALWAYS && io.Information == FILE_OPENED)
                       ? ERROR_ALREADY_EXISTS
                       : ERROR_SUCCESS);
    return h;
}

WINMEM_API HANDLE WINAPI CreateFileA(LPCSTR path, DWORD access, DWORD share,
                                     LPSECURITY_ATTRIBUTES sa, DWORD disposition, DWORD attrs,
                                     HANDLE template_file)
{
    WCHAR buf[PATH_UNITS];
    if (path && wm_unicode_from_utf8(path, buf, PATH_UNITS) < 0) {
        wm_win32_error(ERROR_INVALID_NAME);
        return INVALID_HANDLE_VALUE;
    }
    return CreateFileW(path ? buf : NULL, access, share, sa, disposition, attrs, template_file);
}

WINMEM_API BOOL WINAPI GetFileSizeEx(HANDLE h, PLARGE_INTEGER size)
{
    FILE_STANDARD_INFORMATION info;
    IO_STATUS_BLOCK io;

    if (!wm_win32_status(
            NtQueryInformationFile(h, &io, &info, sizeof(info), FileStandardInformation)))
        return FALSE;
    *size = info.EndOfFile;
    return TRUE;
}

WINMEM_API BOOL WINAPI SetFilePointerEx(HANDLE h, LARGE_INTEGER dist, PLARGE_INTEGER newpos,
                                        DWORD method)
{
    FILE_POSITION_INFORMATION pos;
    FILE_STANDARD_INFORMATION std;
    IO_STATUS_BLOCK io;
    NTSTATUS st = STATUS_SUCCESS;
    LONGLONG base = 0;

    switch (method) {
    case FILE_BEGIN:
        break;
    case FILE_CURRENT:
        st = NtQueryInformationFile(h, &io, &pos, sizeof(pos), FilePositionInformation);
        base = pos.CurrentByteOffset.QuadPart;
        break;
    case FILE_END:
        st = NtQueryInformationFile(h, &io, &std, sizeof(std), FileStandardInformation);
        base = std.EndOfFile.QuadPart;
        break;
    default:
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    }
    if (!wm_win32_status(st))
        return FALSE;
    pos.CurrentByteOffset.QuadPart = base + dist.QuadPart;
    if (pos.CurrentByteOffset.QuadPart < 0)
        return wm_win32_error(ERROR_NEGATIVE_SEEK);
    if (!wm_win32_status(NtSetInformationFile(h, &io, &pos, sizeof(pos), FilePositionInformation)))
        return FALSE;
    if (newpos)
        *newpos = pos.CurrentByteOffset;
    return TRUE;
}

/* SetEndOfFile: the file ends at the current file pointer. */
WINMEM_API BOOL WINAPI SetEndOfFile(HANDLE h)
{
    FILE_POSITION_INFORMATION pos;
    FILE_END_OF_FILE_INFORMATION eof;
    IO_STATUS_BLOCK io;

    if (!wm_win32_status(
            NtQueryInformationFile(h, &io, &pos, sizeof(pos), FilePositionInformation)))
        return FALSE;
    eof.EndOfFile = pos.CurrentByteOffset;
    return wm_win32_status(
        NtSetInformationFile(h, &io, &eof, sizeof(eof), FileEndOfFileInformation));
}

/* FlushFileBuffers: what was written (through the file or a view flushed with
 * FlushViewOfFile) is on disk when this returns. */
WINMEM_API BOOL WINAPI FlushFileBuffers(HANDLE h)
{
    IO_STATUS_BLOCK io;
    return wm_win32_status(NtFlushBuffersFile(h, &io));
}

/* The byte offset an OVERLAPPED names (NULL: the file position). */
static PLARGE_INTEGER overlapped_offset(const OVERLAPPED *ov, LARGE_INTEGER *off)
{
    if (!ov)
        return NULL;
    off->u.LowPart = ov->Offset;
    off->u.HighPart = (LONG)ov->OffsetHigh;
    return off;
}

/* ReadFile: at the end of the file a synchronous read succeeds with 0 bytes; one at an
 * OVERLAPPED offset fails with ERROR_HANDLE_EOF, as Windows reports it. */
WINMEM_API BOOL WINAPI ReadFile(HANDLE h, LPVOID buf, DWORD len, LPDWORD done, LPOVERLAPPED ov)
{
    IO_STATUS_BLOCK io = { .Information = 0 };
    LARGE_INTEGER off;

    if (done)
        *done = 0;
    NTSTATUS st = NtReadFile(h, NULL, NULL, NULL, &io, buf, len, overlapped_offset(ov, &off), NULL);
    if (ov) {
        ov->Internal = (ULONG_PTR)(ULONG)st;
        ov->InternalHigh = io.Information;
    }
    if (st == STATUS_END_OF_FILE && !ov)
        st = STATUS_SUCCESS;
    if (!wm_win32_status(st))
        return FALSE;
    if (done)
        *done = (DWORD)io.Information;
    return TRUE;
}

/* WriteFile: an OVERLAPPED offset of 0xFFFFFFFF:0xFFFFFFFF writes at the end of the file. */
WINMEM_API BOOL WINAPI WriteFile(HANDLE h, LPCVOID buf, DWORD len, LPDWORD done, LPOVERLAPPED ov)
{
    IO_STATUS_BLOCK io = { .Information = 0 };
    LARGE_INTEGER off;

    if (done)
        *done = 0;
    NTSTATUS st =
        NtWriteFile(h, NULL, NULL, NULL, &io, buf, len, overlapped_offset(ov, &off), NULL);
    if (ov) {
        ov->Internal = (ULONG_PTR)(ULONG)st;
        ov->InternalHigh = io.Information;
    }
    if (!wm_win32_status(st))
        return FALSE;
    if (done)
        *done = (DWORD)io.Information;
    return TRUE;
}

/* DeleteFile: ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND (a directory on the way is missing),
 * ERROR_ACCESS_DENIED (a directory, or no permission). */
WINMEM_API BOOL WINAPI DeleteFileW(LPCWSTR path)
{
    size_t n;

    if (!path)
        return wm_win32_error(ERROR_PATH_NOT_FOUND);
    if ((n = wm_unicode_len(path)) >= PATH_UNITS)
        return wm_win32_error(ERROR_INVALID_NAME);
    if (n == 0)
        return wm_win32_error(ERROR_PATH_NOT_FOUND);
    UNICODE_STRING name = { (USHORT)(n * sizeof(WCHAR)), (USHORT)(n * sizeof(WCHAR)), (PWSTR)path };
    OBJECT_ATTRIBUTES oa = { sizeof(oa), NULL, &name, 0, NULL, NULL };
    return wm_win32_status(wm_file_delete(&oa));
}

WINMEM_API BOOL WINAPI DeleteFileA(LPCSTR path)
{
    WCHAR buf[PATH_UNITS];
    if (path && wm_unicode_from_utf8(path, buf, PATH_UNITS) < 0)
        return wm_win32_error(ERROR_INVALID_NAME);
    return DeleteFileW(path ? buf : NULL);
}

/* The temporary directory, '/'-terminated, in UTF-8.  The environment as Windows reads it
 * (TMP, then TEMP), then Linux's TMPDIR, then /tmp; not checked to exist, as on Windows. */
static size_t temp_path(char *out, size_t len)
{
    static const char *const vars[] = { "TMP", "TEMP", "TMPDIR" };
    const char *dir = NULL;

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && !dir; i++) {
        dir = getenv(vars[i]);
        if (dir && !*dir)
            dir = NULL;
    }
    if (!dir)
        dir = "/tmp";
    size_t n = strlen(dir);
    bool slash = n > 0 && dir[n - 1] == '/';
    if (n + 2 > len)
        return 0;
    memcpy(out, dir, n);
    if (!slash)
        out[n++] = '/';
    out[n] = 0;
    return n;
}

/* GetTempPath: the length copied (without the NUL), or when the buffer is too small the size
 * it needs (with the NUL), leaving it alone. */
WINMEM_API DWORD WINAPI GetTempPathA(DWORD len, LPSTR buf)
{
    char path[PATH_UNITS * 3];
    size_t n = temp_path(path, sizeof(path));

    if (!n)
        return wm_win32_error(ERROR_FILENAME_EXCED_RANGE), 0;
    if (!buf || len < n + 1)
        return (DWORD)n + 1;
    memcpy(buf, path, n + 1);
    return (DWORD)n;
}

WINMEM_API DWORD WINAPI GetTempPathW(DWORD len, LPWSTR buf)
{
    char path[PATH_UNITS * 3];
    WCHAR w[PATH_UNITS];
    long n;

    if (!temp_path(path, sizeof(path)) || (n = wm_unicode_from_utf8(path, w, PATH_UNITS)) < 0)
        return wm_win32_error(ERROR_FILENAME_EXCED_RANGE), 0;
    if (!buf || len < (DWORD)n + 1)
        return (DWORD)n + 1;
    memcpy(buf, w, ((size_t)n + 1) * sizeof(WCHAR));
    return (DWORD)n;
}

/* GetTempFileName in UTF-8: <path>/<up to 3 prefix characters><unique, hex>.tmp.  unique 0:
 * the first free number from one taken from the clock, the file created empty (CREATE_NEW, so
 * two processes never get the same name); otherwise only the name, from its low 16 bits,
 * which are also what is returned.
 * path_units: the path's length in characters, which Windows limits to MAX_PATH - 14. */
static UINT temp_file_name(const char *path, size_t path_units, const char *prefix,
                           size_t prefix_bytes, UINT unique, char *out, size_t outlen)
{
    if (!path)
        return wm_win32_error(ERROR_INVALID_PARAMETER), 0;
    if (path_units > MAX_PATH - 14)
        return wm_win32_error(ERROR_BUFFER_OVERFLOW), 0;
    size_t n = strlen(path);
    const char *sep = n && (path[n - 1] == '/' || path[n - 1] == '\\') ? "" : "/";
    UINT num = unique ? unique & 0xffff : (GetTickCount() & 0xffff);
    UINT given = num;

    for (UINT tries = 0; tries < 0x10000; tries++) {
        if (num == 0)
            num = 1; /* 0 means "choose one" */
        if (snprintf(out, outlen, "%s%s%.*s%X.tmp", path, sep, (int)prefix_bytes, prefix, num) >=
            (int)outlen)
            return wm_win32_error(ERROR_BUFFER_OVERFLOW), 0;
        if (unique)
            return given; /* the low 16 bits, as Wine returns them */
        HANDLE h =
            CreateFileA(out, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            CloseHandle(h);
            wm_win32_error(ERROR_SUCCESS);
            return num;
        }
        if (GetLastError() == ERROR_PATH_NOT_FOUND || GetLastError() == ERROR_FILE_NOT_FOUND)
            return wm_win32_error(ERROR_DIRECTORY), 0; /* what Windows says of a missing one */
        if (GetLastError() != ERROR_FILE_EXISTS && GetLastError() != ERROR_ALREADY_EXISTS)
            return 0; /* CreateFile's error: access denied, disk full, ... */
        num = (num + 1) & 0xffff;
    }
    return wm_win32_error(ERROR_FILE_EXISTS), 0;
}

/* The first n characters of a UTF-8 string, in bytes. */
static size_t utf8_prefix(const char *s, size_t n)
{
    size_t b = 0;
    while (s[b] && n) {
        b++;
        while ((s[b] & 0xc0) == 0x80)
            b++;
        n--;
    }
    return b;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += (*s & 0xc0) != 0x80;
    return n;
}

/* The name is written to a buffer of MAX_PATH characters, as Microsoft says it must be. */
WINMEM_API UINT WINAPI GetTempFileNameA(LPCSTR path, LPCSTR prefix, UINT unique, LPSTR out)
{
    if (!prefix)
        prefix = "";
    return temp_file_name(path, path ? utf8_chars(path) : 0, prefix, utf8_prefix(prefix, 3), unique,
                          out, MAX_PATH);
}

WINMEM_API UINT WINAPI GetTempFileNameW(LPCWSTR path, LPCWSTR prefix, UINT unique, LPWSTR out)
{
    char p8[PATH_UNITS * 3], pre8[16], name[PATH_UNITS * 3];
    size_t units = path ? wm_unicode_len(path) : 0;
    size_t pre_units = prefix ? wm_unicode_len(prefix) : 0;

    if (pre_units > 3)
        pre_units = 3;
    if (path && units > MAX_PATH - 14)
        return wm_win32_error(ERROR_BUFFER_OVERFLOW), 0;
    if ((path && !wm_unicode_to_utf8(path, units, p8, sizeof(p8))) ||
        !wm_unicode_to_utf8(prefix ? prefix : (LPCWSTR)u"", pre_units, pre8, sizeof(pre8)))
        return wm_win32_error(ERROR_INVALID_NAME), 0;
    UINT r =
        temp_file_name(path ? p8 : NULL, units, pre8, strlen(pre8), unique, name, sizeof(name));
    if (r && wm_unicode_from_utf8(name, out, MAX_PATH) < 0)
        return wm_win32_error(ERROR_BUFFER_OVERFLOW), 0;
    return r;
}

/* _get_osfhandle: the HANDLE of a descriptor the caller keeps owning, the same one for as
 * long as the descriptor is open. */
WINMEM_API intptr_t _get_osfhandle(int fd)
{
    HANDLE h;
    if (!wm_win32_status(wm_file_handle_for_fd(fd, &h))) {
        errno = EBADF; /* what the C runtime reports */
        return (intptr_t)INVALID_HANDLE_VALUE;
    }
    return (intptr_t)h;
}

/* _open_osfhandle: a descriptor that now owns the file; the HANDLE is consumed. */
WINMEM_API int _open_osfhandle(intptr_t handle, int flags)
{
    int fd;
    (void)flags;
    if (!wm_win32_status(wm_file_fd_of_handle((HANDLE)handle, &fd)))
        return -1;
    NtClose((HANDLE)handle);
    return fd;
}
