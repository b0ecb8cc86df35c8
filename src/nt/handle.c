/*
 * handle.c - the process's handle table: files and sections (file-mapping objects), each a
 * reference-counted object behind a small integer handle, as on Windows (multiples of 4,
 * never 0 or -1).  NtClose and NtDuplicateObject for the current process.  Every handle is
 * made by wm_handle_create and ended by NtClose, which call the object's opened and closed
 * hooks, so a hook's bookkeeping stays balanced whichever call made the handle.
 */
#include "nt.h"

#include <pthread.h>
#include <stdlib.h>

struct slot {
    struct wm_object *obj; /* NULL: free */
    ACCESS_MASK access;
};

static struct slot *table;
static size_t nslots;
static size_t free_hint; /* no free slot below this index */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static HANDLE handle_of(size_t i)
{
    return (HANDLE)(uintptr_t)((i + 1) * 4);
}

static bool index_of(HANDLE h, size_t *i)
{
    uintptr_t v = (uintptr_t)h;
    if (v == 0 || v % 4 || v / 4 > nslots)
        return false;
    *i = v / 4 - 1;
    return true;
}

void wm_object_ref(struct wm_object *o)
{
    atomic_fetch_add(&o->refs, 1);
}

void wm_object_release(struct wm_object *o)
{
    if (o && atomic_fetch_sub(&o->refs, 1) == 1)
        o->destroy(o);
}

/* Room for one more handle; caller holds table_lock. */
static NTSTATUS grow_locked(void)
{
    size_t n = nslots ? nslots * 2 : 64;
    struct slot *t = realloc(table, n * sizeof(*t));
    if (!t)
        return STATUS_NO_MEMORY;
    for (size_t k = nslots; k < n; k++)
        t[k] = (struct slot){ NULL, 0 };
    table = t;
    nslots = n;
    return STATUS_SUCCESS;
}

NTSTATUS wm_handle_create(struct wm_object *o, ACCESS_MASK access, HANDLE *out)
{
    NTSTATUS st = STATUS_SUCCESS;
    size_t i;

    pthread_mutex_lock(&table_lock);
    for (i = free_hint; i < nslots && table[i].obj; i++)
        ;
    if (i == nslots && (st = grow_locked()) != STATUS_SUCCESS)
        goto out_unlock;
    /* The hook goes last: once the object has counted the handle, nothing can fail. */
    if (o->handle_opened && (st = o->handle_opened(o)) != STATUS_SUCCESS)
        goto out_unlock;
    wm_object_ref(o);
    table[i] = (struct slot){ o, access };
    free_hint = i + 1;
out_unlock:
    pthread_mutex_unlock(&table_lock);
    if (st == STATUS_SUCCESS)
        *out = handle_of(i);
    return st;
}

NTSTATUS wm_handle_get(HANDLE h, int type, struct wm_object **out, ACCESS_MASK *access)
{
    size_t i;
    NTSTATUS st = STATUS_INVALID_HANDLE;

    pthread_mutex_lock(&table_lock);
    if (index_of(h, &i) && table[i].obj) {
        if (table[i].obj->type != type) {
            st = STATUS_OBJECT_TYPE_MISMATCH;
        } else {
            wm_object_ref(table[i].obj);
            *out = table[i].obj;
            if (access)
                *access = table[i].access;
            st = STATUS_SUCCESS;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return st;
}

/* NtClose: drop the handle; the object lives on while views or other handles hold it. */
WINMEM_API NTSTATUS NTAPI NtClose(HANDLE h)
{
    struct wm_object *o = NULL;
    size_t i;

    pthread_mutex_lock(&table_lock);
    if (index_of(h, &i) && table[i].obj) {
        o = table[i].obj;
        table[i] = (struct slot){ NULL, 0 };
        if (i < free_hint)
            free_hint = i;
    }
    pthread_mutex_unlock(&table_lock);
    if (!o)
        return STATUS_INVALID_HANDLE;
    if (o->handle_closed)
        o->handle_closed(o);
    wm_object_release(o);
    return STATUS_SUCCESS;
}

/* NtDuplicateObject within the current process. */
WINMEM_API NTSTATUS NTAPI NtDuplicateObject(HANDLE src_process, HANDLE src, HANDLE dst_process,
                                            PHANDLE dst, ACCESS_MASK access, ULONG attributes,
                                            ULONG options)
{
    struct slot s = { NULL, 0 };
    size_t i;
    NTSTATUS st = wm_vmstate_check_process(src_process);

    (void)attributes;
    if (!st)
        st = wm_vmstate_check_process(dst_process);
    if (st)
        return st;
    pthread_mutex_lock(&table_lock);
    if (index_of(src, &i) && table[i].obj) {
        s = table[i];
        wm_object_ref(s.obj);
    }
    pthread_mutex_unlock(&table_lock);
    if (!s.obj)
        return STATUS_INVALID_HANDLE;
    if (!(options & DUPLICATE_SAME_ACCESS))
        s.access = access;
    /* The opened hook can refuse when the source's last handle was closed meanwhile (a named
     * section has then left the namespace): the source handle is gone, as it would be had
     * the close come first. */
    st = dst ? wm_handle_create(s.obj, s.access, dst) : STATUS_SUCCESS;
    wm_object_release(s.obj);
    if (st == STATUS_SUCCESS && (options & DUPLICATE_CLOSE_SOURCE))
        NtClose(src);
    return st;
}
