/*
 * section.c - NtCreateSection / NtOpenSection: file-mapping objects, and the table of named
 * ones in this process.
 *
 * A pagefile-backed section is a memfd (or, when named, a shared-memory object of the
 * user's namespace, ob/namespace.c, so other processes can open it by name); a file-backed
 * one keeps its own descriptor of the file.  A name lives while some process holds a handle
 * to it (the namespace says how); views hold the section, not the name.
 *
 * In this process, a name table (a chained hash table under names_lock) finds the very same
 * object for a second create or open.  A section enters it only once its first handle
 * exists and leaves it when its last handle closes, both under names_lock, and a lookup takes
 * its handle under that lock too: a lookup never finds a section whose last handle is
 * closing, and a section that left the table never gets another handle.
 */
#include "mm.h"
#include "rtl/trace.h"

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

/* Caller holds names_lock (as for every *_name / *_names function here). */
static struct wm_section *lookup_name(const char *name)
{
    for (struct wm_section *s = buckets[bucket_of(name, nbuckets)]; s; s = s->next_named)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static void grow_names(void)
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

static void publish_name(struct wm_section *s)
{
    if (nnamed >= nbuckets)
        grow_names();
    size_t k = bucket_of(s->name, nbuckets);
    s->next_named = buckets[k];
    buckets[k] = s;
    nnamed++;
}

static void unpublish_name(struct wm_section *s)
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

/* At exit, this process's handles go away as Windows would close them: names no other
 * process holds are unlinked. */
static void close_names_at_exit(void)
{
    pthread_mutex_lock(&names_lock);
    for (size_t i = 0; i < nbuckets; i++) {
        while (buckets[i]) {
            struct wm_section *s = buckets[i];
            unpublish_name(s);
            if (s->shm)
                wm_namespace_release(s->fd, s->name);
            s->shm = false;
        }
    }
    pthread_mutex_unlock(&names_lock);
}

static void register_exit_cleanup(void)
{
    atexit(close_names_at_exit);
}

/* fork(): the child must not inherit names_lock held by a thread it does not have
 * (vmstate.c calls these around fork, in the order the locks nest). */
void wm_section_fork_prepare(void)
{
    pthread_mutex_lock(&names_lock);
}

void wm_section_fork_release(void)
{
    pthread_mutex_unlock(&names_lock);
}

void wm_section_fork_child(void)
{
    /* The child's copy of each name's descriptor shares its open file description, and so
     * its shared lock, with the parent's: letting go of the name from the child (closing an
     * inherited handle, or exiting) would turn the parent's lock exclusive and remove a name
     * the parent holds.  The child's inherited sections keep their names in its table but
     * take no part in the names' lifetime; sections it creates later do. */
    for (size_t i = 0; i < nbuckets; i++)
        for (struct wm_section *s = buckets[i]; s; s = s->next_named)
            s->shm = false;
    pthread_mutex_unlock(&names_lock);
}

static void section_destroy(struct wm_object *o)
{
    struct wm_section *s = (struct wm_section *)o;
    /* A named section that got handles left the name table with its last one. */
    WM_ASSERT(!s->name || atomic_load(&s->handles) <= 0);
    if (s->name && atomic_load(&s->handles) > 0) {
        extern int printf(const char *, ...);
        printf("DESTROY with handles=%d\n", atomic_load(&s->handles));
    }
    if (s->commit) {
        wm_vmstate_wrlock(); /* the arena is serialised by the VM lock */
        wm_region_free(s->commit);
        wm_vmstate_wrunlock();
    }
    (void)wm_os_close(s->fd); /* Linux frees the descriptor even when close reports an error */
    free(s->name);
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
    bool named = s->name != NULL, locked = false;
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
        unpublish_name(s);
        if (s->shm)
            wm_namespace_release(s->fd, s->name);
        s->shm = false;
    }
    if (locked)
        pthread_mutex_unlock(&names_lock);
}

