/*
 * tls.c - thread-local (TlsAlloc) and fiber-local (FlsAlloc) storage slots, kept as Windows
 * keeps them: one process-wide table saying which indices are taken, and per thread an array
 * of values.  Freeing an index clears it in every thread (so the next TlsAlloc of the same
 * index reads NULL everywhere, as on Windows); a fiber-local index also runs its callback for
 * each non-NULL value, at thread exit and when the index is freed.  winmem has no fibers, so a
 * thread is its one fiber.
 *
 * A thread gets its arrays on its first Set; until then every Get reads NULL.  Threads with
 * arrays are on a list (under list_lock), which FlsFree/TlsFree walk.  A thread reads its own
 * values without the lock; other threads only ever clear them, with atomic stores.
 */
#include "ps.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "os/os.h"

struct values {
    struct values *prev, *next; /* the list of threads that have values */
    _Atomic(void *) tls[WM_TLS_SLOTS];
    _Atomic(void *) *fls; /* nfls entries, grown on demand (under list_lock) */
    size_t nfls;
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct values *threads;
static bool tls_used[WM_TLS_SLOTS];
static atomic_bool fls_used[WM_FLS_SLOTS]; /* read without the lock by Get/Set */
static void (*fls_callback[WM_FLS_SLOTS])(void *);
static _Thread_local struct values *self;

static bool in_range(bool fls, uint32_t index)
{
    return fls ? index != 0 && index < WM_FLS_SLOTS : index < WM_TLS_SLOTS;
}

/* Get and Set check a fiber-local index is allocated; a thread-local one only for range, as
 * TlsGetValue / TlsSetValue do. */
static bool usable(bool fls, uint32_t index)
{
    return in_range(fls, index) &&
           (!fls || atomic_load_explicit(&fls_used[index], memory_order_relaxed));
}

/* Thread exit: each fiber-local value's callback, then the thread leaves the list.  The
 * callback is read and the value cleared under the lock, so a concurrent FlsFree calls it for
 * a value either here or there, never both; it runs with no lock held (it may call Fls*). */
static void thread_exit(void *ctx)
{
    struct values *v = ctx;

    for (size_t i = 1; i < v->nfls; i++) {
        pthread_mutex_lock(&list_lock);
        void (*cb)(void *) = atomic_load(&fls_used[i]) ? fls_callback[i] : NULL;
        void *value = i < v->nfls ? atomic_exchange(&v->fls[i], NULL) : NULL;
        pthread_mutex_unlock(&list_lock);
        if (cb && value)
            cb(value);
    }
    pthread_mutex_lock(&list_lock);
    if (v->prev)
        v->prev->next = v->next;
    else
        threads = v->next;
    if (v->next)
        v->next->prev = v->prev;
    pthread_mutex_unlock(&list_lock);
    self = NULL;
    free(v->fls);
    free(v);
}

static NTSTATUS my_values(struct values **out)
{
    if (!self) {
        struct values *v = calloc(1, sizeof(*v));
        if (!v)
            return STATUS_NO_MEMORY;
        if (wm_os_thread_exit_hook(thread_exit, v) != 0) {
            free(v);
            return STATUS_NO_MEMORY;
        }
        pthread_mutex_lock(&list_lock);
        v->next = threads;
        if (threads)
            threads->prev = v;
        threads = v;
        pthread_mutex_unlock(&list_lock);
        self = v;
    }
    *out = self;
    return STATUS_SUCCESS;
}

static size_t count_threads_locked(void)
{
    size_t n = 0;
    for (struct values *v = threads; v; v = v->next)
        n++;
    return n;
}

/* fork(): the lock is a leaf, so it is taken last (registered at the callback lists'
 * priority; mm/vmstate.c explains the order).  The child has one thread: the others' tables
 * are dropped without their callbacks, since those threads never exit there. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&list_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&list_lock);
}

static void fork_child(void)
{
    struct values *v = threads, *next;
    for (; v; v = next) {
        next = v->next;
        if (v != self) {
            free(v->fls);
            free(v);
        }
    }
    threads = self;
    if (self)
        self->prev = self->next = NULL;
    pthread_mutex_unlock(&list_lock);
}

__attribute__((constructor(101))) static void register_fork(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

NTSTATUS wm_tls_alloc(bool fls, void (*callback)(void *), uint32_t *index)
{
    NTSTATUS st = STATUS_NO_MORE_ENTRIES;

    pthread_mutex_lock(&list_lock);
    for (uint32_t i = fls ? 1 : 0; i < (fls ? WM_FLS_SLOTS : WM_TLS_SLOTS); i++) {
        if (!(fls ? atomic_load(&fls_used[i]) : tls_used[i])) {
            if (fls)
                atomic_store(&fls_used[i], true);
            else
                tls_used[i] = true;
            if (fls)
                fls_callback[i] = callback;
            *index = i;
            st = STATUS_SUCCESS;
            break;
        }
    }
    pthread_mutex_unlock(&list_lock);
    return st;
}

NTSTATUS wm_tls_free(bool fls, uint32_t index)
{
    void (*cb)(void *) = NULL;
    void **values = NULL;
    size_t n = 0, cap = 0, nthreads;

    pthread_mutex_lock(&list_lock);
    /* Room for every thread's value, allocated with the lock dropped (list_lock is a leaf:
     * nothing, malloc included, runs under it); if threads came meanwhile, again. */
    while (fls && (nthreads = count_threads_locked()) > cap) {
        pthread_mutex_unlock(&list_lock);
        void **grown = realloc(values, nthreads * sizeof(*values));
        if (!grown) {
            free(values);
            return STATUS_NO_MEMORY;
        }
        values = grown;
        cap = nthreads;
        pthread_mutex_lock(&list_lock);
    }
    if (!in_range(fls, index) || !(fls ? atomic_load(&fls_used[index]) : tls_used[index])) {
        pthread_mutex_unlock(&list_lock);
        free(values);
        return STATUS_INVALID_PARAMETER;
    }
    if (fls) {
        cb = fls_callback[index];
        atomic_store(&fls_used[index], false);
        fls_callback[index] = NULL;
    } else {
        tls_used[index] = false;
    }
    for (struct values *v = threads; v; v = v->next) {
        void *value;
        if (!fls)
            atomic_store(&v->tls[index], NULL);
        else if (index < v->nfls && (value = atomic_exchange(&v->fls[index], NULL)) && cb)
            values[n++] = value;
    }
    pthread_mutex_unlock(&list_lock);
    /* The callbacks run on the freeing thread, with no lock held, as FlsFree runs them. */
    for (size_t i = 0; i < n; i++)
        cb(values[i]);
    free(values);
    return STATUS_SUCCESS;
}

