/*
 * fileapi.c - CreateFileA/W and the few file calls a mapping needs (GetFileSizeEx,
 * SetFilePointerEx, SetEndOfFile, FlushFileBuffers), plus the CRT's _get_osfhandle /
 * _open_osfhandle.  A file HANDLE is a reference-counted descriptor (nt/handle.c).
 */
#include "win32.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "nt/nt.h"

static void file_destroy(struct wm_object *o)
{
    struct wm_file *f = (struct wm_file *)o;
    if (f->owns_fd)
        wm_os_close(f->fd);
    free(f);
}

static HANDLE new_file_handle(int fd, ACCESS_MASK access, bool owns)
{
    struct wm_file *f = calloc(1, sizeof(*f));
    HANDLE h = INVALID_HANDLE_VALUE;

    if (!f) {
        wm_win32_status(STATUS_NO_MEMORY);
        return h;
    }
    atomic_init(&f->obj.refs, 0);
    f->obj.type = WM_OBJ_FILE;
    f->obj.destroy = file_destroy;
    f->fd = fd;
    f->access = access;
    f->owns_fd = owns;
    if (!wm_win32_status(wm_handle_create(&f->obj, access, &h))) {
        free(f);
        return INVALID_HANDLE_VALUE;
    }
    return h;
}

/* Windows' error for an open(2) failure. */
static DWORD open_error(int err, const char *path)
{
    switch (err) {
    case ENOENT: {
        /* Missing file, or missing directory on the way to it. */
        const char *slash = strrchr(path, '/');
        if (slash && slash != path) {
            char dir[4096];
            size_t n = (size_t)(slash - path);
            if (n < sizeof(dir)) {
                memcpy(dir, path, n);
                dir[n] = 0;
                if (access(dir, F_OK) != 0)
                    return ERROR_PATH_NOT_FOUND;
            }
        }
        return ERROR_FILE_NOT_FOUND;
    }
    case ENOTDIR:
        return ERROR_PATH_NOT_FOUND;
    case EEXIST:
        return ERROR_FILE_EXISTS;
    case EACCES:
    case EPERM:
    case EISDIR:
    case EROFS:
        return ERROR_ACCESS_DENIED;
    case ENAMETOOLONG:
        return ERROR_INVALID_NAME;
    case ENOMEM:
        return ERROR_NOT_ENOUGH_MEMORY;
    default:
        return ERROR_GEN_FAILURE;
    }
}

static bool access_ok_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* CreateFileA: open or create a file by the creation disposition; on success the last error
 * is ERROR_ALREADY_EXISTS when CREATE_ALWAYS / OPEN_ALWAYS found the file, else 0. */
