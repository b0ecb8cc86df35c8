/*
 * placeholder.c - secured memory in placeholders' replacements: giving a secured private
 * replacement or view back to its placeholder (MEM_PRESERVE_PLACEHOLDER), or releasing part of
 * a secured allocation, is refused as a free is; the cache callback runs on the range, and once
 * it unsecures, the operation is retried and done.  Linux only: see tests/CMakeLists.txt.
 */
#include "../api/apitest.h"

#include <ntddk.h>
#include <winternl.h>

static HANDLE held;
static int calls;
static PVOID cb_addr;
static SIZE_T cb_size;
static BOOLEAN drop = TRUE;

static BOOLEAN CALLBACK cache(PVOID addr, SIZE_T size)
{
    calls++;
    cb_addr = addr;
    cb_size = size;
    if (!drop || !held)
        return FALSE;
    MmUnsecureVirtualMemory(held);
    held = NULL;
    return TRUE;
}

int main(void)
{
    at_init();
    REQUIRE(AddSecureMemoryCacheCallback(cache));
    char *p = VirtualAlloc2(NULL, NULL, 2 * GRAN, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                            PAGE_NOACCESS, NULL, 0);
    REQUIRE(p);
    REQUIRE(VirtualFree(p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
    char *a = VirtualAlloc2(NULL, p, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                            PAGE_READWRITE, NULL, 0);
    REQUIRE(a == p);
    a[0] = 5;

    /* Secured, and the callback declines: refused, nothing changed. */
    held = MmSecureVirtualMemory(a, PAGE, PAGE_READWRITE);
    REQUIRE(held);
    drop = FALSE;
    CHECK_FAILS(VirtualFree(a, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER),
                ERROR_INVALID_PARAMETER);
    CHECK_EQ(calls, 1);
    CHECK(cb_addr == a);
    CHECK_EQ(cb_size, GRAN);
    CHECK_REGION(a, a, a, PAGE_READWRITE, GRAN, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    CHECK_EQ(a[0], 5);

    /* The callback unsecures: retried, and the placeholder is back. */
    drop = TRUE;
    CHECK(VirtualFree(a, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
    CHECK_EQ(calls, 2);
    CHECK(held == NULL);
    CHECK_REGION(p, p, p, PAGE_NOACCESS, GRAN, MEM_RESERVE, 0, MEM_PRIVATE);

    /* A view that replaced a placeholder, secured, given back. */
    HANDLE s = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)GRAN, NULL);
    REQUIRE(s);
    char *v = MapViewOfFile3(s, NULL, p + GRAN, 0, GRAN, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
                             NULL, 0);
    REQUIRE(v == p + GRAN);
    held = MmSecureVirtualMemory(v, PAGE, PAGE_READWRITE);
    REQUIRE(held);
    CHECK(UnmapViewOfFile2(GetCurrentProcess(), v, MEM_PRESERVE_PLACEHOLDER));
    CHECK_EQ(calls, 3);
    CHECK(cb_addr == v);
    CHECK_EQ(cb_size, GRAN);
    CHECK_REGION(v, v, v, PAGE_NOACCESS, GRAN, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(CloseHandle(s));
    CHECK(VirtualFree(p, 2 * GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    /* Part of a secured allocation released (NT): the callback runs on the part. */
    PVOID b = NULL;
    SIZE_T sz = 3 * GRAN;
    REQUIRE(NtAllocateVirtualMemory(GetCurrentProcess(), &b, 0, &sz, MEM_RESERVE | MEM_COMMIT,
                                    PAGE_READWRITE) == STATUS_SUCCESS);
    char *q = b;
    held = MmSecureVirtualMemory(q + GRAN, PAGE, PAGE_READWRITE);
    REQUIRE(held);
    PVOID at = q + GRAN;
    sz = GRAN;
    CHECK_EQ((ULONG)NtFreeVirtualMemory(GetCurrentProcess(), &at, &sz, MEM_RELEASE),
             (ULONG)STATUS_SUCCESS);
    CHECK_EQ(calls, 4);
    CHECK(cb_addr == q + GRAN);
    CHECK_EQ(cb_size, GRAN);
    CHECK_FREE(q + GRAN, GRAN);
    CHECK(VirtualFree(q, 0, MEM_RELEASE));
    CHECK(VirtualFree(q + 2 * GRAN, 0, MEM_RELEASE));
    CHECK(RemoveSecureMemoryCacheCallback(cache));
    return wmt_report();
}
