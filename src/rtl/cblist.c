/*
 * cblist.c - a list of callbacks that threads add to and remove from while others call them,
 * possibly from a signal handler: the secure memory cache callbacks (secure.c).  (The
 * vectored handler lists, walked on every exception, have a cheaper walk of their own in
 * except/handlers.c.)
 *
 * Callers walk the list one entry at a time: each step takes a short spinlock, holds the next
 * entry (a reference count) and lets go of the previous one, so a call runs with no lock held
 * and a walk needs no buffer, however long the list.  Each entry keeps its position key, so a
 * walk whose current entry was removed meanwhile resumes at the first live entry after it.  A
 * removed entry is unlinked at once, skipped by walkers that see it removed, and freed only
 * when no walker holds it (by a later add or remove, never by a caller that may be a signal
 * handler).
 *
 * "Not called after Remove returns" is a handshake on two flags: a caller raises `calling`
 * and then looks at `removed`; Remove sets `removed` and then waits for `calling` to drop.
 * Either the caller sees the removal and skips the entry, or Remove sees the call and waits
 * for it.  Only calls actually running are waited for, so a callback may remove entries
 * later in the list (or itself) without waiting on its own thread.
 */
#include "rtl.h"

#include <sched.h>
#include <stdlib.h>
#include <time.h>

/* Async-signal-safe: a spinlock that yields, held only for a few loads and stores and never
 * across a call into user code, so a signal handler never spins on its own thread's hold.
 * A caller with real-time priority (the secured-range monitor's readers, os/uffdmon.c)
 * yields to nobody of lower priority, so after a while it sleeps instead: a holder preempted
 * on the same CPU can then finish. */
static void take(struct wm_cblist *l)
{
    for (unsigned n = 0; atomic_flag_test_and_set_explicit(&l->lock, memory_order_acquire); n++) {
        if (n < 64) {
            sched_yield();
        } else {
            struct timespec ts = { 0, 1000 };
            nanosleep(&ts, NULL);
        }
    }
}

static void drop(struct wm_cblist *l)
{
    atomic_flag_clear_explicit(&l->lock, memory_order_release);
}

/* Unlink the zombies nobody holds; the caller frees them once the lock is dropped. */
static struct wm_cb *reap_locked(struct wm_cblist *l)
{
    struct wm_cb **pp = &l->zombies, *dead = NULL;
    while (*pp) {
        struct wm_cb *c = *pp;
        if (atomic_load(&c->active) == 0) {
            *pp = c->next;
            c->next = dead;
            dead = c;
        } else {
            pp = &c->next;
        }
    }
    return dead;
}

static void free_all(struct wm_cb *c)
{
    while (c) {
        struct wm_cb *n = c->next;
        free(c);
        c = n;
    }
}

struct wm_cb *wm_cblist_add(struct wm_cblist *l, void *fn, bool first)
{
    struct wm_cb *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    c->fn = fn;
    atomic_init(&c->active, 0);
    atomic_init(&c->calling, 0);
    atomic_init(&c->removed, false);
    take(l);
    struct wm_cb **pp = &l->head;
    if (!first)
        while (*pp)
            pp = &(*pp)->next;
    c->pos = first ? --l->lo : ++l->hi;
    c->next = *pp;
    *pp = c;
    atomic_fetch_add(&l->count, 1);
    struct wm_cb *dead = reap_locked(l);
    drop(l);
    free_all(dead);
    return c;
}

bool wm_cblist_remove(struct wm_cblist *l, const struct wm_cb *entry, const void *fn,
                      const struct wm_cb *self, bool wait)
{
    struct wm_cb *found = NULL;

    take(l);
    for (struct wm_cb **pp = &l->head; *pp; pp = &(*pp)->next) {
        if (entry ? *pp == entry : (*pp)->fn == fn) {
            found = *pp;
            *pp = found->next;
            atomic_fetch_sub(&l->count, 1);
            break;
        }
    }
    if (found)
        atomic_store(&found->removed, true);
    drop(l);
    if (!found)
        return false;
    if (wait) {
        /* Calls already running on other threads end before this returns; the caller's own
         * call (a callback removing itself) is not waited for.  The entry is not yet on the
         * zombie list, so nobody frees it while we look. */
        int mine = self == found;
        while (atomic_load(&found->calling) > mine)
            sched_yield();
    }
    take(l);
    found->next = l->zombies;
    l->zombies = found;
    struct wm_cb *dead = reap_locked(l);
    drop(l);
    free_all(dead);
    return true;
}

struct wm_cb *wm_cblist_next_sigsafe(struct wm_cblist *l, struct wm_cb *prev)
{
    struct wm_cb *c;

    if (!prev && atomic_load(&l->count) == 0)
        return NULL;
    take(l);
    if (!prev) {
        c = l->head;
    } else if (!atomic_load(&prev->removed)) {
        c = prev->next;
    } else {
        /* prev was unlinked while it was called: its successor is the first live entry
         * after its place in the order, which its position key still tells. */
        for (c = l->head; c && c->pos <= prev->pos; c = c->next)
            ;
    }
    if (c)
        atomic_fetch_add(&c->active, 1);
    if (prev)
        atomic_fetch_sub(&prev->active, 1);
    drop(l);
    return c;
}

bool wm_cblist_call_begin_sigsafe(struct wm_cb *c)
{
    atomic_fetch_add(&c->calling, 1);
    if (!atomic_load(&c->removed))
        return true;
    atomic_fetch_sub(&c->calling, 1);
    return false;
}

void wm_cblist_call_end_sigsafe(struct wm_cb *c)
{
    atomic_fetch_sub(&c->calling, 1);
}

void wm_cblist_release_sigsafe(struct wm_cb *c)
{
    if (c)
        atomic_fetch_sub(&c->active, 1);
}

void wm_cblist_fork_prepare(struct wm_cblist *l)
{
    take(l);
}

void wm_cblist_fork_parent(struct wm_cblist *l)
{
    drop(l);
}

void wm_cblist_fork_child(struct wm_cblist *l, const struct wm_cb *mine)
{
    /* Only the forking thread lives on in the child: calls other threads had under way will
     * never end there, so a Remove that waited for them would wait forever. */
    for (struct wm_cb *c = l->head; c; c = c->next)
        atomic_store(&c->calling, c == mine);
    drop(l);
}
