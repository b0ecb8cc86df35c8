/*
 * handlers.c - the vectored exception handler and vectored continue handler lists.
 *
 * Add and Remove run in ordinary code and may malloc; dispatch runs in a signal handler, so
 * it only takes a short spinlock to snapshot the list (taking a reference on each entry),
 * calls the handlers with no lock held, and drops the references.  An entry removed while
 * a dispatch holds it is parked on a list and freed by a later Add or Remove.
 */
#include "except.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SNAPSHOT_MAX 256

struct entry {
    struct entry *next;
    PVECTORED_EXCEPTION_HANDLER fn;
    atomic_int refs;
    atomic_bool removed;
};

static struct entry *heads[2];
static struct entry *zombies; /* removed while referenced */
static atomic_flag list_lock = ATOMIC_FLAG_INIT;

/* Async-signal-safe: a spinlock that yields.  Never held across a call into user code, and
 * only for a few loads and stores, so a handler never spins on its own thread's hold. */
static void lock_lists(void)
{
    while (atomic_flag_test_and_set_explicit(&list_lock, memory_order_acquire))
        sched_yield();
}

static void unlock_lists(void)
{
    atomic_flag_clear_explicit(&list_lock, memory_order_release);
}

/* Free zombies nobody references any more; caller holds the lock.  Returns the list of
 * entries to free once the lock is dropped. */
static struct entry *reap_locked(void)
{
    struct entry **pp = &zombies, *dead = NULL;
    while (*pp) {
        struct entry *e = *pp;
        if (atomic_load(&e->refs) == 0) {
            *pp = e->next;
            e->next = dead;
            dead = e;
        } else {
            pp = &e->next;
        }
    }
    return dead;
}

static void free_all(struct entry *e)
{
    while (e) {
        struct entry *n = e->next;
        free(e);
        e = n;
    }
}

PVOID wm_handlers_add(enum wm_handler_list list, ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    struct entry *e = malloc(sizeof(*e));
    if (!e)
        return NULL;
    e->fn = fn;
    atomic_init(&e->refs, 0);
    atomic_init(&e->removed, false);

    lock_lists();
    if (first || !heads[list]) {
        e->next = heads[list];
        heads[list] = e;
    } else {
        struct entry *t = heads[list];
        while (t->next)
            t = t->next;
        e->next = NULL;
        t->next = e;
    }
    struct entry *dead = reap_locked();
    unlock_lists();
    free_all(dead);
    return e;
}

ULONG wm_handlers_remove(enum wm_handler_list list, PVOID handle)
{
    struct entry *found = NULL;

    lock_lists();
    for (struct entry **pp = &heads[list]; *pp; pp = &(*pp)->next) {
        if (*pp == handle) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    if (found) {
        atomic_store(&found->removed, true);
        found->next = zombies;
        zombies = found;
    }
    struct entry *dead = reap_locked();
    unlock_lists();
    free_all(dead);
    return found != NULL;
}

LONG wm_handlers_call_sigsafe(enum wm_handler_list list, EXCEPTION_POINTERS *ep)
{
    struct entry *snap[SNAPSHOT_MAX];
    unsigned n = 0, i;
    LONG result = EXCEPTION_CONTINUE_SEARCH;

    lock_lists();
    for (struct entry *e = heads[list]; e && n < SNAPSHOT_MAX; e = e->next) {
        atomic_fetch_add(&e->refs, 1);
        snap[n++] = e;
    }
    unlock_lists();

    for (i = 0; i < n; i++) {
        if (!atomic_load(&snap[i]->removed) && snap[i]->fn(ep) == EXCEPTION_CONTINUE_EXECUTION) {
            result = EXCEPTION_CONTINUE_EXECUTION;
            break;
        }
    }
    for (i = 0; i < n; i++)
        atomic_fetch_sub(&snap[i]->refs, 1);
    return result;
}
