/*
 * fileapi.c - CreateFileA/W and the few file calls a mapping needs (GetFileSizeEx,
 * SetFilePointerEx, SetEndOfFile, FlushFileBuffers), plus the CRT's _get_osfhandle /
 * _open_osfhandle: one-liners over the NT file calls (io/file.c), as kernelbase is over ntdll.
 */
#include "win32.h"

#include <errno.h>

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
