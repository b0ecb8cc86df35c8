/*
 * handlers.c - the vectored exception and vectored continue handler lists.  Dispatch walks
 * them in a signal handler on every exception, so the walk takes no lock, allocates nothing
 * and writes no shared memory: no atomic read-modify-write at all, which is what a list of
 * reference-counted entries (rtl/cblist.c, ~25 ns of locked instructions per exception)
 * would cost.  Handlers run in order, however many there are, with nothing held; a handler
 * removed before its turn is skipped.
 *
 * How a walk stays safe while Add and Remove change the list under it:
 * - entries are never freed: a removed entry goes on a free list and a later Add reuses it,
 *   so any pointer a walker read from the list is still an entry (of this list, the other
 *   one, or the free list), never unmapped or foreign memory;
 * - Add publishes a fully written entry with one release store, so a walker sees it whole
 *   or not at all;
 * - Remove marks the entry removed, unlinks it, and then bumps the list's generation; a
 *   walker takes the generation when it starts and checks it after reading each entry.  While
 *   it is unchanged nothing was removed, so the entry just read was in the list and was not
 *   reused (a reuse follows a removal).  When it changed, the walk restarts from the head and
 *   skips to the first entry whose position key is past the last one it called (keys are
 *   never reused: Add hands out a new one), so no handler runs twice and none is skipped
 *   unless it was removed.
 * Entry fields are written with release stores and read with acquire loads, so a walker that
 * sees any write of a reuse also sees the generation bump that preceded it.  Memory stays
 * bounded by the most handlers ever registered at once.  Add and Remove serialise on a
 * spinlock that is never held across a call into user code.
 */
#include "except.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

struct veh {
    _Atomic(struct veh *) next;
    _Atomic(PVECTORED_EXCEPTION_HANDLER) fn;
    _Atomic int64_t pos; /* order key: lower runs first (prepends count down, appends up) */
    atomic_bool removed;
    struct veh *free_next; /* on the free list; touched under the lock only */
};

struct veh_list {
    _Atomic(struct veh *) head;
    atomic_uint gen; /* bumped by every removal */
    int64_t lo, hi;  /* the lowest and highest position keys handed out (under the lock) */
};

static struct veh_list lists[2];
static struct veh *free_entries;
static atomic_flag lock = ATOMIC_FLAG_INIT;

static void take(void)
{
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        sched_yield();
}

static void drop(void)
{
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

static void fork_prepare(void)
{
    take();
}

static void fork_after(void)
{
    drop();
}

/* At load, before the memory manager's handler (src/mm/vmstate.c states the order). */
__attribute__((constructor(101))) static void register_fork(void)
{
    pthread_atfork(fork_prepare, fork_after, fork_after);
}

PVOID wm_handlers_add(enum wm_handler_list list, ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    struct veh_list *l = &lists[list];
    struct veh *fresh = malloc(sizeof(*fresh)); /* outside the lock; back if one is reused */
    struct veh *e;

    take();
    e = free_entries;
    if (e)
        free_entries = e->free_next;
    else if (!(e = fresh)) {
        drop();
        return NULL;
    }
    int64_t pos = first ? --l->lo : ++l->hi;
    struct veh *_Atomic *pp = &l->head;
    if (!first)
        for (struct veh *n; (n = atomic_load_explicit(pp, memory_order_relaxed));)
            pp = &n->next;
    atomic_store_explicit(&e->fn, fn, memory_order_release);
    atomic_store_explicit(&e->pos, pos, memory_order_release);
    atomic_store_explicit(&e->removed, false, memory_order_release);
    atomic_store_explicit(&e->next, atomic_load_explicit(pp, memory_order_relaxed),
                          memory_order_release);
    atomic_store_explicit(pp, e, memory_order_release); /* published whole */
    drop();
    if (e != fresh)
        free(fresh);
    return e;
}

ULONG wm_handlers_remove(enum wm_handler_list list, PVOID handle)
{
    struct veh_list *l = &lists[list];
    struct veh *found = NULL;

    if (!handle)
        return 0;
    take();
    for (struct veh *_Atomic *pp = &l->head, *n;
         (n = atomic_load_explicit(pp, memory_order_relaxed)); pp = &n->next) {
        if (n == handle) {
            found = n;
            atomic_store_explicit(&n->removed, true, memory_order_release);
            atomic_store_explicit(pp, atomic_load_explicit(&n->next, memory_order_relaxed),
                                  memory_order_release);
            atomic_fetch_add_explicit(&l->gen, 1, memory_order_release);
            found->free_next = free_entries;
            free_entries = found;
            break;
        }
    }
    drop();
    /* No waiting for calls under way: a handler may remove another that is running on a
     * thread it waits for. */
    return found != NULL;
}

LONG wm_handlers_call_sigsafe(enum wm_handler_list list, EXCEPTION_POINTERS *ep, void **who)
{
    struct veh_list *l = &lists[list];
    int64_t last = INT64_MIN; /* position of the last handler called */

restart:;
    unsigned gen = atomic_load_explicit(&l->gen, memory_order_acquire);
    struct veh *e = atomic_load_explicit(&l->head, memory_order_acquire);
    while (e) {
        PVECTORED_EXCEPTION_HANDLER fn = atomic_load_explicit(&e->fn, memory_order_acquire);
        int64_t pos = atomic_load_explicit(&e->pos, memory_order_acquire);
        bool removed = atomic_load_explicit(&e->removed, memory_order_acquire);
        if (atomic_load_explicit(&l->gen, memory_order_acquire) != gen)
            goto restart; /* e may have been removed and reused: find our place again */
        if (pos > last && !removed) {
            last = pos;
            if (fn(ep) == EXCEPTION_CONTINUE_EXECUTION) {
                if (who)
                    *who = (void *)fn;
                return EXCEPTION_CONTINUE_EXECUTION;
            }
            /* Entries added after this one meanwhile run too; read its link only now. */
            if (atomic_load_explicit(&l->gen, memory_order_acquire) != gen)
                goto restart;
        }
        e = atomic_load_explicit(&e->next, memory_order_acquire);
    }
    return EXCEPTION_CONTINUE_SEARCH;
}
