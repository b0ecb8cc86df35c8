/*
 * handlers.c - the vectored exception handler and vectored continue handler lists, on the
 * shared callback list (nt/cblist.c): dispatch, which runs in a signal handler, snapshots a
 * list without allocating and calls the handlers with no lock held; a handler removed before
 * its turn is skipped, and entries are freed only once no dispatch holds them (Windows
 * reference-counts them the same way).
 */
#include "except.h"

#include "nt/nt.h"

#define SNAPSHOT_MAX 256

static struct wm_cblist lists[2] = { WM_CBLIST_INIT, WM_CBLIST_INIT };

PVOID wm_handlers_add(enum wm_handler_list list, ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    return wm_cblist_add(&lists[list], (void *)fn, first != 0, 1 << 20);
}

ULONG wm_handlers_remove(enum wm_handler_list list, PVOID handle)
{
    /* No waiting: a handler may remove another that is running on a thread it waits for. */
    return handle && wm_cblist_remove(&lists[list], handle, NULL, NULL, false);
}

LONG wm_handlers_call_sigsafe(enum wm_handler_list list, EXCEPTION_POINTERS *ep)
{
    struct wm_cb *snap[SNAPSHOT_MAX];
    size_t n = wm_cblist_snapshot_sigsafe(&lists[list], snap, SNAPSHOT_MAX);
    LONG result = EXCEPTION_CONTINUE_SEARCH;

    for (size_t i = 0; i < n && result != EXCEPTION_CONTINUE_EXECUTION; i++) {
        if (!wm_cblist_call_begin_sigsafe(snap[i]))
            continue; /* removed before its turn */
        result = ((PVECTORED_EXCEPTION_HANDLER)snap[i]->fn)(ep) == EXCEPTION_CONTINUE_EXECUTION
                     ? EXCEPTION_CONTINUE_EXECUTION
                     : EXCEPTION_CONTINUE_SEARCH;
        wm_cblist_call_end_sigsafe(snap[i]);
    }
    wm_cblist_release_sigsafe(snap, n);
    return result;
}
