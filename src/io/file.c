/*
 * file.c - files: NtCreateFile and the NT file calls the Win32 file API and sections need
 * (NtReadFile, NtWriteFile, NtQueryInformationFile, NtSetInformationFile, NtFlushBuffersFile),
 * and the C runtime's descriptor <-> HANDLE bridge.
 *
 * A file object is a reference-counted descriptor (struct wm_file) behind a handle.  The
 * handle's access mask holds the specific rights (FILE_READ_DATA, FILE_WRITE_DATA, ...), as
 * Windows checks them per handle; GENERIC_* rights are mapped on open, as the file object
 * type's generic mapping does.  I/O is synchronous: Event, APC and Key are accepted and
 * ignored, and every call has completed when it returns, with the file position moved past
 * what it read or wrote (an explicit ByteOffset included, as for a synchronous handle).
 */
#include "io.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_BYTES 4096

/* The caller's pointers are probed and written through os/uaccess.c's copy, so a bad one
 * fails the call with STATUS_ACCESS_VIOLATION instead of crashing it. */
static NTSTATUS probe(void *p, size_t n)
{
    return !p || wm_os_probe(p, n) ? STATUS_ACCESS_VIOLATION : STATUS_SUCCESS;
}

static void set_iosb(PIO_STATUS_BLOCK iosb, NTSTATUS st, ULONG_PTR info)
{
    IO_STATUS_BLOCK v = { .Status = st, .Information = info };
    (void)wm_os_copy(iosb, &v, sizeof(v));
}

static void file_destroy(struct wm_object *o)
{
    struct wm_file *f = (struct wm_file *)o;
    if (f->owns_fd)
        wm_os_close(f->fd);
    free(f);
}

static ACCESS_MASK map_generic(ACCESS_MASK a)
{
    if (a & GENERIC_READ)
        a |= FILE_GENERIC_READ;
    if (a & GENERIC_WRITE)
        a |= FILE_GENERIC_WRITE;
    if (a & GENERIC_EXECUTE)
        a |= FILE_GENERIC_EXECUTE;
    if (a & GENERIC_ALL)
        a |= FILE_ALL_ACCESS;
    return a & ~(ACCESS_MASK)(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL);
}

/* A file object for fd behind a new handle with `access` (specific rights). */
static NTSTATUS new_file(int fd, ACCESS_MASK access, bool owns, HANDLE *out)
{
    struct wm_file *f = calloc(1, sizeof(*f));

    if (!f)
        return STATUS_NO_MEMORY;
    atomic_init(&f->obj.refs, 0);
    f->obj.type = WM_OBJ_FILE;
    f->obj.destroy = file_destroy;
    f->fd = fd;
    /* What a section may map the file for (mm/ checks these). */
    f->access = ((access & FILE_READ_DATA) ? GENERIC_READ : 0) |
                ((access & FILE_WRITE_DATA) ? GENERIC_WRITE : 0) |
                ((access & FILE_EXECUTE) ? GENERIC_EXECUTE : 0);
    f->owns_fd = owns;
    NTSTATUS st = wm_handle_create(&f->obj, access, out);
    if (st)
        free(f);
    return st;
}

/* The file behind h, referenced (release it), and the handle's access. */
static NTSTATUS file_of(HANDLE h, struct wm_file **f, ACCESS_MASK *access)
{
    return wm_handle_get(h, WM_OBJ_FILE, (struct wm_object **)f, access);
}

/* The Linux path an object name stands for: UTF-16, a leading \??\ dropped. */
static NTSTATUS path_of(const OBJECT_ATTRIBUTES *oa, char *buf, size_t len)
{
    const UNICODE_STRING *name = oa->ObjectName;

    if (oa->RootDirectory)
        return STATUS_INVALID_PARAMETER; /* relative opens are not supported */
    if (!name || !name->Length || !name->Buffer || (name->Length & 1) ||
        name->Length > name->MaximumLength)
        return STATUS_OBJECT_NAME_INVALID;
    const WCHAR *w = name->Buffer;
    size_t n = name->Length / sizeof(WCHAR);
    if (n > 4 && w[0] == '\\' && w[1] == '?' && w[2] == '?' && w[3] == '\\')
        w += 4, n -= 4;
    for (size_t i = 0; i < n; i++)
        if (w[i] == 0)
            return STATUS_OBJECT_NAME_INVALID;
    return wm_unicode_to_utf8(w, n, buf, len) ? STATUS_SUCCESS : STATUS_OBJECT_NAME_INVALID;
}

