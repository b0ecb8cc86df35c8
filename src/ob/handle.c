/*
 * handle.c - the process's handle table: files, sections (file-mapping objects) and the
 * process and thread themselves, each a reference-counted object behind a small integer
 * handle, as on Windows (multiples of 4, never 0 or -1).  NtClose and NtDuplicateObject for
 * the current process.  Every handle is made by wm_handle_create and ended by NtClose, which
 * call the object's opened and closed hooks, so a hook's bookkeeping stays balanced whichever
 * call made the handle.  Free slots form a list, so making a handle costs the same however
 * many are open.
 */
#include "ob.h"

#include <pthread.h>
#include <stdlib.h>

struct slot {
    struct wm_object *obj; /* NULL: free */
    ACCESS_MASK access;
    size_t next_free; /* a free slot: the next one on the free list (NO_SLOT ends it) */
};

#define NO_SLOT SIZE_MAX

static struct slot *table;
static size_t nslots;
static size_t free_head = NO_SLOT; /* most recently freed first, as Windows reuses them */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* The process and the thread as objects: what GetCurrentProcess() and GetCurrentThread()
 * stand for, so duplicating a pseudo handle gives a real handle.  Never destroyed. */
static void static_destroy(struct wm_object *o)
{
    (void)o;
}

static struct wm_object process_object = { 1, WM_OBJ_PROCESS, static_destroy, NULL, NULL };
static struct wm_object thread_object = { 1, WM_OBJ_THREAD, static_destroy, NULL, NULL };

/* fork(): the child must not inherit the table locked by a thread it does not have
 * (mm/vmstate.c calls these around fork, in the one order all of winmem's locks nest). */
void wm_handle_fork_prepare(void)
{
    pthread_mutex_lock(&table_lock);
}

void wm_handle_fork_release(void)
{
    pthread_mutex_unlock(&table_lock);
}

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
static NTSTATUS grow_table(void)
{
    size_t n = nslots ? nslots * 2 : 64;
    struct slot *t = realloc(table, n * sizeof(*t));
    if (!t)
        return STATUS_NO_MEMORY;
    /* The new slots join the free list in ascending order. */
    for (size_t k = n; k-- > nslots;) {
        t[k] = (struct slot){ NULL, 0, free_head };
        free_head = k;
    }
    table = t;
    nslots = n;
    return STATUS_SUCCESS;
}

NTSTATUS wm_handle_create(struct wm_object *o, ACCESS_MASK access, HANDLE *out)
{
    NTSTATUS st = STATUS_SUCCESS;
    size_t i;

    pthread_mutex_lock(&table_lock);
    if (free_head == NO_SLOT && (st = grow_table()) != STATUS_SUCCESS)
        goto out_unlock;
    /* The hook goes last: once the object has counted the handle, nothing can fail. */
    if (o->handle_opened && (st = o->handle_opened(o)) != STATUS_SUCCESS)
        goto out_unlock;
    i = free_head;
    free_head = table[i].next_free;
    wm_object_ref(o);
    table[i] = (struct slot){ o, access, NO_SLOT };
out_unlock:
    pthread_mutex_unlock(&table_lock);
    if (st == STATUS_SUCCESS) {
        HANDLE h = handle_of(i);
        /* The caller's pointer (probed before anything was made; a write failing now means
         * another thread took its page away): no handle it cannot see is left open. */
        if (wm_os_copy(out, &h, sizeof(h))) {
            NtClose(h);
            st = STATUS_ACCESS_VIOLATION;
        }
    }
    return st;
}

NTSTATUS wm_handle_get(HANDLE h, int type, struct wm_object **out, ACCESS_MASK *access)
{
    size_t i;
    NTSTATUS st = STATUS_INVALID_HANDLE;

    if (h == NtCurrentProcess() || h == NtCurrentThread()) {
        struct wm_object *o = h == NtCurrentProcess() ? &process_object : &thread_object;
        if (o->type != type)
            return STATUS_OBJECT_TYPE_MISMATCH;
        *out = o;
        if (access)
            *access = h == NtCurrentProcess() ? PROCESS_ALL_ACCESS : THREAD_ALL_ACCESS;
        return STATUS_SUCCESS;
    }
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
        table[i] = (struct slot){ NULL, 0, free_head };
        free_head = i;
    }
    pthread_mutex_unlock(&table_lock);
    if (!o)
        return STATUS_INVALID_HANDLE;
    if (o->handle_closed)
        o->handle_closed(o);
    wm_object_release(o);
    return STATUS_SUCCESS;
}

/* NtDuplicateObject within the current process.  The pseudo handles duplicate into real
 * process and thread handles.  With DUPLICATE_CLOSE_SOURCE the source is closed whatever
 * else happens, and the target process may then be NULL (nothing is duplicated). */
WINMEM_API NTSTATUS NTAPI NtDuplicateObject(HANDLE src_process, HANDLE src, HANDLE dst_process,
                                            PHANDLE dst, ACCESS_MASK access, ULONG attributes,
                                            ULONG options)
{
    struct slot s = { NULL, 0, NO_SLOT };
    size_t i;
    NTSTATUS st = wm_handle_check_process(src_process);

    (void)attributes;
    if (st)
        return st; /* no source process: nothing to close either */
    if (dst && wm_os_probe(dst, sizeof(*dst)))
        return STATUS_ACCESS_VIOLATION;
    if (src == NtCurrentProcess() || src == NtCurrentThread()) {
        s.obj = src == NtCurrentProcess() ? &process_object : &thread_object;
        s.access = src == NtCurrentProcess() ? PROCESS_ALL_ACCESS : THREAD_ALL_ACCESS;
        wm_object_ref(s.obj);
    } else {
        pthread_mutex_lock(&table_lock);
        if (index_of(src, &i) && table[i].obj) {
            s = table[i];
            wm_object_ref(s.obj);
        }
        pthread_mutex_unlock(&table_lock);
    }
    if (!s.obj)
        return STATUS_INVALID_HANDLE;
    if (!(options & DUPLICATE_SAME_ACCESS))
        s.access = access;
    if (!dst_process)
        st = (options & DUPLICATE_CLOSE_SOURCE) ? STATUS_SUCCESS : STATUS_INVALID_HANDLE;
    else
        st = wm_handle_check_process(dst_process);
    /* The opened hook can refuse when the source's last handle was closed meanwhile (a named
     * section has then left the namespace): the source handle is gone, as it would be had
     * the close come first. */
    if (!st && dst_process && dst)
        st = wm_handle_create(s.obj, s.access, dst);
    wm_object_release(s.obj);
    if (options & DUPLICATE_CLOSE_SOURCE)
        NtClose(src);
    return st;
}

NTSTATUS wm_handle_check_process(HANDLE h)
{
    struct wm_object *o;
    NTSTATUS st = wm_handle_get(h, WM_OBJ_PROCESS, &o, NULL);
    if (!st)
        wm_object_release(o);
    return st;
}

DWORD wm_handle_process_id(void)
{
    return wm_os_process_id();
}
