/*
 * namespace.c - the named-object namespace that named paging-file sections live in, shared
 * by every process of one user: POSIX shared-memory objects in /dev/shm.
 *
 * Trust boundary.  Windows confines Local\ names to a session and checks every named
 * object's security descriptor; here a user's names are that user's alone:
 * - every name carries the effective uid (/winmem-<uid>-L-<name>), and an object is used
 *   only if it is a regular file owned by this uid with mode 0600, as winmem creates it;
 *   anything else under a name (another user's squatting file, a wrongly-moded one) makes
 *   the call fail with STATUS_ACCESS_DENIED and is never read, written or removed;
 * - so Global\ names, too, are shared by the processes of one user, not across users.
 *
 * Lifetime.  A name lives while some process holds a handle to its section: each such
 * process keeps a shared flock on the object, and the process closing the last handle
 * anywhere (its lock can turn exclusive) removes the name, as Windows deletes a section with
 * its last handle.  Every step that creates, adopts, finds stale or removes a name happens
 * under one per-user lock file (/winmem-<uid>.lock, flock), so an opener never takes a live
 * object for a stale one, nor removes a name another process is creating.  A process that
 * dies releases its locks; the names it held stay in /dev/shm until the next winmem process
 * of that user touches the namespace, which removes every name nobody holds (once per
 * process, and whenever a create or open meets one).
 *
 * Names of any length.  The object starts with a header page or more: a magic, the
 * section's size, protection and attributes (so another process opening it maps it as its
 * creator made it) and its full name.  A name too long for a file name is stored under a
 * hash of itself; the full name in the header tells two names with one hash apart, so no
 * name ever aliases another.  The section's data follows the header.
 */
#include "ob.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#define MAGIC "WMSECT01"
/* Longest shared-memory file name used as it is; longer ones are hashed. */
#define NAME_DIRECT_MAX 200