/* ENOENT: the file is missing, or a directory on the way to it. */
static NTSTATUS not_found(const char *path)
{
    char dir[PATH_MAX_BYTES];
    const char *slash = strrchr(path, '/');

    if (slash && slash != path && (size_t)(slash - path) < sizeof(dir)) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = 0;
        if (!wm_os_path_exists(dir))
            return STATUS_OBJECT_PATH_NOT_FOUND;
    }
    return STATUS_OBJECT_NAME_NOT_FOUND;
}

static NTSTATUS open_status(int rc, const char *path)
{
    NTSTATUS st = wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    return st == STATUS_OBJECT_NAME_NOT_FOUND ? not_found(path) : st;
}

/* Windows refuses to cut a file short while a view maps it (the view would lose its pages):
 * STATUS_USER_MAPPED_FILE.  Views of this process are what Linux can tell about. */
static NTSTATUS check_not_mapped(int fd)
{
    struct wm_os_stat st;
    bool mapped;
    int rc = wm_os_file_stat(fd, &st);

    if (!rc)
        rc = wm_maps_file_mapped(&st, &mapped);
    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    return mapped ? STATUS_USER_MAPPED_FILE : STATUS_SUCCESS;
}

/* Open path by the disposition: the descriptor and what happened (FILE_OPENED, ...). */
static NTSTATUS open_disposition(const char *path, unsigned how, ULONG disposition, int *fd_out,
                                 ULONG_PTR *info)
{
    bool create = disposition != FILE_OPEN && disposition != FILE_OVERWRITE;
    bool overwrite = disposition == FILE_SUPERSEDE || disposition == FILE_OVERWRITE ||
                     disposition == FILE_OVERWRITE_IF;
    int fd = -1;

    /* An existing file is opened, a missing one created exclusively; when another process
     * creates or deletes it in between, try again. */
    for (int tries = 0; tries < 16; tries++) {
        if (disposition != FILE_CREATE) {
            fd = wm_os_file_open(path, how);
            if (fd >= 0) {
                *info = disposition == FILE_SUPERSEDE ? FILE_SUPERSEDED
                        : overwrite                   ? FILE_OVERWRITTEN
                                                      : FILE_OPENED;
                break;
            }
            if (fd != -ENOENT || !create)
                return open_status(fd, path);
        }
        fd = wm_os_file_open(path, how | WM_OPEN_CREATE | WM_OPEN_EXCL);
        if (fd >= 0) {
            *info = FILE_CREATED;
            *fd_out = fd;
            return STATUS_SUCCESS;
        }
        if (fd != -EEXIST || disposition == FILE_CREATE)
            return open_status(fd, path);
    }
    if (fd < 0)
        return open_status(fd, path);
    if (overwrite) {
        /* Checked before anything is cut, so a refusal changes nothing. */
        NTSTATUS st = check_not_mapped(fd);
        if (!st)
            st = wm_status_from_errno(wm_os_truncate(fd, 0), WM_ERRNO_OBJECT);
        if (st) {
            wm_os_close(fd);
            return st;
        }
    }
    *fd_out = fd;
    return STATUS_SUCCESS;
}

