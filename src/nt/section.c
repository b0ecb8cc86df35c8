/*
 * section.c - NtCreateSection / NtOpenSection: file-mapping objects, and the namespace of
 * named ones.
 *
 * A pagefile-backed section is a memfd (or, when named, a POSIX shared-memory object, so
 * other processes can open it by name); a file-backed one keeps its own descriptor of the
 * file.  A name lives while some process holds a handle to it: each process with handles
 * keeps a shared flock on the object's descriptor, and the process that closes the last
 * handle anywhere (its lock can turn exclusive) unlinks the name.  Views hold the section,
 * not the name.
 *
 * In this process, a name table (a chained hash table under names_lock) finds the very same
 * object for a second create or open.  A section enters it only once its first handle
 * exists and leaves it when its last handle closes, both under names_lock, and a lookup takes
 * its handle under that lock too: a lookup never finds a section whose last handle is
 * closing, and a section that left the table never gets another handle.
 */
#include "nt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "ntddk.h"

/* The name table: sections with a name that this process has handles to.  It starts with
 * static buckets and doubles them when names outnumber buckets; when that memory is not
 * there the chains just grow longer, so a name is never refused or dropped for want of room. */
static struct wm_section *first_buckets[64];
static struct wm_section **buckets = first_buckets;
static size_t nbuckets = sizeof(first_buckets) / sizeof(first_buckets[0]), nnamed;
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t bucket_of(const char *name, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 0x100000001b3u;
    return (size_t)(h & (n - 1));
}

/* Caller holds names_lock (as for every _locked function here). */
static struct wm_section *lookup_locked(const char *name)
{
    for (struct wm_section *s = buckets[bucket_of(name, nbuckets)]; s; s = s->next_named)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static void grow_locked(void)
{
    size_t n = nbuckets * 2;
    struct wm_section **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < nbuckets; i++) {
        struct wm_section *s = buckets[i], *next;
        for (; s; s = next) {
            size_t k = bucket_of(s->name, n);
            next = s->next_named;
            s->next_named = b[k];
            b[k] = s;
        }
    }
    if (buckets != first_buckets)
        free(buckets);
    buckets = b;
    nbuckets = n;
}

static void publish_locked(struct wm_section *s)
{
    if (nnamed >= nbuckets)
        grow_locked();
    size_t k = bucket_of(s->name, nbuckets);
    s->next_named = buckets[k];
    buckets[k] = s;
    nnamed++;
}

static void unpublish_locked(struct wm_section *s)
{
    for (struct wm_section **p = &buckets[bucket_of(s->name, nbuckets)]; *p;
         p = &(*p)->next_named) {
        if (*p == s) {
            *p = s->next_named;
            s->next_named = NULL;
            nnamed--;
            return;
        }
    }
}

/* This process lets go of the shared-memory name it holds through fd: the last holder
 * anywhere unlinks it.  Nothing here can make CloseHandle fail (it does not on Windows): a
 * name left behind holds no lock, and the next create or open that meets it removes it. */
static void let_go_of_name_locked(int fd, const char *name)
{
    /* Our shared lock turns exclusive only when no other process holds one.  A conversion
     * that fails has dropped our lock already (Linux removes the old lock first); the
     * LOCK_UN makes sure, and cannot fail on a descriptor we hold. */
    if (wm_os_flock(fd, LOCK_EX | LOCK_NB) == 0)
        (void)wm_os_shm_unlink(name); /* ENOENT: someone removed it as stale meanwhile */
    (void)wm_os_flock(fd, LOCK_UN);
}

/* At exit, this process's handles go away as Windows would close them: names no other
 * process holds are unlinked. */
static void close_names_at_exit(void)
{
    pthread_mutex_lock(&names_lock);
    for (size_t i = 0; i < nbuckets; i++) {
        while (buckets[i]) {
            struct wm_section *s = buckets[i];
            unpublish_locked(s);
            if (s->shm)
                let_go_of_name_locked(s->fd, s->name);
            s->shm = false;
        }
    }
    pthread_mutex_unlock(&names_lock);
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
    (void)wm_os_close(s->fd); /* Linux frees the descriptor even when close reports an error */
    free(s);
}

/* Count a handle (under the handle table's lock, so no locks or waiting here).  A section
 * whose last handle has closed gets no new one: NtDuplicateObject racing the close of its
 * source ends as if the close came first. */
static NTSTATUS section_handle_opened(struct wm_object *o)
{
    struct wm_section *s = (struct wm_section *)o;
    int h = atomic_load(&s->handles);
    do {
        if (h < 0)
            return STATUS_INVALID_HANDLE;
    } while (!atomic_compare_exchange_weak(&s->handles, &h, h + 1));
    return STATUS_SUCCESS;
}

/* The last handle takes a named section out of the table and lets go of its name, under
 * names_lock, in the same step that retires the count: a lookup holding the lock sees either
 * a section with handles or none. */
