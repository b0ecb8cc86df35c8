/*
 * token.c - the process token, one object behind every handle OpenProcessToken makes, and
 * NtAdjustPrivilegesToken's rules for it.  The token holds what a standard Windows user's
 * holds (SeChangeNotifyPrivilege, enabled by default; SeIncreaseWorkingSetPrivilege) plus
 * SeLockMemoryPrivilege exactly when MEM_LARGE_PAGES can be allocated (the kernel offers
 * large pages: mm/alloc.c's own test), so large-page code that enables the privilege first
 * learns the answer there, as on Windows.  Enabling anything else reports
 * STATUS_NOT_ALL_ASSIGNED, a success status.
 */
#include "ob.h"

#include <pthread.h>

/* Privileges are LUIDs {n, 0}; Windows numbers them 2..36. */
#define FIRST_PRIVILEGE 2
#define LAST_PRIVILEGE 36
#define SE_LOCK_MEMORY_PRIVILEGE 4
#define SE_CHANGE_NOTIFY_PRIVILEGE 23
#define SE_INC_WORKING_SET_PRIVILEGE 33

static void token_destroy(struct wm_object *o)
{
    (void)o; /* the process token lives as long as the process */
}

static struct wm_object token_object = { 1, WM_OBJ_TOKEN, token_destroy, NULL, NULL };
static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static bool enabled[LAST_PRIVILEGE + 1] = { [SE_CHANGE_NOTIFY_PRIVILEGE] = true };
static bool removed[LAST_PRIVILEGE + 1];

/* fork(): token_lock is a leaf, taken last (mm/vmstate.c explains the order). */
static void fork_prepare(void)
{
    pthread_mutex_lock(&token_lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&token_lock);
}

__attribute__((constructor(101))) static void register_fork(void)
{
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

static bool held_locked(ULONG p)
{
    if (p < FIRST_PRIVILEGE || p > LAST_PRIVILEGE || removed[p])
        return false;
    if (p == SE_LOCK_MEMORY_PRIVILEGE)
        return wm_os_large_page_size() != 0;
    return p == SE_CHANGE_NOTIFY_PRIVILEGE || p == SE_INC_WORKING_SET_PRIVILEGE;
}

static ACCESS_MASK map_generic(ACCESS_MASK a)
{
    ACCESS_MASK out =
        a & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED);
    if (a & GENERIC_READ)
        out |= TOKEN_READ;
    if (a & GENERIC_WRITE)
        out |= TOKEN_WRITE;
    if (a & GENERIC_EXECUTE)
        out |= TOKEN_EXECUTE;
    if (a & (GENERIC_ALL | MAXIMUM_ALLOWED))
        out |= TOKEN_ALL_ACCESS;
    return out;
}

NTSTATUS wm_token_open(HANDLE process, ACCESS_MASK access, HANDLE *out)
{
    NTSTATUS st = wm_handle_check_process(process);
    if (st != STATUS_SUCCESS)
        return st;
    return wm_handle_create(&token_object, map_generic(access), out);
}

NTSTATUS wm_token_adjust(HANDLE token, bool disable_all, const TOKEN_PRIVILEGES *new_state,
                         ULONG len, TOKEN_PRIVILEGES *prev, ULONG *ret_len)
{
    bool want[LAST_PRIVILEGE + 1], gone[LAST_PRIVILEGE + 1];
    struct wm_object *o;
    ACCESS_MASK access;
    bool not_all = false;
    NTSTATUS st = wm_handle_get(token, WM_OBJ_TOKEN, &o, &access);

    if (st != STATUS_SUCCESS)
        return st;
    wm_object_release(o); /* the token is never destroyed */
    if (!(access & TOKEN_ADJUST_PRIVILEGES) || (prev && !(access & TOKEN_QUERY)))
        return STATUS_ACCESS_DENIED;
    if (!disable_all && !new_state)
        return STATUS_INVALID_PARAMETER;
    if (prev && !ret_len)
        return STATUS_ACCESS_VIOLATION;

    pthread_mutex_lock(&token_lock);
    /* What each privilege becomes, decided before anything changes. */
    for (ULONG p = 0; p <= LAST_PRIVILEGE; p++) {
        want[p] = enabled[p];
        gone[p] = removed[p];
    }
    if (disable_all) {
        for (ULONG p = 0; p <= LAST_PRIVILEGE; p++)
            want[p] = false;
    } else {
        for (DWORD i = 0; i < new_state->PrivilegeCount; i++) {
            const LUID_AND_ATTRIBUTES *e = &new_state->Privileges[i];
            ULONG p = e->Luid.LowPart;
            if (e->Luid.HighPart != 0 || !held_locked(p)) {
                not_all = true;
                continue;
            }
            if (e->Attributes & SE_PRIVILEGE_REMOVED) {
                gone[p] = true;
                want[p] = false;
            } else {
                want[p] = (e->Attributes & SE_PRIVILEGE_ENABLED) != 0;
            }
        }
    }
    /* PreviousState lists each privilege whose state changes, as it was (removed ones are
     * left out: they cannot be put back); too small a buffer changes nothing. */
    ULONG n = 0;
    for (ULONG p = 0; p <= LAST_PRIVILEGE; p++)
        if (!gone[p] && want[p] != enabled[p])
            n++;
    ULONG need = (ULONG)(offsetof(TOKEN_PRIVILEGES, Privileges) + n * sizeof(LUID_AND_ATTRIBUTES));
    if (prev && len < need) {
        st = STATUS_BUFFER_TOO_SMALL;
        goto out_unlock;
    }
    if (prev)
        prev->PrivilegeCount = n;
    n = 0;
    for (ULONG p = 0; p <= LAST_PRIVILEGE; p++) {
        if (prev && !gone[p] && want[p] != enabled[p]) {
            prev->Privileges[n].Luid.LowPart = p;
            prev->Privileges[n].Luid.HighPart = 0;
            prev->Privileges[n].Attributes = enabled[p] ? SE_PRIVILEGE_ENABLED : 0;
            n++;
        }
        enabled[p] = want[p];
        removed[p] = gone[p];
    }
    st = not_all ? STATUS_NOT_ALL_ASSIGNED : STATUS_SUCCESS;
out_unlock:
    pthread_mutex_unlock(&token_lock);
    if (ret_len)
        *ret_len = need;
    return st;
}