/* NtCreateFile: open or create a file; IoStatusBlock->Information says which happened. */
WINMEM_API NTSTATUS NTAPI NtCreateFile(PHANDLE handle, ACCESS_MASK access, POBJECT_ATTRIBUTES oa,
                                       PIO_STATUS_BLOCK iosb, PLARGE_INTEGER alloc_size,
                                       ULONG attributes, ULONG share, ULONG disposition,
                                       ULONG options, PVOID ea, ULONG ea_length)
{
    char path[PATH_MAX_BYTES];
    ULONG_PTR info = 0;
    struct wm_os_stat st;
    NTSTATUS status;
    int fd = -1, rc;

    (void)alloc_size, (void)attributes, (void)share, (void)ea, (void)ea_length;
    if (probe(handle, sizeof(*handle)) || probe(iosb, sizeof(*iosb)) || !oa)
        return STATUS_ACCESS_VIOLATION;
    if (disposition > FILE_OVERWRITE_IF ||
        (options & (FILE_DIRECTORY_FILE | FILE_NON_DIRECTORY_FILE)) ==
            (FILE_DIRECTORY_FILE | FILE_NON_DIRECTORY_FILE))
        return STATUS_INVALID_PARAMETER;
    if ((status = path_of(oa, path, sizeof(path))))
        return status;
    access = map_generic(access);

    bool rd = access & (FILE_READ_DATA | FILE_EXECUTE), wr = access & FILE_WRITE_DATA;
    bool app = (access & FILE_APPEND_DATA) && !wr;
    unsigned how = (rd || (!wr && !app) ? WM_OPEN_READ : 0) | (wr ? WM_OPEN_WRITE : 0) |
                   (app ? WM_OPEN_APPEND : 0);
    /* Cutting the file needs a descriptor that may write, whatever the handle may do. */
    if (disposition == FILE_SUPERSEDE || disposition == FILE_OVERWRITE ||
        disposition == FILE_OVERWRITE_IF)
        how |= WM_OPEN_WRITE;
    if ((status = open_disposition(path, how, disposition, &fd, &info)))
        return status;
    if ((rc = wm_os_file_stat(fd, &st)))
        status = wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    else if (st.dir && (options & FILE_NON_DIRECTORY_FILE))
        status = STATUS_FILE_IS_A_DIRECTORY;
    else if (!st.dir && (options & FILE_DIRECTORY_FILE))
        status = STATUS_NOT_A_DIRECTORY;
    if (!status)
        status = new_file(fd, access, true, handle);
    if (status) {
        wm_os_close(fd);
        return status;
    }
    set_iosb(iosb, STATUS_SUCCESS, info);
    return STATUS_SUCCESS;
}

NTSTATUS wm_file_delete(const OBJECT_ATTRIBUTES *oa)
{
    char path[PATH_MAX_BYTES];
    NTSTATUS st = path_of(oa, path, sizeof(path));

    if (st != STATUS_SUCCESS)
        return st;
    int rc = wm_os_unlink(path);
    return rc ? open_status(rc, path) : STATUS_SUCCESS;
}

/* Where a read or write goes: the file position (-1), or an offset. */
static NTSTATUS offset_of(const LARGE_INTEGER *off, int64_t *out)
{
    *out = -1;
    if (!off || off->QuadPart == FILE_USE_FILE_POINTER_POSITION)
        return STATUS_SUCCESS;
    if (off->QuadPart < 0)
        return STATUS_INVALID_PARAMETER;
    *out = off->QuadPart;
    return STATUS_SUCCESS;
}

/* A synchronous handle's position moves past what an explicit offset read or wrote. */
static void move_position(int fd, int64_t off, size_t done)
{
    uint64_t pos;
    if (off >= 0)
        wm_os_seek(fd, off + (int64_t)done, 0, &pos);
}

WINMEM_API NTSTATUS NTAPI NtReadFile(HANDLE h, HANDLE event, PVOID apc, PVOID apc_context,
                                     PIO_STATUS_BLOCK iosb, PVOID buf, ULONG len,
                                     PLARGE_INTEGER off_ptr, PULONG key)
{
    struct wm_file *f;
    ACCESS_MASK access;
    int64_t off;
    size_t done = 0;
    NTSTATUS st;

    (void)event, (void)apc, (void)apc_context, (void)key;
    if ((st = file_of(h, &f, &access)))
        return st;
    /* No buffer: refused before anything is read, even at the end of the file. */
    if (probe(iosb, sizeof(*iosb)) || (!buf && len))
        st = STATUS_ACCESS_VIOLATION;
    else if (!(access & FILE_READ_DATA))
        st = STATUS_ACCESS_DENIED;
    else if (!(st = offset_of(off_ptr, &off)))
        st = wm_status_from_errno(wm_os_file_read(f->fd, buf, len, off, &done), WM_ERRNO_OBJECT);
    if (!st) {
        move_position(f->fd, off, done);
        /* Nothing left to read: the end of the file, which ReadFile reports as success. */
        if (done == 0 && len > 0)
            st = STATUS_END_OF_FILE;
        set_iosb(iosb, st, done);
    }
    wm_object_release(&f->obj);
    return st;
}

