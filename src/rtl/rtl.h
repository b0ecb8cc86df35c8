/*
 * rtl.h - cross-file functions of the run-time library (src/rtl/): the one errno -> NTSTATUS
 * translation and RtlNtStatusToDosError's table (status.c), callback lists that signal
 * handlers walk (cblist.c), and UTF-16 <-> UTF-8 (unicode.c).
 *
 * Layer rules, stated once: nothing here takes the VM lock, touches the model or calls Linux;
 * every layer above may use it.  Functions named _sigsafe are async-signal-safe.
 */
#ifndef WM_RTL_H
#define WM_RTL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "winternl.h"

/* ---- status.c ---------------------------------------------------------------------------- */

/* What a system call was doing when it failed, where that changes what its errno means. */
enum wm_errno_use {
    WM_ERRNO_MEMORY,       /* mapping or protecting memory: EEXIST = address in use */
    WM_ERRNO_LARGE_PAGES,  /* mapping large pages: any refusal = no large pages to be had */
    WM_ERRNO_LOCK,         /* mlock/munlock: ENOMEM, EPERM, EAGAIN = working-set quota */
    WM_ERRNO_OBJECT,       /* files, names, descriptors: EEXIST = name collision */
    WM_ERRNO_SECTION_SIZE, /* sizing a section's memory file: EFBIG/EINVAL = too big */
};

/* The NTSTATUS for a negative errno from os/: the one errno -> NTSTATUS mapping. */
NTSTATUS wm_status_from_errno(int neg_errno, enum wm_errno_use use);

/* ---- cblist.c: callback lists called from any thread while others change them ------------ */

struct wm_cb {
    struct wm_cb *next;
    void *fn;
    int64_t pos;         /* order key: lower runs first (prepends count down, appends up) */
    atomic_int active;   /* walkers holding this entry (it is not freed while any do) */
    atomic_int calling;  /* calls of it running now (Remove with wait waits for these) */
    atomic_bool removed; /* unlinked: walkers that still hold it skip it */
};

struct wm_cblist {
    struct wm_cb *head, *zombies;
    int64_t lo, hi; /* the lowest and highest position keys handed out */
    atomic_int count;
    atomic_flag lock;
};
#define WM_CBLIST_INIT                        \
    {                                         \
        NULL, NULL, 0, 0, 0, ATOMIC_FLAG_INIT \
    }

/* Append (or, with first, prepend) fn; NULL when out of memory.  No limit on entries. */
struct wm_cb *wm_cblist_add(struct wm_cblist *l, void *fn, bool first);
/* Remove `entry`, or when it is NULL the earliest entry for fn; false if none.  With wait, the
 * calls other threads have under way end first (self: the entry the caller is running in). */
bool wm_cblist_remove(struct wm_cblist *l, const struct wm_cb *entry, const void *fn,
                      const struct wm_cb *self, bool wait);
/* Walk: the entry after prev (NULL: the first), held until it is passed back as prev or
 * released; prev's hold is dropped.  NULL at the end.  Async-signal-safe, allocation-free.
 *   for (c = wm_cblist_next_sigsafe(l, NULL); c; c = wm_cblist_next_sigsafe(l, c)) ...
 * and wm_cblist_release_sigsafe(c) when leaving the loop early. */
struct wm_cb *wm_cblist_next_sigsafe(struct wm_cblist *l, struct wm_cb *prev);
void wm_cblist_release_sigsafe(struct wm_cb *c);
/* Around each call of a held entry: false when it was removed (then do not call it). */
bool wm_cblist_call_begin_sigsafe(struct wm_cb *c);
void wm_cblist_call_end_sigsafe(struct wm_cb *c);
/* Around fork(): the list's lock is held across it, so the child never inherits it held by a
 * thread that does not exist there; in the child, only mine (the entry the forking thread is
 * running, or NULL) still counts as called. */
void wm_cblist_fork_prepare(struct wm_cblist *l);
void wm_cblist_fork_parent(struct wm_cblist *l);
void wm_cblist_fork_child(struct wm_cblist *l, const struct wm_cb *mine);

/* ---- unicode.c: names and paths ---------------------------------------------------------- */

/* n UTF-16 units -> NUL-terminated UTF-8; false when malformed or it does not fit. */
bool wm_unicode_to_utf8(const WCHAR *w, size_t n, char *out, size_t outlen);
/* NUL-terminated UTF-8 -> NUL-terminated UTF-16, returning the length in units, or -1 when
 * malformed or it does not fit. */
long wm_unicode_from_utf8(const char *s, WCHAR *out, size_t outlen);
/* Length of a NUL-terminated UTF-16 string, in units. */
size_t wm_unicode_len(const WCHAR *w);

#endif