/* Make a section over fd and name (it takes both over, also on failure; name may be NULL),
 * give it its first handle and, when it has a name, enter it in the name table.  shm: fd is
 * the named shared-memory object this process holds, its data at data_off.  Named: caller
 * holds names_lock. */
static NTSTATUS section_make(int fd, bool shm, char *name, uint64_t data_off, uint64_t size,
                             uint32_t prot, uint32_t attrs, bool reserve, ACCESS_MASK access,
                             HANDLE *out)
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
    s->data_off = data_off;
    s->size = size;
    s->prot = prot;
    s->attrs = attrs;
    s->max = wm_prot_section_rights(prot);
    s->name = name;
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
            wm_namespace_release(fd, name);
        wm_object_release(&s->obj); /* closes fd, frees name */
        return st;
    }
    s->shm = shm;
    if (name) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, register_exit_cleanup);
        publish_name(s);
    }
    wm_object_release(&s->obj);
    return STATUS_SUCCESS;
fail:
    if (shm)
        wm_namespace_release(fd, name);
    (void)wm_os_close(fd);
    free(name);
    return st;
}

/* SEC_IMAGE: images are not loaded, so it fails as for a file that is no image, or, for an
 * empty file, as Windows fails before it reads any header. */
static NTSTATUS image_section(ULONG attrs, HANDLE file)
{
    struct wm_file *f;
    uint64_t size = 0;
    NTSTATUS st;

    if (attrs & ~(ULONG)(SEC_IMAGE | SEC_NOCACHE))
        return STATUS_INVALID_PARAMETER;
    if (!file || file == INVALID_HANDLE_VALUE)
        return STATUS_INVALID_IMAGE_NOT_MZ;
    if ((st = wm_handle_get(file, WM_OBJ_FILE, (struct wm_object **)&f, NULL)))
        return st;
    st = wm_status_from_errno(wm_os_file_size(f->fd, &size), WM_ERRNO_OBJECT);
    if (st == STATUS_SUCCESS)
        st = size ? STATUS_INVALID_IMAGE_NOT_MZ : STATUS_INVALID_FILE_FOR_SECTION;
    wm_object_release(&f->obj);
    return st;
}

/* SEC_COMMIT, SEC_RESERVE or nothing, with at most one caching attribute. */
static bool attrs_valid(ULONG attrs)
{
    ULONG commit = attrs & (SEC_COMMIT | SEC_RESERVE),
          cache = attrs & (SEC_NOCACHE | SEC_WRITECOMBINE);
    return !(attrs & ~(ULONG)(SEC_COMMIT | SEC_RESERVE | SEC_NOCACHE | SEC_WRITECOMBINE)) &&
           commit != (SEC_COMMIT | SEC_RESERVE) && !(cache && !commit) &&
           cache != (SEC_NOCACHE | SEC_WRITECOMBINE);
}

/* What backs a file section: its own descriptor of the file, which is grown to *size first
 * when the section is bigger and writable (*grew: the size it had, to undo on failure). */
static NTSTATUS file_backing(struct wm_file *f, ULONG prot, uint64_t *size, int *fd, uint64_t *grew)
{
    bool write = prot == PAGE_READWRITE || prot == PAGE_EXECUTE_READWRITE;
    bool exec = prot & (PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY);
    uint64_t fsize = 0;
    NTSTATUS st;

    if (!(f->access & GENERIC_READ) || (write && !(f->access & GENERIC_WRITE)) ||
        (exec && !(f->access & GENERIC_EXECUTE)))
        return STATUS_ACCESS_DENIED;
    if ((st = wm_status_from_errno(wm_os_file_size(f->fd, &fsize), WM_ERRNO_OBJECT)))
        return st;
    if (*size == 0 && (*size = fsize) == 0)
        return STATUS_MAPPED_FILE_SIZE_ZERO;
    if (*size > fsize) {
        /* A writable section grows its file; a read-only one cannot be bigger. */
        if (!write)
            return STATUS_SECTION_TOO_BIG;
        if ((st = wm_status_from_errno(wm_os_truncate(f->fd, *size), WM_ERRNO_OBJECT)))
            return st;
        *grew = fsize;
    }
    *fd = wm_os_dup(f->fd);
    return *fd < 0 ? wm_status_from_errno(*fd, WM_ERRNO_OBJECT) : STATUS_SUCCESS;
}