WINMEM_API NTSTATUS NTAPI NtWriteFile(HANDLE h, HANDLE event, PVOID apc, PVOID apc_context,
                                      PIO_STATUS_BLOCK iosb, const VOID *buf, ULONG len,
                                      PLARGE_INTEGER off_ptr, PULONG key)
{
    struct wm_file *f;
    ACCESS_MASK access;
    struct wm_os_stat sz;
    int64_t off = -1;
    size_t done = 0;
    NTSTATUS st;

    (void)event, (void)apc, (void)apc_context, (void)key;
    if ((st = file_of(h, &f, &access)))
        return st;
    if (probe(iosb, sizeof(*iosb))) {
        st = STATUS_ACCESS_VIOLATION;
    } else if (!(access & (FILE_WRITE_DATA | FILE_APPEND_DATA))) {
        st = STATUS_ACCESS_DENIED;
    } else if (!buf && len) {
        st = STATUS_INVALID_USER_BUFFER; /* what Windows says of a NULL buffer */
    } else if (off_ptr && off_ptr->u.LowPart == 0xffffffffu && off_ptr->u.HighPart == -1) {
        /* FILE_WRITE_TO_END_OF_FILE */
        int rc = wm_os_file_stat(f->fd, &sz);
        st = wm_status_from_errno(rc, WM_ERRNO_OBJECT);
        off = rc ? -1 : (int64_t)sz.size;
    } else {
        st = offset_of(off_ptr, &off);
    }
    /* A handle that may only append writes at the end, wherever it is asked to. */
    if (!st && !(access & FILE_WRITE_DATA))
        off = -1;
    if (!st)
        st = wm_status_from_errno(wm_os_file_write(f->fd, buf, len, off, &done), WM_ERRNO_OBJECT);
    if (!st) {
        move_position(f->fd, off, done);
        set_iosb(iosb, st, done);
    }
    wm_object_release(&f->obj);
    return st;
}

WINMEM_API NTSTATUS NTAPI NtQueryInformationFile(HANDLE h, PIO_STATUS_BLOCK iosb, PVOID info,
                                                 ULONG len, FILE_INFORMATION_CLASS cls)
{
    struct wm_file *f;
    struct wm_os_stat st;
    uint64_t pos;
    ULONG need;
    NTSTATUS status;
    int rc;

    switch (cls) {
    case FileStandardInformation:
        need = sizeof(FILE_STANDARD_INFORMATION);
        break;
    case FilePositionInformation:
        need = sizeof(FILE_POSITION_INFORMATION);
        break;
    default:
        return STATUS_INVALID_INFO_CLASS;
    }
    if (len < need)
        return STATUS_INFO_LENGTH_MISMATCH;
    if ((status = file_of(h, &f, NULL)))
        return status;
    union {
        FILE_STANDARD_INFORMATION std;
        FILE_POSITION_INFORMATION pos;
    } out;
    memset(&out, 0, sizeof(out));
    if (probe(iosb, sizeof(*iosb)) || probe(info, need)) {
        status = STATUS_ACCESS_VIOLATION;
    } else if (cls == FileStandardInformation) {
        rc = wm_os_file_stat(f->fd, &st);
        if (!(status = wm_status_from_errno(rc, WM_ERRNO_OBJECT))) {
            out.std.AllocationSize.QuadPart = (LONGLONG)st.allocated;
            out.std.EndOfFile.QuadPart = (LONGLONG)st.size;
            out.std.NumberOfLinks = st.links;
            out.std.DeletePending = FALSE;
            out.std.Directory = st.dir;
        }
    } else {
        rc = wm_os_seek(f->fd, 0, 1, &pos);
        if (!(status = wm_status_from_errno(rc, WM_ERRNO_OBJECT)))
            out.pos.CurrentByteOffset.QuadPart = (LONGLONG)pos;
    }
    if (!status) {
        (void)wm_os_copy(info, &out, need);
        set_iosb(iosb, STATUS_SUCCESS, need);
    }
    wm_object_release(&f->obj);
    return status;
}

