/*
 * privilege.c - what large-page code does first: open the process token, look up
 * SeLockMemoryPrivilege and enable it.  AdjustTokenPrivileges returns TRUE either way and the
 * last error says whether the privilege is held; winmem holds it exactly when
 * VirtualAlloc(MEM_LARGE_PAGES) can work (GetLargePageMinimum() is nonzero).  Also: the token
 * handle's access rights, PreviousState and its size, unknown names, closed handles, and
 * OpenThreadToken's ERROR_NO_TOKEN for a thread that impersonates no one.  Plain Win32 C:
 * also builds with mingw-w64.
 */
#include "apitest.h"

static BOOL set_privilege(HANDLE tok, DWORD luid_low, DWORD attrs, TOKEN_PRIVILEGES *prev,
                          DWORD prev_len, DWORD *ret)
{
    TOKEN_PRIVILEGES tp;
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Luid.LowPart = luid_low;
    tp.Privileges[0].Luid.HighPart = 0;
    tp.Privileges[0].Attributes = attrs;
    return AdjustTokenPrivileges(tok, FALSE, &tp, prev_len, prev, ret);
}

static void test_lookup(void)
{
    LUID luid;

    memset(&luid, 0xcc, sizeof(luid));
    CHECK(LookupPrivilegeValueA(NULL, "SeLockMemoryPrivilege", &luid));
    CHECK_EQ(luid.LowPart, 4);
    CHECK_EQ(luid.HighPart, 0);
    CHECK(LookupPrivilegeValueA(NULL, "selockmemoryprivilege", &luid));
    CHECK_EQ(luid.LowPart, 4);
    CHECK(LookupPrivilegeValueA(NULL, "SeChangeNotifyPrivilege", &luid));
    CHECK_EQ(luid.LowPart, 23);
    CHECK(LookupPrivilegeValueA(NULL, "SeDebugPrivilege", &luid));
    CHECK_EQ(luid.LowPart, 20);
    CHECK(LookupPrivilegeValueA("", "SeLockMemoryPrivilege", &luid));
#ifdef _WIN32
    CHECK(LookupPrivilegeValueW(NULL, L"SeLockMemoryPrivilege", &luid));
#else
    CHECK(LookupPrivilegeValueW(NULL, u"SeLockMemoryPrivilege", &luid));
#endif
    CHECK_EQ(luid.LowPart, 4);
    CHECK_FAILS(LookupPrivilegeValueA(NULL, "SeNoSuchPrivilege", &luid), ERROR_NO_SUCH_PRIVILEGE);
    CHECK_FAILS(LookupPrivilegeValueA(NULL, "", &luid), ERROR_NO_SUCH_PRIVILEGE);
}

static void test_lock_memory(void)
{
    HANDLE tok = NULL;
    TOKEN_PRIVILEGES tp;
    LUID luid;

    CHECK(OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &tok));
    CHECK(tok != NULL && tok != INVALID_HANDLE_VALUE);
    CHECK(LookupPrivilegeValueA(NULL, SE_LOCK_MEMORY_NAME, &luid));
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Luid = luid;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    SetLastError(0xdeadbeef);
    CHECK(AdjustTokenPrivileges(tok, FALSE, &tp, 0, NULL, NULL));
    DWORD err = GetLastError();
    SIZE_T large = GetLargePageMinimum();
#ifdef _WIN32
    /* Windows: held when the account has "Lock pages in memory". */
    CHECK(err == ERROR_SUCCESS || err == ERROR_NOT_ALL_ASSIGNED);
#else
    CHECK_EQ(err, large ? ERROR_SUCCESS : ERROR_NOT_ALL_ASSIGNED);
#endif
    if (err == ERROR_SUCCESS && large) {
        void *p =
            VirtualAlloc(NULL, large, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
        CHECK(p != NULL);
        if (p) {
            ((volatile char *)p)[large - 1] = 1;
            CHECK(VirtualFree(p, 0, MEM_RELEASE));
        }
    }
    /* Enabling it again, or disabling it, is fine; the answer does not change. */
    SetLastError(0xdeadbeef);
    CHECK(AdjustTokenPrivileges(tok, FALSE, &tp, 0, NULL, NULL));
    CHECK_EQ(GetLastError(), err);
    CHECK(CloseHandle(tok));
    /* A closed token handle is no handle. */
    CHECK_FAILS(AdjustTokenPrivileges(tok, FALSE, &tp, 0, NULL, NULL), ERROR_INVALID_HANDLE);
}