struct header {
    char magic[8];
    uint32_t header_size; /* bytes before the data, a page multiple */
    uint32_t prot, attrs;
    uint32_t name_len; /* bytes of the full name that follow this struct */
    uint64_t size;     /* the section's size in bytes */
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

/* The /dev/shm name for a full name ("L-..." or "G-...", as wm_namespace_name
 * builds it). */
static void shm_name_of(const char *full, char *out, size_t len)
{
    unsigned uid = wm_os_euid();
    if (strlen(full) <= NAME_DIRECT_MAX)
        snprintf(out, len, "/winmem-%u-%s", uid, full);
    else
        snprintf(out, len, "/winmem-%u-%c-#%016llx", uid, full[0], (unsigned long long)fnv1a(full));
}

NTSTATUS wm_namespace_name(const UNICODE_STRING *us, char **out)
{
    size_t n = us->Length / sizeof(WCHAR), i = 0, o;
    const WCHAR *w = us->Buffer;
    char ns = 'L';

    if (n >= 6 && memcmp(w, u"Local\\", 12) == 0)
        i = 6;
    else if (n >= 7 && memcmp(w, u"Global\\", 14) == 0)
        i = 7, ns = 'G';
    /* Each unit becomes at most five bytes: "%xxxx" for '/', '%', NUL and non-ASCII. */
    char *s = malloc(3 + (n - i) * 5 + 1);
    if (!s)
        return STATUS_NO_MEMORY;
    s[0] = ns, s[1] = '-', o = 2;
    for (; i < n; i++) {
        unsigned c = w[i];
        if (c == 0 || c == '/' || c == '%' || c >= 0x80)
            o += (size_t)sprintf(s + o, "%%%04x", c);
        else
            s[o++] = (char)c;
    }
    s[o] = 0;
    *out = s;
    return STATUS_SUCCESS;
}

/* ---- the per-user lock ------------------------------------------------------------------ */

static pthread_once_t sweep_once = PTHREAD_ONCE_INIT;

/* Take the namespace lock: a file opened for each use, so a forked child and its parent
 * (which would share one open file description, and so one lock) still exclude each other. */
static NTSTATUS ns_lock(int *fd_out)
{
    char name[64];
    bool created;
    int r, fd;

    snprintf(name, sizeof(name), "/winmem-%u.lock", wm_os_euid());
    fd = wm_os_shm_open(name, true, &created);
    if (fd < 0)
        return wm_status_from_errno(fd, WM_ERRNO_OBJECT);
    if ((created && (r = wm_os_shm_secure(fd)) != 0) || (r = wm_os_shm_check(fd)) != 0 ||
        (r = wm_os_flock(fd, LOCK_EX)) != 0) {
        (void)wm_os_close(fd);
        return wm_status_from_errno(r, WM_ERRNO_OBJECT);
    }
    *fd_out = fd;
    return STATUS_SUCCESS;
}

static void ns_unlock(int fd)
{
    (void)wm_os_close(fd); /* closing drops the lock */
}

/* A name whose object nobody holds is left from processes that ended without closing their
 * handles, which Windows would have closed: remove it.  Caller holds the namespace lock;
 * fd is the object, opened by name.  True when it was stale (fd is then closed). */
static bool remove_if_stale(int fd, const char *shm)
{
    if (wm_os_flock(fd, LOCK_EX | LOCK_NB) != 0)
        return false;
    (void)wm_os_shm_unlink(shm);
    (void)wm_os_close(fd);
    return true;
}

static int sweep_one(void *ctx, const char *entry)
{
    char shm[300];
    bool created;
    (void)ctx;
    snprintf(shm, sizeof(shm), "/%s", entry);
    int fd = wm_os_shm_open(shm, false, &created);
    if (fd < 0)
        return 0;
    /* Another user's file under our prefix is left alone, as everywhere. */
    if (wm_os_shm_check(fd) != 0 || !remove_if_stale(fd, shm))
        (void)wm_os_close(fd);
    return 0;
}

static void sweep(void)
{
    char prefix[48];
    int lock;
    snprintf(prefix, sizeof(prefix), "winmem-%u-", wm_os_euid());
    if (ns_lock(&lock) != STATUS_SUCCESS)
        return;
    (void)wm_os_shm_list(prefix, sweep_one, NULL);
    ns_unlock(lock);
}

/* ---- the header ---------------------------------------------------------------------------- */

static uint64_t header_size_for(size_t name_len)
{
    size_t page = wm_os_page_size();
    return (sizeof(struct header) + name_len + page - 1) & ~(uint64_t)(page - 1);
}

static NTSTATUS write_header(int fd, const char *full, const struct wm_namespace_object *o)
{
    size_t len = strlen(full), done;
    struct header h = { .header_size = (uint32_t)o->data_off,
                        .prot = o->prot,
                        .attrs = o->attrs,
                        .name_len = (uint32_t)len,
                        .size = o->size };
    int r;

    memcpy(h.magic, MAGIC, sizeof(h.magic));
    if ((r = wm_os_file_write(fd, &h, sizeof(h), 0, &done)) != 0 ||
        (r = wm_os_file_write(fd, full, len, sizeof(h), &done)) != 0)
        return wm_status_from_errno(r, WM_ERRNO_OBJECT);
    return STATUS_SUCCESS;
}

/* Read an object's header: STATUS_OBJECT_NAME_COLLISION when it holds another name (one with
 * the same hash), STATUS_ACCESS_DENIED when it is not a section winmem made. */
static NTSTATUS read_header(int fd, const char *full, struct wm_namespace_object *o)
{
    struct header h;
    size_t len = strlen(full), done;
    int r;

    if ((r = wm_os_file_read(fd, &h, sizeof(h), 0, &done)) != 0)
        return wm_status_from_errno(r, WM_ERRNO_OBJECT);
    if (done != sizeof(h) || memcmp(h.magic, MAGIC, sizeof(h.magic)) != 0 ||
        h.header_size != header_size_for(h.name_len))
        return STATUS_ACCESS_DENIED;
    if (h.name_len != len)
        return STATUS_OBJECT_NAME_COLLISION;
    char *stored = malloc(len + 1);
    if (!stored)
        return STATUS_NO_MEMORY;
    r = wm_os_file_read(fd, stored, len, sizeof(h), &done);
    bool same = r == 0 && done == len && memcmp(stored, full, len) == 0;
    free(stored);
    if (r)
        return wm_status_from_errno(r, WM_ERRNO_OBJECT);
    if (!same)
        return STATUS_OBJECT_NAME_COLLISION;
    o->data_off = h.header_size;
    o->prot = h.prot;
    o->attrs = h.attrs;
    o->size = h.size;
    return STATUS_SUCCESS;
}

/* ---- create, open, release ---------------------------------------------------------------- */

/* The existing object under shm, checked and held with a shared lock; STATUS_OBJECT_NAME_
 * NOT_FOUND when there is none (or only a stale one, now removed).  Namespace lock held. */
static NTSTATUS adopt(const char *shm, const char *full, struct wm_namespace_object *o)
{
    bool created;
    int r, fd = wm_os_shm_open(shm, false, &created);
    NTSTATUS st;

    if (fd < 0)
        return wm_status_from_errno(fd, WM_ERRNO_OBJECT);
    if ((r = wm_os_shm_check(fd)) != 0) {
        (void)wm_os_close(fd);
        return wm_status_from_errno(r, WM_ERRNO_OBJECT);
    }
    if (remove_if_stale(fd, shm))
        return STATUS_OBJECT_NAME_NOT_FOUND;
    if ((st = read_header(fd, full, o)) != STATUS_SUCCESS ||
        (st = wm_status_from_errno(wm_os_flock(fd, LOCK_SH), WM_ERRNO_OBJECT)) != STATUS_SUCCESS) {
        (void)wm_os_close(fd);
        return st;
    }
    o->fd = fd;
    return STATUS_SUCCESS;
}

/* What every create and open starts with: the first one in this process sweeps stale names;
 * then the name's /dev/shm form, and the namespace lock. */
static NTSTATUS begin(const char *full, char shm[300], int *lock)
{
    pthread_once(&sweep_once, sweep);
    shm_name_of(full, shm, 300);
    return ns_lock(lock);
}

NTSTATUS wm_namespace_create(const char *full, struct wm_namespace_object *o, bool *exists)
{
    char shm[300];
    bool created;
    int lock, r, fd;
    NTSTATUS st;

    if ((st = begin(full, shm, &lock)) != STATUS_SUCCESS)
        return st;
    st = adopt(shm, full, o);
    if (st != STATUS_OBJECT_NAME_NOT_FOUND) {
        *exists = st == STATUS_SUCCESS;
        goto out;
    }
    *exists = false;
    fd = wm_os_shm_open(shm, true, &created);
    if (fd < 0 || !created) {
        /* Nobody can have made it meanwhile: we hold the namespace lock. */
        st = fd < 0 ? wm_status_from_errno(fd, WM_ERRNO_OBJECT) : STATUS_UNSUCCESSFUL;
        if (fd >= 0)
            (void)wm_os_close(fd);
        goto out;
    }
    o->data_off = header_size_for(strlen(full));
    if (o->size > (uint64_t)INT64_MAX - o->data_off)
        st = STATUS_SECTION_TOO_BIG;
    else if ((r = wm_os_shm_secure(fd)) != 0)
        st = wm_status_from_errno(r, WM_ERRNO_OBJECT);
    else if ((r = wm_os_truncate(fd, o->data_off + o->size)) != 0)
        st = wm_status_from_errno(r, WM_ERRNO_SECTION_SIZE);
    else if ((st = write_header(fd, full, o)) == STATUS_SUCCESS)
        st = wm_status_from_errno(wm_os_flock(fd, LOCK_SH), WM_ERRNO_OBJECT);
    if (st) {
        (void)wm_os_shm_unlink(shm);
        (void)wm_os_close(fd);
        goto out;
    }
    o->fd = fd;
out:
    ns_unlock(lock);
    return st;
}

NTSTATUS wm_namespace_open(const char *full, struct wm_namespace_object *o)
{
    char shm[300];
    int lock;
    NTSTATUS st;

    if ((st = begin(full, shm, &lock)) != STATUS_SUCCESS)
        return st;
    st = adopt(shm, full, o);
    ns_unlock(lock);
    /* A name held under another name's hash is, for this name, not there. */
    return st == STATUS_OBJECT_NAME_COLLISION ? STATUS_OBJECT_NAME_NOT_FOUND : st;
}

void wm_namespace_release(int fd, const char *full)
{
    char shm[300];
    int lock;

    shm_name_of(full, shm, sizeof(shm));
    /* Without the namespace lock (it cannot be had) the name stays; the next create or open
     * that meets it, or the next process's sweep, removes it once nobody holds it. */
    if (ns_lock(&lock) != STATUS_SUCCESS) {
        (void)wm_os_flock(fd, LOCK_UN);
        return;
    }
    /* Our shared lock turns exclusive only when no other process holds one: then this was
     * the last handle anywhere, and the name goes with it.  A conversion that fails has
     * dropped our lock already (Linux removes the old lock first); LOCK_UN makes sure. */
    if (wm_os_flock(fd, LOCK_EX | LOCK_NB) == 0)
        (void)wm_os_shm_unlink(shm);
    (void)wm_os_flock(fd, LOCK_UN);
    ns_unlock(lock);
}