WINMEM_API NTSTATUS NTAPI NtSetInformationFile(HANDLE h, PIO_STATUS_BLOCK iosb, PVOID info,
                                               ULONG len, FILE_INFORMATION_CLASS cls)
{
    struct wm_file *f;
    ACCESS_MASK access;
    struct wm_os_stat st;
    uint64_t pos;
    ULONG need;
    NTSTATUS status;

    switch (cls) {
    case FilePositionInformation:
        need = sizeof(FILE_POSITION_INFORMATION);
        break;
    case FileEndOfFileInformation:
        need = sizeof(FILE_END_OF_FILE_INFORMATION);
        break;
    default:
        return STATUS_INVALID_INFO_CLASS;
    }
    if (len < need)
        return STATUS_INFO_LENGTH_MISMATCH;
    if ((status = file_of(h, &f, &access)))
        return status;
    union {
        FILE_POSITION_INFORMATION pos;
        FILE_END_OF_FILE_INFORMATION eof;
    } in;
    if (probe(iosb, sizeof(*iosb)) || !info || wm_os_copy(&in, info, need)) {
        status = STATUS_ACCESS_VIOLATION;
    } else if (cls == FilePositionInformation) {
        LONGLONG p = in.pos.CurrentByteOffset.QuadPart;
        status = p < 0 ? STATUS_INVALID_PARAMETER
                       : wm_status_from_errno(wm_os_seek(f->fd, p, 0, &pos), WM_ERRNO_OBJECT);
    } else {
        LONGLONG end = in.eof.EndOfFile.QuadPart;
        int rc = wm_os_file_stat(f->fd, &st);
        if (!(access & FILE_WRITE_DATA))
            status = STATUS_ACCESS_DENIED;
        else if (end < 0)
            status = STATUS_INVALID_PARAMETER;
        else if (rc)
            status = wm_status_from_errno(rc, WM_ERRNO_OBJECT);
        else if ((uint64_t)end < st.size && (status = check_not_mapped(f->fd)))
            ; /* shrinking a mapped file is refused; growing it is fine */
        else
            status = wm_status_from_errno(wm_os_truncate(f->fd, (uint64_t)end), WM_ERRNO_OBJECT);
    }
    if (!status) {
        set_iosb(iosb, STATUS_SUCCESS, 0);
    }
    wm_object_release(&f->obj);
    return status;
}

WINMEM_API NTSTATUS NTAPI NtFlushBuffersFile(HANDLE h, PIO_STATUS_BLOCK iosb)
{
    struct wm_file *f;
    ACCESS_MASK access;
    NTSTATUS st;

    if ((st = file_of(h, &f, &access)))
        return st;
    if (probe(iosb, sizeof(*iosb)))
        st = STATUS_ACCESS_VIOLATION;
    else if (!(access & (FILE_WRITE_DATA | FILE_APPEND_DATA)))
        st = STATUS_ACCESS_DENIED;
    else
        st = wm_status_from_errno(wm_os_fsync(f->fd), WM_ERRNO_OBJECT);
    if (!st) {
        set_iosb(iosb, STATUS_SUCCESS, 0);
    }
    wm_object_release(&f->obj);
    return st;
}

/* ---- the C runtime's bridge --------------------------------------------------------------- */

/* The handle each descriptor was given, so _get_osfhandle returns the same one every time
 * (the C runtime keeps one handle per descriptor).  Indexed by descriptor. */
static HANDLE *fd_handles;
static size_t fd_slots;
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether h is still the handle given for fd (a program may have closed it). */
static bool still_for(HANDLE h, int fd)
{
    struct wm_file *f;
    if (!h || file_of(h, &f, NULL))
        return false;
    bool same = f->fd == fd && !f->owns_fd;
    wm_object_release(&f->obj);
    return same;
}

NTSTATUS wm_file_handle_for_fd(int fd, HANDLE *out)
{
    bool rd, wr;
    NTSTATUS st = STATUS_SUCCESS;
    int rc;

    if (fd < 0 || (rc = wm_os_fd_mode(fd, &rd, &wr)))
        return STATUS_INVALID_HANDLE;
    pthread_mutex_lock(&fd_lock);
    if ((size_t)fd >= fd_slots) {
        size_t n = fd_slots ? fd_slots : 64;
        while (n <= (size_t)fd)
            n *= 2;
        HANDLE *t = realloc(fd_handles, n * sizeof(*t));
        if (!t) {
            st = STATUS_NO_MEMORY;
            goto out;
        }
        memset(t + fd_slots, 0, (n - fd_slots) * sizeof(*t));
        fd_handles = t;
        fd_slots = n;
    }
    if (!still_for(fd_handles[fd], fd)) {
        ACCESS_MASK access =
            (rd ? FILE_GENERIC_READ | FILE_EXECUTE : 0) | (wr ? FILE_GENERIC_WRITE : 0);
        st = new_file(fd, access, false, &fd_handles[fd]);
        if (st)
            fd_handles[fd] = NULL;
    }
    if (!st)
        *out = fd_handles[fd];
out:
    pthread_mutex_unlock(&fd_lock);
    return st;
}

NTSTATUS wm_file_fd_of_handle(HANDLE h, int *out)
{
    struct wm_file *f;
    NTSTATUS st = file_of(h, &f, NULL);

    if (st)
        return st;
    int fd = wm_os_dup(f->fd);
    wm_object_release(&f->obj);
    if (fd < 0)
        return wm_status_from_errno(fd, WM_ERRNO_OBJECT);
    *out = fd;
    return STATUS_SUCCESS;
}
