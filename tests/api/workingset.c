/*
 * workingset.c - QueryWorkingSetEx / NtQueryVirtualMemory(MemoryWorkingSetExInformation):
 * the length checks, a committed page that was never touched (not valid), read and written
 * (valid, its protection, not shared), made inaccessible (not valid), released (not valid), an
 * executable's page (valid, read-only or execute-read, shared), a locked page, and several
 * addresses in one call.  The facts are results recorded on Windows.
 */
#include "apitest.h"

#include <psapi.h>
#include <winternl.h>

/* mingw-w64's winternl.h lacks the class enum: the value is Microsoft's. */
#define WS_EX_CLASS 4
#ifndef STATUS_INFO_LENGTH_MISMATCH
#define STATUS_INFO_LENGTH_MISMATCH ((NTSTATUS)0xC0000004L)
#endif

typedef NTSTATUS(NTAPI *query_fn)(HANDLE, PVOID, int, PVOID, SIZE_T, PSIZE_T);

static PSAPI_WORKING_SET_EX_BLOCK ws(void *addr)
{
    PSAPI_WORKING_SET_EX_INFORMATION info;
    memset(&info, 0x41, sizeof info);
    info.VirtualAddress = addr;
    CHECK(QueryWorkingSetEx(GetCurrentProcess(), &info, sizeof info));
    return info.VirtualAttributes;
}

int main(void)
{
    at_init();
    PSAPI_WORKING_SET_EX_INFORMATION info[4];
    SIZE_T size;
#ifdef _WIN32
    query_fn query =
        (query_fn)(void *)GetProcAddress(GetModuleHandleA("ntdll.dll"), "NtQueryVirtualMemory");
    REQUIRE(query != NULL);
#else
    query_fn query = (query_fn)NtQueryVirtualMemory;
#endif

    /* Checks marked "Windows" are results recorded on Windows that Wine 8 does not share. */
#ifndef _WIN32
    /* Windows: no whole entry is STATUS_INFO_LENGTH_MISMATCH, the length left alone;
     * ERROR_BAD_LENGTH. */
    size = 0xdeadbeef;
    memset(info, 0, sizeof info);
    CHECK_EQ(query(GetCurrentProcess(), NULL, WS_EX_CLASS, info, 0, &size),
             STATUS_INFO_LENGTH_MISMATCH);
    CHECK_EQ(size, 0xdeadbeef);
    CHECK_FAILS(QueryWorkingSetEx(GetCurrentProcess(), info, 0), ERROR_BAD_LENGTH);
#endif

    /* One and a half entries: one is filled, the whole length is reported (64-bit). */
    size = 0xdeadbeef;
    memset(info, 0, sizeof info);
    CHECK_EQ(query(GetCurrentProcess(), NULL, WS_EX_CLASS, info, sizeof(*info) + sizeof(*info) / 2,
                   &size),
             0);
    CHECK_EQ(info[0].VirtualAttributes.Valid, 0); /* address NULL */
#ifndef _WIN32
    CHECK_EQ(size, sizeof(*info) + sizeof(*info) / 2); /* Windows (64-bit) */
#endif

    /* The page of the executable's code running now: resident, execute-read, shared with
     * the file. */
    char *code = (char *)((ULONG_PTR)(void *)ws & ~(ULONG_PTR)0xfff);
    PSAPI_WORKING_SET_EX_BLOCK b = ws(code);
    CHECK_EQ(b.Valid, 1);
    CHECK_EQ(b.Win32Protection, PAGE_EXECUTE_READ);
#ifndef _WIN32
    CHECK_EQ(b.Shared, 1); /* Windows */
    CHECK(b.ShareCount > 0);
#endif
    CHECK_EQ(b.Node, 0);
    CHECK_EQ(b.LargePage, 0);

    char *p = VirtualAlloc(NULL, 0x2000, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    REQUIRE(p);
    b = ws(p);
    CHECK_EQ(b.Valid, 0); /* committed, never touched */
    CHECK_EQ(b.Win32Protection, 0);
    CHECK_EQ(b.Shared, 0);
    *(volatile char *)p = 0x42;
    b = ws(p);
    CHECK_EQ(b.Valid, 1);
    CHECK_EQ(b.Win32Protection, PAGE_READWRITE);
    CHECK_EQ(b.Shared, 0);
    CHECK_EQ(b.ShareCount, 0);
    CHECK_EQ(b.Locked, 0);

    DWORD old;
    CHECK(VirtualProtect(p, 0x1000, PAGE_NOACCESS, &old));
    b = ws(p);
    CHECK_EQ(b.Valid, 0);
    CHECK_EQ(b.Win32Protection, 0);
    CHECK(VirtualProtect(p, 0x1000, PAGE_READWRITE, &old));
    *(volatile char *)p;
    b = ws(p);
    CHECK_EQ(b.Valid, 1);
    CHECK_EQ(b.Win32Protection, PAGE_READWRITE);

    /* A locked page says so. */
    if (VirtualLock(p, 0x1000)) {
        b = ws(p);
        CHECK_EQ(b.Valid, 1);
#ifndef _WIN32
        CHECK_EQ(b.Locked, 1); /* Windows */
#endif
        CHECK(VirtualUnlock(p, 0x1000));
        CHECK_EQ(ws(p).Locked, 0);
    }

    /* Several addresses in one call, in any order. */
    char *q = VirtualAlloc(NULL, 0x2000, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    REQUIRE(q);
    q[0x1000] = 1;
    info[1].VirtualAddress = p;
    info[0].VirtualAddress = p + 0x1000;
    info[3].VirtualAddress = q;
    info[2].VirtualAddress = q + 0x1000;
    CHECK(QueryWorkingSetEx(GetCurrentProcess(), info, sizeof info));
    CHECK_EQ(info[1].VirtualAttributes.Valid, 1);
    CHECK_EQ(info[1].VirtualAttributes.Win32Protection, PAGE_READWRITE);
    CHECK_EQ(info[0].VirtualAttributes.Valid, 0);
    CHECK_EQ(info[3].VirtualAttributes.Valid, 0);
    CHECK_EQ(info[2].VirtualAttributes.Valid, 1);

    /* Released: not valid. */
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK(QueryWorkingSetEx(GetCurrentProcess(), info, sizeof info));
    CHECK_EQ(info[1].VirtualAttributes.Valid, 0);
    CHECK_EQ(info[2].VirtualAttributes.Valid, 1);
    CHECK(VirtualFree(q, 0, MEM_RELEASE));

#ifndef _WIN32
    /* A bad array pointer is an error, not a crash. */
    CHECK_FAILS(QueryWorkingSetEx(GetCurrentProcess(), (void *)16, sizeof info), ERROR_NOACCESS);
#endif
    return wmt_report();
}
