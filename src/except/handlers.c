/*
 * handlers.c - the vectored exception handler and vectored continue handler lists, on the
 * shared callback list (rtl/cblist.c): dispatch, which runs in a signal handler, walks a list
 * without allocating and calls the handlers with no lock held, in order, however many there
 * are; a handler removed before its turn is skipped, and entries are freed only once no
 * dispatch holds them (Windows reference-counts them the same way).
 */
#include "except.h"

#include <pthread.h>

#include "rtl/rtl.h"

static struct wm_cblist lists[2] = { WM_CBLIST_INIT, WM_CBLIST_INIT };

static void fork_prepare(void)
{
    wm_cblist_fork_prepare(&lists[WM_VEH]);
    wm_cblist_fork_prepare(&lists[WM_VCH]);
}

static void fork_parent(void)
{
    wm_cblist_fork_parent(&lists[WM_VCH]);
    wm_cblist_fork_parent(&lists[WM_VEH]);
}

static void fork_child(void)
{
    wm_cblist_fork_child(&lists[WM_VCH], NULL);
    wm_cblist_fork_child(&lists[WM_VEH], NULL);
}

/* At load, before the memory manager's handler (src/mm/vmstate.c states the order). */
__attribute__((constructor(101))) static void register_fork(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

PVOID wm_handlers_add(enum wm_handler_list list, ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    return wm_cblist_add(&lists[list], (void *)fn, first != 0);
}

ULONG wm_handlers_remove(enum wm_handler_list list, PVOID handle)
{
    /* No waiting: a handler may remove another that is running on a thread it waits for. */
    return handle && wm_cblist_remove(&lists[list], handle, NULL, NULL, false);
}

LONG wm_handlers_call_sigsafe(enum wm_handler_list list, EXCEPTION_POINTERS *ep)
{
    struct wm_cblist *l = &lists[list];

    for (struct wm_cb *c = wm_cblist_next_sigsafe(l, NULL); c; c = wm_cblist_next_sigsafe(l, c)) {
        if (!wm_cblist_call_begin_sigsafe(c))
            continue; /* removed before its turn */
        LONG r = ((PVECTORED_EXCEPTION_HANDLER)c->fn)(ep);
        wm_cblist_call_end_sigsafe(c);
        if (r == EXCEPTION_CONTINUE_EXECUTION) {
            wm_cblist_release_sigsafe(c);
            return EXCEPTION_CONTINUE_EXECUTION;
        }
    }
    return EXCEPTION_CONTINUE_SEARCH;
}