/* What backs an unnamed paging-file section: a memory file of size bytes. */
static NTSTATUS memory_backing(uint64_t size, int *fd)
{
    NTSTATUS st;

    if ((*fd = wm_os_memfd()) < 0)
        return wm_status_from_errno(*fd, WM_ERRNO_OBJECT);
    if ((st = wm_status_from_errno(wm_os_truncate(*fd, size), WM_ERRNO_SECTION_SIZE))) {
        (void)wm_os_close(*fd);
        *fd = -1;
    }
    return st;
}

/* NtCreateSection: a pagefile-backed (file NULL) or file-backed section, possibly named.
 * An existing name returns the existing object with STATUS_OBJECT_NAME_EXISTS, and changes
 * nothing else (not even the size of the file a new section would have grown).  Steps:
 * check the arguments, find an existing name, make the backing, make the section. */
WINMEM_API NTSTATUS NTAPI NtCreateSection(PHANDLE out, ACCESS_MASK access, POBJECT_ATTRIBUTES oa,
                                          PLARGE_INTEGER max_size, ULONG prot, ULONG attrs,
                                          HANDLE file)
{
    WM_TRACE(NtCreateSection, out, access, oa, max_size, prot, attrs, file);
    bool has_file = file && file != INVALID_HANDLE_VALUE, named = false, shm = false;
    uint64_t size = max_size ? (uint64_t)max_size->QuadPart : 0, grew = UINT64_MAX;
    struct wm_namespace_object o = { .fd = -1 };
    struct wm_file *f = NULL;
    char *name = NULL;
    NTSTATUS st;
    int fd = -1;

    (void)access; /* the handle gets what the protection allows */
    if (!out || wm_os_probe(out, sizeof(*out)))
        return STATUS_ACCESS_VIOLATION;
    wm_vmstate_init();
    if (!wm_prot_section_valid(prot))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (attrs & SEC_IMAGE)
        return image_section(attrs, file);
    if (!attrs_valid(attrs))
        return STATUS_INVALID_PARAMETER;
    if (!has_file && size == 0)
        return STATUS_INVALID_PARAMETER_4;
    /* Rounded up to pages, a size this big wraps to nothing: far too big, not zero. */
    if (!has_file && size > UINT64_MAX - wm_vm.page)
        return STATUS_SECTION_TOO_BIG;
    if (oa && oa->ObjectName && oa->ObjectName->Length &&
        (st = wm_namespace_name(oa->ObjectName, &name)) != STATUS_SUCCESS)
        return st;
    if (has_file && (st = wm_handle_get(file, WM_OBJ_FILE, (struct wm_object **)&f, NULL)))
        goto out;
    /* A file's pages are committed by the file: SEC_RESERVE means something only for the
     * paging file, where pages are committed (for every view at once) by VirtualAlloc. */
    bool reserve = (attrs & SEC_RESERVE) && !has_file;
    attrs = (attrs & ~(ULONG)(SEC_RESERVE | SEC_COMMIT)) | (has_file  ? SEC_FILE
                                                            : reserve ? SEC_RESERVE
                                                                      : SEC_COMMIT);
    if (!has_file)
        size = (size + wm_vm.page - 1) & ~(uint64_t)(wm_vm.page - 1);

    if (name) {
        pthread_mutex_lock(&names_lock);
        named = true;
        struct wm_section *s = lookup_name(name);
        if (s) {
            /* In the table, so it has a handle, and that cannot be its last to close while
             * we hold the lock: the new handle always counts.  Found by name, not through a
             * handle, so hold a reference across the handle's making: a closer of one of the
             * other handles (which needs no lock) may drop its reference meanwhile. */
            wm_object_ref(&s->obj);
            st = wm_handle_create(&s->obj, s->max, out);
            wm_object_release(&s->obj);
            st = st == STATUS_SUCCESS ? STATUS_OBJECT_NAME_EXISTS : st;
            goto out;
        }
    }
    if (has_file) {
        /* Named or not, found by name in this process only. */
        st = file_backing(f, prot, &size, &fd, &grew);
    } else if (name) {
        /* Another process's section of that name: its size, protection and attributes win,
         * as on Windows, where the existing object is returned. */
        bool exists = false;
        o.size = size, o.prot = prot, o.attrs = attrs;
        if ((st = wm_namespace_create(name, &o, &exists)) == STATUS_SUCCESS) {
            fd = o.fd, shm = true;
            size = o.size, prot = o.prot, attrs = o.attrs;
            reserve = (attrs & SEC_RESERVE) != 0;
            st = section_make(fd, true, name, o.data_off, size, prot, attrs, reserve,
                              wm_prot_section_rights(prot), out);
            name = NULL, fd = -1; /* section_make took them */
            if (st == STATUS_SUCCESS && exists)
                st = STATUS_OBJECT_NAME_EXISTS;
            goto out;
        }
    } else {
        st = memory_backing(size, &fd);
    }
    if (st)
        goto out;
    st = section_make(fd, shm, name, 0, size, prot, attrs, reserve, wm_prot_section_rights(prot),
                      out);
    name = NULL, fd = -1; /* section_make took them */
out:
    if (named)
        pthread_mutex_unlock(&names_lock);
    if (fd >= 0)
        (void)wm_os_close(fd);
    /* A failed call leaves the file as it found it.  Should even that fail, the file keeps
     * the zeros it grew by, which is all a successful call would have changed. */
    if (grew != UINT64_MAX && st != STATUS_SUCCESS)
        (void)wm_os_truncate(f->fd, grew);
    if (f)
        wm_object_release(&f->obj);
    free(name);
    return st;
}