static void section_handle_closed(struct wm_object *o)
{
    struct wm_section *s = (struct wm_section *)o;
    bool named = s->name[0] != 0, locked = false;
    int h = atomic_load(&s->handles);

    for (;;) {
        if (h == 1 && named && !locked) {
            pthread_mutex_lock(&names_lock);
            locked = true;
            h = atomic_load(&s->handles);
            continue;
        }
        if (atomic_compare_exchange_weak(&s->handles, &h, h == 1 ? -1 : h - 1))
            break;
    }
    if (h == 1 && named) {
        unpublish_locked(s);
        if (s->shm)
            let_go_of_name_locked(s->fd, s->name);
        s->shm = false;
    }
    if (locked)
        pthread_mutex_unlock(&names_lock);
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

/* Make a section over fd (which it takes over, also on failure), give it its first handle
 * and, when it has a name, enter it in the name table.  shm: fd is the named shared-memory
 * object this process holds with a shared lock.  Named: caller holds names_lock. */
static NTSTATUS section_make(int fd, bool shm, const char *name, uint64_t size, uint32_t prot,
                             uint32_t attrs, bool reserve, ACCESS_MASK access, HANDLE *out)
{
    struct wm_section *s = calloc(1, sizeof(*s));
    NTSTATUS st;

    if (!s) {
        st = STATUS_NO_MEMORY;
        goto fail;
    }
    atomic_init(&s->obj.refs, 1); /* this call's, until the handle holds it */
    s->obj.type = WM_OBJ_SECTION;
    s->obj.destroy = section_destroy;
    s->obj.handle_opened = section_handle_opened;
    s->obj.handle_closed = section_handle_closed;
    s->fd = fd;
    s->size = size;
    s->prot = prot;
    s->attrs = attrs;
    s->max = rights_of(prot);
    snprintf(s->name, sizeof(s->name), "%s", name);
    atomic_init(&s->handles, 0);
    if (reserve) {
        /* Which pages of the section are committed: one run list, shared by its views. */
        wm_vmstate_wrlock();
        s->commit = wm_region_new(0, size, prot, 0, WM_STATE_RESERVED, 0);
        wm_vmstate_wrunlock();
        if (!s->commit) {
            free(s);
            st = STATUS_NO_MEMORY;
            goto fail;
        }
    }
    if ((st = wm_handle_create(&s->obj, access, out)) != STATUS_SUCCESS) {
        if (shm)
            let_go_of_name_locked(fd, name);
        wm_object_release(&s->obj);
        return st;
    }
    s->shm = shm;
    if (name[0]) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, register_exit_cleanup);
        publish_locked(s);
    }
    wm_object_release(&s->obj);
    return STATUS_SUCCESS;
fail:
    if (shm)
        let_go_of_name_locked(fd, name);
    (void)wm_os_close(fd);
    return st;
}

/* The shared-memory object for a new named paging-file section, held with a shared lock:
 * created here with *size bytes, or another process's, whose size then wins (*exists).
 * Nothing is left behind on failure. */
