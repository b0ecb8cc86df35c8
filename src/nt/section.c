/*
 * section.c - NtCreateSection / NtOpenSection: file-mapping objects.
 *
 * A pagefile-backed section is a memfd (or, when named, a POSIX shared-memory object, so
 * other processes can open it by name); a file-backed one keeps its own descriptor of the
 * file.  A name lives while some process holds a handle to it: each process with handles
 * keeps a shared flock on the object, and the process that closes the last handle anywhere
 * (its exclusive flock succeeds) unlinks the name.  Views hold the section, not the name.
 */
#include "nt.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "ntddk.h"

/* Sections with a name that this process has open, so a second create or open in-process
 * finds the very same object (and its protection). */
static struct wm_section *named[64];
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

/* At exit, this process's handles go away as Windows would close them: names no other
 * process holds are unlinked. */
static void close_names_at_exit(void)
{
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        struct wm_section *s = named[i];
        if (!s)
            continue;
        if (s->name_fd >= 0)
            wm_os_close(s->name_fd);
        s->name_fd = -1;
        if (s->fd >= 0 && wm_os_flock(s->fd, LOCK_EX | LOCK_NB) == 0)
            wm_os_shm_unlink(s->name);
    }
}

static void register_exit_cleanup(void)
{
    atexit(close_names_at_exit);
}

ACCESS_MASK wm_section_rights_for(uint32_t view_prot)
{
    switch (view_prot & WM_PAGE_BASE_MASK) {
    case PAGE_READWRITE:
        return SECTION_MAP_WRITE;
    case PAGE_EXECUTE_READWRITE:
        return SECTION_MAP_WRITE | SECTION_MAP_EXECUTE;
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_WRITECOPY:
        return SECTION_MAP_READ | SECTION_MAP_EXECUTE;
    default: /* READONLY, WRITECOPY, NOACCESS */
        return SECTION_MAP_READ;
    }
}

/* The rights a section of this protection can grant. */
static ACCESS_MASK rights_of(uint32_t prot)
{
    ACCESS_MASK r = STANDARD_RIGHTS_REQUIRED | SECTION_QUERY | SECTION_MAP_READ;
    if (prot == PAGE_READWRITE || prot == PAGE_EXECUTE_READWRITE)
        r |= SECTION_MAP_WRITE;
    if (prot & (PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY))
        r |= SECTION_MAP_EXECUTE;
    return r;
}

static void section_destroy(struct wm_object *o)
{
    struct wm_section *s = (struct wm_section *)o;
    if (s->commit) {
        wm_vmstate_wrlock(); /* the arena is serialised by the VM lock */
        wm_region_free(s->commit);
        wm_vmstate_wrunlock();
    }
    wm_os_close(s->fd);
    free(s);
}

/* Name bookkeeping: the first handle in this process takes the shared lock... */
static NTSTATUS section_handle_opened(struct wm_object *o)
{
    struct wm_section *s = (struct wm_section *)o;
    if (atomic_fetch_add(&s->handles, 1) == 0 && s->name[0]) {
        bool created;
        s->name_fd = wm_os_shm_open(s->name, false, &created);
        if (s->name_fd >= 0)
            wm_os_flock(s->name_fd, LOCK_SH);
    }
    return STATUS_SUCCESS;
}

/* ... and the last one lets go, unlinking the name when no other process holds it. */
static void section_handle_closed(struct wm_object *o)
{
    struct wm_section *s = (struct wm_section *)o;
    if (atomic_fetch_sub(&s->handles, 1) != 1 || !s->name[0])
        return;
    pthread_mutex_lock(&names_lock);
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (named[i] == s)
            named[i] = NULL;
    pthread_mutex_unlock(&names_lock);
    if (s->name_fd >= 0)
        wm_os_close(s->name_fd);
    s->name_fd = -1;
    if (s->fd >= 0 && wm_os_flock(s->fd, LOCK_EX | LOCK_NB) == 0) {
        wm_os_shm_unlink(s->name);
        wm_os_flock(s->fd, LOCK_UN);
    }
}