/* A section of this name that another process holds (none in this process has it). */
static NTSTATUS open_other(char *name, ACCESS_MASK access, HANDLE *out)
{
    struct wm_namespace_object o;
    NTSTATUS st = wm_namespace_open(name, &o);

    if (st) {
        free(name);
        return st;
    }
    return section_make(o.fd, true, name, o.data_off, o.size, o.prot, o.attrs,
                        (o.attrs & SEC_RESERVE) != 0, access, out);
}

/* NtOpenSection: a handle to a named section, here or in another process. */
WINMEM_API NTSTATUS NTAPI NtOpenSection(PHANDLE out, ACCESS_MASK access, POBJECT_ATTRIBUTES oa)
{
    WM_TRACE(NtOpenSection, out, access, oa);
    char *name;
    NTSTATUS st;

    if (!out || wm_os_probe(out, sizeof(*out)))
        return STATUS_ACCESS_VIOLATION;
    if (!oa || !oa->ObjectName || !oa->ObjectName->Length)
        return STATUS_OBJECT_NAME_INVALID;
    wm_vmstate_init();
    if ((st = wm_namespace_name(oa->ObjectName, &name)))
        return st;
    /* FILE_MAP_EXECUTE asks for SECTION_MAP_EXECUTE_EXPLICIT; it grants mapping for execute. */
    if (access & SECTION_MAP_EXECUTE_EXPLICIT)
        access = (access & ~(ACCESS_MASK)SECTION_MAP_EXECUTE_EXPLICIT) | SECTION_MAP_EXECUTE;
    /* The handle gets what was asked for; the section's protection is enforced when a view
     * is mapped (STATUS_SECTION_PROTECTION), as on Windows, where FILE_MAP_ALL_ACCESS opens a
     * read-write section fine. */
    pthread_mutex_lock(&names_lock);
    struct wm_section *s = lookup_name(name);
    if (s) {
        /* Held across the handle's making, as in NtCreateSection. */
        wm_object_ref(&s->obj);
        st = wm_handle_create(&s->obj, access, out);
        wm_object_release(&s->obj);
        free(name);
    } else {
        st = open_other(name, access, out);
    }
    pthread_mutex_unlock(&names_lock);
    return st;
}