static NTSTATUS open_shm_locked(const char *name, uint64_t *size, bool *exists, int *out)
{
    bool fresh;
    int r, fd = wm_os_shm_open(name, true, &fresh);

    if (fd < 0)
        return wm_status_from_errno(fd);
    if (!fresh) {
        /* A name nobody holds is left from a process that died: start afresh, keeping the
         * exclusive lock until the object is reset. */
        r = wm_os_flock(fd, LOCK_EX | LOCK_NB);
        if (r == 0)
            fresh = true;
        else if (r != -EWOULDBLOCK)
            goto fail;
    }
    /* Zero first: a stale object's old bytes must not show through. */
    if (fresh && ((r = wm_os_truncate(fd, 0)) != 0 || (r = wm_os_truncate(fd, *size)) != 0))
        goto fail;
    /* Hold the name (a stale one's exclusive lock turns shared), then read the size another
     * process gave it: taken under the shared lock, it is not one a reset is changing. */
    if ((r = wm_os_flock(fd, LOCK_SH)) != 0 || (!fresh && (r = wm_os_file_size(fd, size)) != 0))
        goto fail;
    *exists = !fresh;
    *out = fd;
    return STATUS_SUCCESS;
fail:
    if (fresh) /* made or reset here, so nobody else holds it */
        (void)wm_os_shm_unlink(name);
    (void)wm_os_close(fd);
    return wm_status_from_errno(r);
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
    uint64_t fsize = 0;
    bool grew = false;
    NTSTATUS st;
    int fd = -1;

    (void)access; /* the handle gets what the protection allows */
    if (!out)
        return STATUS_ACCESS_VIOLATION;
    wm_vmstate_init();
    if (!wm_section_prot_valid(prot))
        return STATUS_INVALID_PAGE_PROTECTION;
    /* SEC_COMMIT, SEC_RESERVE or nothing, with at most one caching attribute.  Images are not
     * loaded: SEC_IMAGE fails as for a file that is no image, or, for an empty file, as
     * Windows fails before it reads any header. */
    if (attrs & SEC_IMAGE) {
        if (attrs & ~(ULONG)(SEC_IMAGE | SEC_NOCACHE))
            return STATUS_INVALID_PARAMETER;
        if (!file || file == INVALID_HANDLE_VALUE)
            return STATUS_INVALID_IMAGE_NOT_MZ;
        if ((st = wm_handle_get(file, WM_OBJ_FILE, (struct wm_object **)&f, NULL)))
            return st;
        uint64_t isize = 0;
        st = wm_status_from_errno(wm_os_file_size(f->fd, &isize));
        if (st == STATUS_SUCCESS)
            st = isize ? STATUS_INVALID_IMAGE_NOT_MZ : STATUS_INVALID_FILE_FOR_SECTION;
        wm_object_release(&f->obj);
        return st;
    }
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
            grew = true;
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
        bool exists = false, shm = false;
        pthread_mutex_lock(&names_lock);
        struct wm_section *s = lookup_locked(name);
        if (s) {
            /* In the table, so it has a handle, and that cannot be its last to close while
             * we hold the lock: the new handle always counts. */
            st = wm_handle_create(&s->obj, s->max, out);
            pthread_mutex_unlock(&names_lock);
            if (fd >= 0)
                (void)wm_os_close(fd);
            st = st == STATUS_SUCCESS ? STATUS_OBJECT_NAME_EXISTS : st;
            goto out;
        }
        if (fd < 0) {
            /* Another process's section: its size wins, as on Windows. */
            if ((st = open_shm_locked(name, &size, &exists, &fd)) != STATUS_SUCCESS) {
                pthread_mutex_unlock(&names_lock);
                goto out;
            }
            shm = true;
        }
        st = section_make(fd, shm, name, size, prot, attrs, reserve, rights_of(prot), out);
        pthread_mutex_unlock(&names_lock);
        if (st == STATUS_SUCCESS && exists)
            st = STATUS_OBJECT_NAME_EXISTS;
        goto out;
    }
    if (fd < 0) {
        fd = wm_os_memfd();
        if (fd < 0) {
            st = wm_status_from_errno(fd);
            goto out;
        }
        if ((st = wm_status_from_errno(wm_os_truncate(fd, size))) != STATUS_SUCCESS) {
            (void)wm_os_close(fd);
            goto out;
        }
    }
    st = section_make(fd, false, "", size, prot, attrs, reserve, rights_of(prot), out);
out:
    /* A failed call leaves the file as it found it.  Should even that fail, the file keeps
     * the zeros it grew by, which is all a successful call would have changed. */
    if (grew && st != STATUS_SUCCESS && st != STATUS_OBJECT_NAME_EXISTS)
        (void)wm_os_truncate(f->fd, fsize);
    if (f)
        wm_object_release(&f->obj);
    return st;
}

/* A section of this name that another process holds (none in this process has it). */
static NTSTATUS open_other_locked(const char *name, ACCESS_MASK access, HANDLE *out)
{
    uint64_t size = 0;
    bool created;
    int r, fd = wm_os_shm_open(name, false, &created);

    if (fd < 0)
        return fd == -ENOENT ? STATUS_OBJECT_NAME_NOT_FOUND : wm_status_from_errno(fd);
    r = wm_os_flock(fd, LOCK_EX | LOCK_NB);
    if (r == 0) {
        /* Nobody holds it: left by a process that ended without closing its handles, which
         * Windows would have closed.  The name is gone (ENOENT: someone else saw it too). */
        (void)wm_os_shm_unlink(name);
        (void)wm_os_close(fd);
        return STATUS_OBJECT_NAME_NOT_FOUND;
    }
    if (r != -EWOULDBLOCK || (r = wm_os_flock(fd, LOCK_SH)) != 0 ||
        (r = wm_os_file_size(fd, &size)) != 0) {
        (void)wm_os_close(fd);
        return wm_status_from_errno(r);
    }
    /* Its protection is not recorded, so read-write. */
    return section_make(fd, true, name, size, PAGE_READWRITE, SEC_COMMIT, false, access, out);
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
    /* The handle gets what was asked for; the section's protection is enforced when a view
     * is mapped (STATUS_SECTION_PROTECTION), as on Windows, where FILE_MAP_ALL_ACCESS opens a
     * read-write section fine. */
    pthread_mutex_lock(&names_lock);
    struct wm_section *s = lookup_locked(name);
    st = s ? wm_handle_create(&s->obj, access, out) : open_other_locked(name, access, out);
    pthread_mutex_unlock(&names_lock);
    return st;
}
