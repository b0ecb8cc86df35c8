/*
 * ob.h - cross-file functions of the object layer (src/ob/): the named-object namespace that
 * named sections live in (namespace.c).  The handle table and the object type itself are
 * still in nt/handle.c and nt/nt.h.
 *
 * Layer rules, stated once: every function returns NTSTATUS (or nothing); Linux is reached
 * only through os/; names arrive as Windows object names (UNICODE_STRING) and are turned into
 * one canonical string per name before anything else sees them.
 */
#ifndef WM_OB_H
#define WM_OB_H

#include <stdbool.h>
#include <stdint.h>

#include "nt/nt.h"

/* ---- namespace.c ---------------------------------------------------------------------- */

/* The canonical form of an object name ("L-<name>" for Local\ or no prefix, "G-<name>" for
 * Global\; '/', '%', NUL and non-ASCII units escaped as %xxxx, so it is injective), malloc'd. */
NTSTATUS wm_ob_name_from_unicode(const UNICODE_STRING *us, char **out);

/* A named shared-memory object as a section sees it. */
struct wm_ob_shm {
    int fd;            /* the object, held with a shared lock while this process has handles */
    uint64_t data_off; /* where the section's data starts in it (after the header) */
    uint64_t size;     /* the section's size */
    uint32_t prot, attrs;
};

/* The object for full name: made with o's size, prot and attrs, or, when another process of
 * this user holds it already (*exists), that one, with its creator's size, prot and attrs.
 * STATUS_ACCESS_DENIED for anything under the name winmem did not make for this user. */
NTSTATUS wm_ob_shm_create(const char *full, struct wm_ob_shm *o, bool *exists);
/* The existing object for full name; STATUS_OBJECT_NAME_NOT_FOUND when no process holds it. */
NTSTATUS wm_ob_shm_open(const char *full, struct wm_ob_shm *o);
/* This process's last handle to the object is gone: remove the name if no other process
 * holds it.  fd stays open (views may still map it). */
void wm_ob_shm_release(int fd, const char *full);

#endif