/* A Windows object name as a shared-memory name: "Local\" (the default namespace) and
 * "Global\" become prefixes, other characters are kept, '/' and '%' escaped.  Names are
 * case-sensitive, as on Windows. */
static NTSTATUS shm_name(const UNICODE_STRING *us, char *out, size_t outlen)
{
    size_t n = us->Length / sizeof(WCHAR), i = 0, o = 0;
    const WCHAR *w = us->Buffer;
    const char *ns = "L";

    if (n >= 6 && memcmp(w, u"Local\\", 12) == 0)
        i = 6;
    else if (n >= 7 && memcmp(w, u"Global\\", 14) == 0)
        i = 7, ns = "G";
    o = (size_t)snprintf(out, outlen, "/winmem-%s-", ns);
    for (; i < n; i++) {
        unsigned c = w[i];
        char enc[8];
        size_t len;
        if (c == 0 || c == '/' || c == '%' || c >= 0x80)
            len = (size_t)snprintf(enc, sizeof(enc), "%%%04x", c);
        else
            enc[0] = (char)c, enc[1] = 0, len = 1;
        if (o + len + 1 > outlen)
            return STATUS_OBJECT_NAME_INVALID;
        memcpy(out + o, enc, len + 1);
        o += len;
    }
    return STATUS_SUCCESS;
}

static struct wm_section *find_named(const char *name)
{
    struct wm_section *found = NULL;
    pthread_mutex_lock(&names_lock);
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (named[i] && strcmp(named[i]->name, name) == 0) {
            found = named[i];
            wm_object_ref(&found->obj);
            break;
        }
    }
    pthread_mutex_unlock(&names_lock);
    return found;
}

static void remember_named(struct wm_section *s)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_exit_cleanup);
    pthread_mutex_lock(&names_lock);
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (!named[i]) {
            named[i] = s;
            break;
        }
    }
    pthread_mutex_unlock(&names_lock);
}

static struct wm_section *section_new(int fd, uint64_t size, uint32_t prot, uint32_t attrs)
{
    struct wm_section *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    atomic_init(&s->obj.refs, 0);
    s->obj.type = WM_OBJ_SECTION;
    s->obj.destroy = section_destroy;
    s->obj.handle_opened = section_handle_opened;
    s->obj.handle_closed = section_handle_closed;
    s->fd = fd;
    s->size = size;
    s->prot = prot;
    s->attrs = attrs;
    s->max = rights_of(prot);
    s->name_fd = -1;
    return s;
}

bool wm_section_prot_valid(uint32_t prot)
{
    switch (prot) {
    case PAGE_READONLY:
    case PAGE_READWRITE:
    case PAGE_WRITECOPY:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY:
        return true;
    default:
        return false;
    }
}

/* NtCreateSection: a pagefile-backed (file NULL) or file-backed section, possibly named.
 * An existing name returns the existing object with STATUS_OBJECT_NAME_EXISTS. */
