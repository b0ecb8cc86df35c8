/*
 * securitybaseapi.c - OpenProcessToken, OpenThreadToken, LookupPrivilegeValueA/W and
 * AdjustTokenPrivileges over the process token (ob/token.c): what large-page code calls before
 * VirtualAlloc(MEM_LARGE_PAGES).
 */
#include "win32.h"

#include <string.h>

#include "ob/ob.h"

/* Windows' privilege names, by LUID (index + 2). */
static const char *const privilege_names[] = {
    "SeCreateTokenPrivilege",
    "SeAssignPrimaryTokenPrivilege",
    "SeLockMemoryPrivilege",
    "SeIncreaseQuotaPrivilege",
    "SeMachineAccountPrivilege",
    "SeTcbPrivilege",
    "SeSecurityPrivilege",
    "SeTakeOwnershipPrivilege",
    "SeLoadDriverPrivilege",
    "SeSystemProfilePrivilege",
    "SeSystemtimePrivilege",
    "SeProfileSingleProcessPrivilege",
    "SeIncreaseBasePriorityPrivilege",
    "SeCreatePagefilePrivilege",
    "SeCreatePermanentPrivilege",
    "SeBackupPrivilege",
    "SeRestorePrivilege",
    "SeShutdownPrivilege",
    "SeDebugPrivilege",
    "SeAuditPrivilege",
    "SeSystemEnvironmentPrivilege",
    "SeChangeNotifyPrivilege",
    "SeRemoteShutdownPrivilege",
    "SeUndockPrivilege",
    "SeSyncAgentPrivilege",
    "SeEnableDelegationPrivilege",
    "SeManageVolumePrivilege",
    "SeImpersonatePrivilege",
    "SeCreateGlobalPrivilege",
    "SeTrustedCredManAccessPrivilege",
    "SeRelabelPrivilege",
    "SeIncreaseWorkingSetPrivilege",
    "SeTimeZonePrivilege",
    "SeCreateSymbolicLinkPrivilege",
    "SeDelegateSessionUserImpersonatePrivilege",
};

WINMEM_API BOOL WINAPI OpenProcessToken(HANDLE process, DWORD access, PHANDLE token)
{
    return wm_win32_status(wm_token_open(process, access, token));
}

/* A thread that impersonates no one has no token of its own: ERROR_NO_TOKEN, and the caller
 * falls back to the process token, as on Windows. */
WINMEM_API BOOL WINAPI OpenThreadToken(HANDLE thread, DWORD access, BOOL as_self, PHANDLE token)
{
    (void)access, (void)as_self, (void)token;
    if (thread != GetCurrentThread()) {
        struct wm_object *o;
        NTSTATUS st = wm_handle_get(thread, WM_OBJ_THREAD, &o, NULL);
        if (st != STATUS_SUCCESS)
            return wm_win32_status(st);
        wm_object_release(o);
    }
    return wm_win32_error(ERROR_NO_TOKEN);
}

static int compare_ignoring_case(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = (*a >= 'A' && *a <= 'Z') ? *a + 32 : (unsigned char)*a;
        int cb = (*b >= 'A' && *b <= 'Z') ? *b + 32 : (unsigned char)*b;
        if (ca != cb || !ca)
            return ca - cb;
    }
}

/* LookupPrivilegeValue: the LUID of a privilege by name, ignoring case, on this machine (a
 * remote system name is not supported); ERROR_NO_SUCH_PRIVILEGE for an unknown name. */
WINMEM_API BOOL WINAPI LookupPrivilegeValueA(LPCSTR system, LPCSTR name, PLUID luid)
{
    if (system && *system)
        return wm_win32_error(ERROR_NOT_SUPPORTED);
    if (!name)
        return wm_win32_error(ERROR_NO_SUCH_PRIVILEGE);
    for (size_t i = 0; i < sizeof(privilege_names) / sizeof(privilege_names[0]); i++) {
        if (compare_ignoring_case(name, privilege_names[i]) == 0) {
            luid->LowPart = (DWORD)i + 2;
            luid->HighPart = 0;
            return TRUE;
        }
    }
    return wm_win32_error(ERROR_NO_SUCH_PRIVILEGE);
}

WINMEM_API BOOL WINAPI LookupPrivilegeValueW(LPCWSTR system, LPCWSTR name, PLUID luid)
{
    char buf[64];

    if (system && *system)
        return wm_win32_error(ERROR_NOT_SUPPORTED);
    if (!name || !wm_unicode_to_utf8(name, wm_unicode_len(name), buf, sizeof(buf)))
        return wm_win32_error(ERROR_NO_SUCH_PRIVILEGE);
    return LookupPrivilegeValueA(NULL, buf, luid);
}

/* AdjustTokenPrivileges: TRUE when the call did what it could; the last error then says
 * whether every privilege asked for was held (ERROR_SUCCESS) or not (ERROR_NOT_ALL_ASSIGNED:
 * those not held were left alone), which is how a program learns it cannot use large pages. */
WINMEM_API BOOL WINAPI AdjustTokenPrivileges(HANDLE token, BOOL disable_all,
                                             PTOKEN_PRIVILEGES new_state, DWORD len,
                                             PTOKEN_PRIVILEGES prev, PDWORD ret_len)
{
    ULONG need = 0;
    NTSTATUS st = wm_token_adjust(token, disable_all, new_state, len, prev, ret_len ? &need : NULL);

    if (ret_len &&
        (st == STATUS_SUCCESS || st == STATUS_NOT_ALL_ASSIGNED || st == STATUS_BUFFER_TOO_SMALL))
        *ret_len = need;
    if (st == STATUS_NOT_ALL_ASSIGNED)
        return wm_win32_error(ERROR_NOT_ALL_ASSIGNED), TRUE;
    if (st == STATUS_SUCCESS)
        return wm_win32_error(ERROR_SUCCESS);
    return wm_win32_status(st);
}