WINMEM_API HANDLE WINAPI CreateFileA(LPCSTR path, DWORD access, DWORD share,
                                     LPSECURITY_ATTRIBUTES sa, DWORD disposition, DWORD attrs,
                                     HANDLE template_file)
{
    int flags, fd;
    bool existed;

    (void)share, (void)sa, (void)template_file;
    if (!path) {
        wm_win32_error(ERROR_PATH_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    if (access & GENERIC_ALL)
        access |= GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE;
    bool rd = access & (GENERIC_READ | GENERIC_EXECUTE), wr = access & GENERIC_WRITE;
    flags = wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
    switch (disposition) {
    case CREATE_NEW:
        flags |= O_CREAT | O_EXCL;
        break;
    case CREATE_ALWAYS:
        flags |= O_CREAT | O_TRUNC;
        break;
    case OPEN_EXISTING:
        break;
    case OPEN_ALWAYS:
        flags |= O_CREAT;
        break;
    case TRUNCATE_EXISTING:
        if (!wr) {
            wm_win32_error(ERROR_INVALID_PARAMETER);
            return INVALID_HANDLE_VALUE;
        }
        flags |= O_TRUNC;
        break;
    default:
        wm_win32_error(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    if ((flags & O_CREAT) && !wr && (disposition == CREATE_ALWAYS))
        flags = (flags & ~O_ACCMODE) | O_RDWR; /* truncation needs write access */
    existed = access_ok_exists(path);
    fd = wm_os_open(path, flags, 0666);
    if (fd < 0) {
        wm_win32_error(open_error(-fd, path));
        return INVALID_HANDLE_VALUE;
    }
    /* A directory opens only with FILE_FLAG_BACKUP_SEMANTICS, as on Windows; Linux opens
     * one read-only without complaint. */
    bool dir = false;
    int rc = wm_os_is_directory(fd, &dir);
    if (rc || (dir && !(attrs & FILE_FLAG_BACKUP_SEMANTICS))) {
        wm_os_close(fd);
        if (rc)
            wm_win32_status(wm_status_from_errno(rc));
        else
            wm_win32_error(ERROR_ACCESS_DENIED);
        return INVALID_HANDLE_VALUE;
    }
    HANDLE h = new_file_handle(fd, access, true);
    if (h == INVALID_HANDLE_VALUE) {
        wm_os_close(fd);
        return h;
    }
    wm_win32_error((disposition == CREATE_ALWAYS || disposition == OPEN_ALWAYS) && existed
                       ? ERROR_ALREADY_EXISTS
                       : ERROR_SUCCESS);
    return h;
}

WINMEM_API HANDLE WINAPI CreateFileW(LPCWSTR path, DWORD access, DWORD share,
                                     LPSECURITY_ATTRIBUTES sa, DWORD disposition, DWORD attrs,
                                     HANDLE template_file)
{
    char buf[4096];
    if (path && !wm_win32_utf8(path, buf, sizeof(buf))) {
        wm_win32_error(ERROR_INVALID_NAME);
        return INVALID_HANDLE_VALUE;
    }
    return CreateFileA(path ? buf : NULL, access, share, sa, disposition, attrs, template_file);
}

/* The file behind h, referenced (release it), or NULL with the last error set. */
static struct wm_file *file_of(HANDLE h)
{
    struct wm_file *f;
    if (!wm_win32_status(wm_handle_get(h, WM_OBJ_FILE, (struct wm_object **)&f, NULL)))
        return NULL;
    return f;
}

WINMEM_API BOOL WINAPI GetFileSizeEx(HANDLE h, PLARGE_INTEGER size)
{
    struct wm_file *f = file_of(h);
    uint64_t n = 0;
    if (!f)
        return FALSE;
    int rc = wm_os_file_size(f->fd, &n);
    wm_object_release(&f->obj);
    if (rc)
        return wm_win32_status(wm_status_from_errno(rc));
    size->QuadPart = (LONGLONG)n;
    return TRUE;
}

WINMEM_API BOOL WINAPI SetFilePointerEx(HANDLE h, LARGE_INTEGER dist, PLARGE_INTEGER newpos,
                                        DWORD method)
{
    static const int whence[] = { SEEK_SET, SEEK_CUR, SEEK_END };
    struct wm_file *f;
    uint64_t pos = 0;
    int rc;

    if (method > FILE_END)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    if (!(f = file_of(h)))
        return FALSE;
    rc = wm_os_seek(f->fd, dist.QuadPart, whence[method], &pos);
    wm_object_release(&f->obj);
    if (rc)
        return wm_win32_error(rc == -EINVAL ? ERROR_NEGATIVE_SEEK : ERROR_GEN_FAILURE);
    if (newpos)
        newpos->QuadPart = (LONGLONG)pos;
    return TRUE;
}

/* SetEndOfFile: the file ends at the current file pointer. */
WINMEM_API BOOL WINAPI SetEndOfFile(HANDLE h)
{
    struct wm_file *f = file_of(h);
    uint64_t pos = 0;
    int rc;

    if (!f)
        return FALSE;
    if (!(f->access & GENERIC_WRITE))
        rc = -EACCES;
    else if (!(rc = wm_os_seek(f->fd, 0, SEEK_CUR, &pos)))
        rc = wm_os_truncate(f->fd, pos);
    wm_object_release(&f->obj);
    return rc ? wm_win32_error(rc == -EACCES ? ERROR_ACCESS_DENIED : ERROR_GEN_FAILURE) : TRUE;
}

/* FlushFileBuffers: what was written (through the file or a view flushed with
 * FlushViewOfFile) is on disk when this returns. */
WINMEM_API BOOL WINAPI FlushFileBuffers(HANDLE h)
{
    struct wm_file *f = file_of(h);
    int rc;

    if (!f)
        return FALSE;
    rc = (f->access & GENERIC_WRITE) ? wm_os_fsync(f->fd) : -EACCES;
    wm_object_release(&f->obj);
    return rc ? wm_win32_error(rc == -EACCES ? ERROR_ACCESS_DENIED : ERROR_GEN_FAILURE) : TRUE;
}

/* _get_osfhandle: a HANDLE for a descriptor the caller keeps owning. */
WINMEM_API intptr_t _get_osfhandle(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        wm_win32_error(ERROR_INVALID_HANDLE);
        return (intptr_t)INVALID_HANDLE_VALUE;
    }
    ACCESS_MASK access = (fl & O_ACCMODE) == O_RDONLY   ? GENERIC_READ
                         : (fl & O_ACCMODE) == O_WRONLY ? GENERIC_WRITE
                                                        : GENERIC_READ | GENERIC_WRITE;
    return (intptr_t)new_file_handle(fd, access, false);
}

/* _open_osfhandle: a descriptor that now owns the file; the HANDLE is consumed. */
WINMEM_API int _open_osfhandle(intptr_t handle, int flags)
{
    struct wm_file *f = file_of((HANDLE)handle);
    (void)flags;
    if (!f)
        return -1;
    int fd = wm_os_dup(f->fd);
    wm_object_release(&f->obj);
    if (fd < 0)
        return -1;
    NtClose((HANDLE)handle);
    return fd;
}