WINMEM_API NTSTATUS NTAPI NtCreateSection(PHANDLE out, ACCESS_MASK access, POBJECT_ATTRIBUTES oa,
                                          PLARGE_INTEGER max_size, ULONG prot, ULONG attrs,
                                          HANDLE file)
{
    struct wm_file *f = NULL;
    uint64_t size = max_size ? (uint64_t)max_size->QuadPart : 0;
    char name[200] = "";
    NTSTATUS st;
    int fd = -1;

    (void)access; /* the handle gets what the protection allows */
    if (!out)
        return STATUS_ACCESS_VIOLATION;
    wm_vmstate_init();
    if (!wm_section_prot_valid(prot))
        return STATUS_INVALID_PAGE_PROTECTION;
    /* SEC_COMMIT (or nothing) with at most one caching attribute.  SEC_RESERVE needs commit
     * state shared by every view, which winmem does not model yet; images are not loaded. */
    if (attrs & SEC_IMAGE)
        return (attrs & ~(ULONG)(SEC_IMAGE | SEC_NOCACHE)) ? STATUS_INVALID_PARAMETER
                                                           : STATUS_INVALID_IMAGE_NOT_MZ;
    if (attrs & ~(ULONG)(SEC_COMMIT | SEC_RESERVE | SEC_NOCACHE | SEC_WRITECOMBINE))
        return STATUS_INVALID_PARAMETER;
    if ((attrs & (SEC_COMMIT | SEC_RESERVE)) == (SEC_COMMIT | SEC_RESERVE) ||
        ((attrs & (SEC_NOCACHE | SEC_WRITECOMBINE)) && !(attrs & (SEC_COMMIT | SEC_RESERVE))) ||
        (attrs & (SEC_NOCACHE | SEC_WRITECOMBINE)) == (SEC_NOCACHE | SEC_WRITECOMBINE))
        return STATUS_INVALID_PARAMETER;
    if (oa && oa->ObjectName && oa->ObjectName->Length) {
        st = shm_name(oa->ObjectName, name, sizeof(name));
        if (st)
            return st;
    }

    if (file && file != INVALID_HANDLE_VALUE) {
        st = wm_handle_get(file, WM_OBJ_FILE, (struct wm_object **)&f, NULL);
        if (st)
            return st;
        uint64_t fsize = 0;
        bool write = prot == PAGE_READWRITE || prot == PAGE_EXECUTE_READWRITE;
        bool exec = prot & (PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY);
        if (!(f->access & GENERIC_READ) || (write && !(f->access & GENERIC_WRITE)) ||
            (exec && !(f->access & GENERIC_EXECUTE))) {
            st = STATUS_ACCESS_DENIED;
            goto out;
        }
        if ((st = wm_status_from_errno(wm_os_file_size(f->fd, &fsize))))
            goto out;
        if (size == 0)
            size = fsize;
        if (size == 0) {
            st = STATUS_MAPPED_FILE_SIZE_ZERO;
            goto out;
        }
        if (size > fsize) {
            /* A writable section grows its file; a read-only one cannot be bigger. */
            if (!write) {
                st = STATUS_SECTION_TOO_BIG;
                goto out;
            }
            if ((st = wm_status_from_errno(wm_os_truncate(f->fd, size))))
                goto out;
        }
        fd = wm_os_dup(f->fd);
        if (fd < 0) {
            st = wm_status_from_errno(fd);
            goto out;
        }
        attrs |= SEC_FILE;
    } else {
        if (size == 0)
            return STATUS_INVALID_PARAMETER_4;
        size = (size + wm_vm.page - 1) & ~(uint64_t)(wm_vm.page - 1);
    }
    /* A file's pages are committed by the file: SEC_RESERVE means something only for the
     * paging file, where pages are committed (for every view at once) by VirtualAlloc. */
    bool reserve = (attrs & SEC_RESERVE) && !(attrs & SEC_FILE);
    attrs = (attrs & ~(ULONG)(SEC_RESERVE | SEC_COMMIT)) | ((attrs & SEC_FILE) ? 0
                                                            : reserve          ? SEC_RESERVE
                                                                               : SEC_COMMIT);

    if (name[0]) {
        struct wm_section *s = find_named(name);
        if (s) {
            if (fd >= 0)
                wm_os_close(fd);
            st = wm_handle_create(&s->obj, s->max, out);
            wm_object_release(&s->obj);
            if (st == STATUS_SUCCESS)
                st = STATUS_OBJECT_NAME_EXISTS;
            goto out;
        }
        if (fd < 0) {
            bool created;
            fd = wm_os_shm_open(name, true, &created);
            if (fd < 0) {
                st = wm_status_from_errno(fd);
                goto out;
            }
            uint64_t cur = 0;
            if (!created && wm_os_flock(fd, LOCK_EX | LOCK_NB) == 0) {
                /* A name nobody holds is left from a process that died: start afresh. */
                wm_os_flock(fd, LOCK_UN);
                created = true;
            }
            if (created) {
                /* Zero first: a stale object's old bytes must not show through. */
                wm_os_truncate(fd, 0);
                if ((st = wm_status_from_errno(wm_os_truncate(fd, size)))) {
                    wm_os_close(fd);
                    goto out;
                }
            } else {
                /* Another process's section: its size wins, as on Windows. */
                wm_os_file_size(fd, &cur);
                size = cur;
                st = STATUS_OBJECT_NAME_EXISTS;
            }
        }
    } else if (fd < 0) {
        fd = wm_os_memfd();
        if (fd < 0 || (st = wm_status_from_errno(wm_os_truncate(fd, size)))) {
            st = fd < 0 ? wm_status_from_errno(fd) : st;
            if (fd >= 0)
                wm_os_close(fd);
            goto out;
        }
    }

    struct wm_section *s = section_new(fd, size, prot, attrs);
    if (s && reserve) {
        /* Which pages of the section are committed: one run list, shared by its views. */
        wm_vmstate_wrlock();
        s->commit = wm_region_new(0, size, prot, 0, WM_STATE_RESERVED, 0);
        wm_vmstate_wrunlock();
        if (!s->commit) {
            free(s);
            s = NULL;
        }
    }
    if (!s) {
        wm_os_close(fd);
        st = STATUS_NO_MEMORY;
        goto out;
    }
    if (name[0]) {
        memcpy(s->name, name, sizeof(s->name));
        remember_named(s);
    }
    NTSTATUS hs = wm_handle_create(&s->obj, s->max, out);
    if (hs) {
        section_handle_closed(&s->obj);
        section_destroy(&s->obj);
        st = hs;
        goto out;
    }
    st = st == STATUS_OBJECT_NAME_EXISTS ? st : STATUS_SUCCESS;
out:
    if (f)
        wm_object_release(&f->obj);
    return st;
}