static void test_rules(void)
{
    HANDLE tok = NULL, query_only = NULL, t = NULL;

    CHECK(OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &tok));
    CHECK(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &query_only));

    /* Adjusting needs TOKEN_ADJUST_PRIVILEGES. */
    CHECK_FAILS(set_privilege(query_only, 23, SE_PRIVILEGE_ENABLED, NULL, 0, NULL),
                ERROR_ACCESS_DENIED);
#ifndef _WIN32
    union {
        TOKEN_PRIVILEGES tp;
        char bytes[256];
    } prev;
    DWORD ret = 0xdeadbeef;

    /* Not pinned on Windows: the documentation's reading.  Wine 8 gives ERROR_NOACCESS for a
     * missing NewState, and lists in PreviousState every privilege named, changed or not. */
    /* NewState is required unless everything is disabled. */
    CHECK_FAILS(AdjustTokenPrivileges(tok, FALSE, NULL, 0, NULL, NULL), ERROR_INVALID_PARAMETER);

    /* SeChangeNotifyPrivilege: every token holds it, enabled.  Enabling it changes nothing, so
     * PreviousState lists nothing. */
    memset(&prev, 0xcc, sizeof(prev));
    SetLastError(0xdeadbeef);
    CHECK(set_privilege(tok, 23, SE_PRIVILEGE_ENABLED, &prev.tp, sizeof(prev), &ret));
    CHECK_EQ(GetLastError(), ERROR_SUCCESS);
    CHECK_EQ(prev.tp.PrivilegeCount, 0);
    /* Disabling it: PreviousState says it was enabled; too small a buffer changes nothing. */
    ret = 0;
    CHECK_FAILS(set_privilege(tok, 23, 0, &prev.tp, 4, &ret), ERROR_INSUFFICIENT_BUFFER);
    CHECK_EQ(ret, 4 + sizeof(LUID_AND_ATTRIBUTES));
    CHECK(set_privilege(tok, 23, 0, &prev.tp, sizeof(prev), &ret));
    CHECK_EQ(ret, 4 + sizeof(LUID_AND_ATTRIBUTES));
    CHECK_EQ(prev.tp.PrivilegeCount, 1);
    CHECK_EQ(prev.tp.Privileges[0].Luid.LowPart, 23);
    CHECK(prev.tp.Privileges[0].Attributes & SE_PRIVILEGE_ENABLED);
    /* Putting it back from PreviousState, as programs do. */
    CHECK(AdjustTokenPrivileges(tok, FALSE, &prev.tp, 0, NULL, NULL));
    CHECK(set_privilege(tok, 23, SE_PRIVILEGE_ENABLED, &prev.tp, sizeof(prev), &ret));
    CHECK_EQ(prev.tp.PrivilegeCount, 0);

    /* (An administrator's Windows token holds these.) */
    /* A privilege the token does not hold: TRUE, and ERROR_NOT_ALL_ASSIGNED. */
    SetLastError(0xdeadbeef);
    CHECK(set_privilege(tok, 20 /* SeDebugPrivilege */, SE_PRIVILEGE_ENABLED, NULL, 0, NULL));
    CHECK_EQ(GetLastError(), ERROR_NOT_ALL_ASSIGNED);
    SetLastError(0xdeadbeef);
    CHECK(set_privilege(tok, 999, SE_PRIVILEGE_ENABLED, NULL, 0, NULL));
    CHECK_EQ(GetLastError(), ERROR_NOT_ALL_ASSIGNED);
#endif

    /* Another object's handle, or none, is not a token. */
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, NULL);
    CHECK(m != NULL);
    CHECK_FAILS(set_privilege(m, 23, SE_PRIVILEGE_ENABLED, NULL, 0, NULL), ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(m));
    CHECK_FAILS(OpenProcessToken((HANDLE)(ULONG_PTR)0x7ffc, TOKEN_QUERY, &t), ERROR_INVALID_HANDLE);

    /* This thread impersonates no one. */
    CHECK_FAILS(OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &t), ERROR_NO_TOKEN);

    CHECK(CloseHandle(query_only));
    CHECK(CloseHandle(tok));
}

int main(void)
{
    test_lookup();
    test_lock_memory();
    test_rules();
    return wmt_report();
}
