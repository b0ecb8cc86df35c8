/*
 * ob.h - cross-file functions of the object layer (src/ob/): reference-counted objects behind
 * handles (handle.c), the named-object namespace named sections live in (namespace.c), and
 * the process token (token.c).
 *
 * Layer rules, stated once: every function returns NTSTATUS (or nothing); Linux is reached
 * only through os/; names arrive as Windows object names (UNICODE_STRING) and are turned into
 * one canonical string per name before anything else sees them.
 */
#ifndef WM_OB_H
#define WM_OB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "os/os.h"
#include "rtl/rtl.h"
#include "securitybaseapi.h"

/* ---- handle.c: objects behind handles ------------------------------------------------------ */

enum {
    WM_OBJ_FILE = 1,
    WM_OBJ_SECTION = 2,
    WM_OBJ_PROCESS = 3,
    WM_OBJ_THREAD = 4,
    WM_OBJ_TOKEN = 5,
};

struct wm_object {
    atomic_int refs; /* handles + views + calls in progress */
    int type;        /* WM_OBJ_* */
    void (*destroy)(struct wm_object *o);
    /* Optional, called by wm_handle_create and NtClose only, so they always balance.
     * handle_opened runs under the handle table's lock (it must not block or take another
     * lock) as the last step of making a handle: a failure leaves no handle and nothing
     * counted.  handle_closed runs after the handle is gone, with no lock held. */
    NTSTATUS (*handle_opened)(struct wm_object *o);
    void (*handle_closed)(struct wm_object *o);
};

void wm_object_ref(struct wm_object *o);
void wm_object_release(struct wm_object *o);
/* A new handle holding a reference to o, with the given access rights; the object's
 * handle_opened hook has counted it.  On failure nothing changed.  The caller keeps o alive
 * for the call: it holds a reference (one found by name, not through a handle, needs one
 * taken under the lock that keeps its last handle from closing). */
NTSTATUS wm_handle_create(struct wm_object *o, ACCESS_MASK access, HANDLE *out);
/* STATUS_SUCCESS when h is the current process: its pseudo handle or a real handle to it;
 * STATUS_OBJECT_TYPE_MISMATCH for another object's handle, else STATUS_INVALID_HANDLE. */
NTSTATUS wm_handle_check_process(HANDLE h);
/* Around fork(): the handle table's lock held across it (mm/vmstate.c orders the calls). */
void wm_handle_fork_prepare(void);
void wm_handle_fork_release(void);
/* The id of the process the process object stands for (GetCurrentProcessId). */
DWORD wm_handle_process_id(void);
/* The object behind h with a new reference (release it), checked for type; the pseudo
 * handles stand for the process and thread objects. */
NTSTATUS wm_handle_get(HANDLE h, int type, struct wm_object **out, ACCESS_MASK *access);

/* ---- namespace.c ---------------------------------------------------------------------- */

/* The canonical form of an object name ("L-<name>" for Local\ or no prefix, "G-<name>" for
 * Global\; '/', '%', NUL and non-ASCII units escaped as %xxxx, so it is injective), malloc'd. */
NTSTATUS wm_namespace_name(const UNICODE_STRING *us, char **out);

/* A named shared-memory object as a section sees it. */
struct wm_namespace_object {
    int fd;            /* the object, held with a shared lock while this process has handles */
    uint64_t data_off; /* where the section's data starts in it (after the header) */
    uint64_t size;     /* the section's size */
    uint32_t prot, attrs;
};

/* The object for full name: made with o's size, prot and attrs, or, when another process of
 * this user holds it already (*exists), that one, with its creator's size, prot and attrs.
 * STATUS_ACCESS_DENIED for anything under the name winmem did not make for this user. */
NTSTATUS wm_namespace_create(const char *full, struct wm_namespace_object *o, bool *exists);
/* The existing object for full name; STATUS_OBJECT_NAME_NOT_FOUND when no process holds it. */
NTSTATUS wm_namespace_open(const char *full, struct wm_namespace_object *o);
/* This process's last handle to the object is gone: remove the name if no other process
 * holds it.  fd stays open (views may still map it). */
void wm_namespace_release(int fd, const char *full);

/* ---- token.c: the process token -------------------------------------------------------- */

/* A new handle to the process token (process: this process); generic rights mapped. */
NTSTATUS wm_token_open(HANDLE process, ACCESS_MASK access, HANDLE *out);
/* NtAdjustPrivilegesToken: STATUS_NOT_ALL_ASSIGNED (success) when a privilege asked for is not
 * held; *ret_len is always the size PreviousState needs. */
NTSTATUS wm_token_adjust(HANDLE token, bool disable_all, const TOKEN_PRIVILEGES *new_state,
                         ULONG len, TOKEN_PRIVILEGES *prev, ULONG *ret_len);

#endif