/* NtOpenSection: a handle to a named section, here or in another process. */
WINMEM_API NTSTATUS NTAPI NtOpenSection(PHANDLE out, ACCESS_MASK access, POBJECT_ATTRIBUTES oa)
{
    char name[200];
    NTSTATUS st;

    if (!out)
        return STATUS_ACCESS_VIOLATION;
    if (!oa || !oa->ObjectName || !oa->ObjectName->Length)
        return STATUS_OBJECT_NAME_INVALID;
    wm_vmstate_init();
    if ((st = shm_name(oa->ObjectName, name, sizeof(name))))
        return st;
    /* FILE_MAP_EXECUTE asks for SECTION_MAP_EXECUTE_EXPLICIT; it grants mapping for execute. */
    if (access & SECTION_MAP_EXECUTE_EXPLICIT)
        access = (access & ~(ACCESS_MASK)SECTION_MAP_EXECUTE_EXPLICIT) | SECTION_MAP_EXECUTE;
    struct wm_section *s = find_named(name);
    if (!s) {
        bool created;
        int fd = wm_os_shm_open(name, false, &created);
        if (fd < 0)
            return fd == -2 /* ENOENT */ ? STATUS_OBJECT_NAME_NOT_FOUND : wm_status_from_errno(fd);
        if (wm_os_flock(fd, LOCK_EX | LOCK_NB) == 0) {
            /* Nobody holds it: left by a process that ended without closing its handles,
             * which Windows would have closed.  The name is gone. */
            wm_os_shm_unlink(name);
            wm_os_close(fd);
            return STATUS_OBJECT_NAME_NOT_FOUND;
        }
        uint64_t size = 0;
        wm_os_file_size(fd, &size);
        /* Another process's section: its protection is not recorded, so read-write. */
        s = section_new(fd, size, PAGE_READWRITE, SEC_COMMIT);
        if (!s) {
            wm_os_close(fd);
            return STATUS_NO_MEMORY;
        }
        memcpy(s->name, name, sizeof(s->name));
        wm_object_ref(&s->obj);
        remember_named(s);
    }
    /* The handle gets what was asked for; the section's protection is enforced when a view
     * is mapped (STATUS_SECTION_PROTECTION), as on Windows, where FILE_MAP_ALL_ACCESS opens a
     * read-write section fine. */
    st = wm_handle_create(&s->obj, access, out);
    wm_object_release(&s->obj);
    return st;
}