NTSTATUS wm_tls_get(bool fls, uint32_t index, void **value)
{
    if (!usable(fls, index))
        return STATUS_INVALID_PARAMETER;
    struct values *v = self;
    if (!v)
        *value = NULL;
    else if (fls)
        *value =
            index < v->nfls ? atomic_load_explicit(&v->fls[index], memory_order_relaxed) : NULL;
    else
        *value = atomic_load_explicit(&v->tls[index], memory_order_relaxed);
    return STATUS_SUCCESS;
}

NTSTATUS wm_tls_set(bool fls, uint32_t index, void *value)
{
    struct values *v;
    NTSTATUS st;

    if (!usable(fls, index))
        return STATUS_INVALID_PARAMETER;
    if (!value && !self)
        return STATUS_SUCCESS; /* NULL is what an absent table reads as */
    if ((st = my_values(&v)) != STATUS_SUCCESS)
        return st;
    if (!fls) {
        atomic_store_explicit(&v->tls[index], value, memory_order_relaxed);
        return STATUS_SUCCESS;
    }
    /* Under the lock, checked again: a value stored into an index FlsFree has just freed
     * would never see its callback. */
    pthread_mutex_lock(&list_lock);
    if (!atomic_load(&fls_used[index])) {
        st = STATUS_INVALID_PARAMETER;
    } else if (index >= v->nfls) {
        size_t n = index < 64 ? 64 : (size_t)index * 2;
        if (n > WM_FLS_SLOTS)
            n = WM_FLS_SLOTS;
        _Atomic(void *) *grown = realloc(v->fls, n * sizeof(*grown));
        if (grown) {
            for (size_t i = v->nfls; i < n; i++)
                atomic_init(&grown[i], NULL);
            v->fls = grown;
            v->nfls = n;
        } else {
            st = STATUS_NO_MEMORY;
        }
    }
    if (st == STATUS_SUCCESS)
        atomic_store_explicit(&v->fls[index], value, memory_order_relaxed);
    pthread_mutex_unlock(&list_lock);
    return st;
}
