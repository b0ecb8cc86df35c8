/*
 * view.c - secured views: MmSecureVirtualMemory on a view of a file-mapping object makes
 * UnmapViewOfFile follow the secure memory cache protocol, as VirtualFree does for private
 * memory: refused with ERROR_INVALID_PARAMETER (the view intact) unless a registered
 * AddSecureMemoryCacheCallback unsecures the range, in which case the retry unmaps it.
 * Linux only: see tests/CMakeLists.txt.
 */
#include "../api/apitest.h"

#include <ntddk.h>

static HANDLE to_unsecure;
static BOOLEAN cb_ret;
static int ncalls;
static PVOID cb_addr;
static SIZE_T cb_size;

static BOOLEAN CALLBACK cache_cb(PVOID addr, SIZE_T size)
{
    ncalls++;
    cb_addr = addr;
    cb_size = size;
    if (to_unsecure) {
        MmUnsecureVirtualMemory(to_unsecure);
        to_unsecure = NULL;
    }
    return cb_ret;
}

static void reset(HANDLE unsecure, BOOLEAN ret)
{
    to_unsecure = unsecure;
    cb_ret = ret;
    ncalls = 0;
    cb_addr = NULL;
    cb_size = 0;
}

#define VIEW_SIZE (4 * PAGE)
#define CHECK_INTACT(v)                                                                    \
    do {                                                                                   \
        CHECK_REGION((v), (v), (v), PAGE_READWRITE, VIEW_SIZE, MEM_COMMIT, PAGE_READWRITE, \
                     MEM_MAPPED);                                                          \
        CHECK_EQ((v)[PAGE + 1], 0x5c);                                                     \
    } while (0)

static BYTE *map(HANDLE m, DWORD access)
{
    BYTE *v = MapViewOfFile(m, access, 0, 0, 0);
    if (v && access == FILE_MAP_WRITE)
        v[PAGE + 1] = 0x5c;
    return v;
}

/* No callback registered: refused, and nothing changes. */
static void test_no_callback(HANDLE m)
{
    BYTE *v = map(m, FILE_MAP_WRITE);
    REQUIRE_VOID(v != NULL);
    HANDLE s = MmSecureVirtualMemory(v + PAGE, PAGE, PAGE_READWRITE);
    CHECK(s != NULL);
    CHECK_FAILS_NOCHANGE(UnmapViewOfFile(v), ERROR_INVALID_PARAMETER, v, VIEW_SIZE);
    CHECK_FAILS_NOCHANGE(UnmapViewOfFile(v + 3 * PAGE), ERROR_INVALID_PARAMETER, v, VIEW_SIZE);
    CHECK_INTACT(v);
    v[PAGE + 2] = 1; /* still writable */
    MmUnsecureVirtualMemory(s);
    CHECK(UnmapViewOfFile(v));
    CHECK_FREE(v, VIEW_SIZE);
}

/* A callback that unsecures the range: the retry unmaps the whole view. */
static void test_callback_unsecures(HANDLE m)
{
    BYTE *v = map(m, FILE_MAP_WRITE);
    REQUIRE_VOID(v != NULL);
    HANDLE s = MmSecureVirtualMemory(v, VIEW_SIZE, PAGE_READWRITE);
    CHECK(s != NULL);
    reset(s, TRUE);
    CHECK(UnmapViewOfFile(v + PAGE + 100));
    CHECK_EQ(ncalls, 1);
    CHECK_EQ(cb_addr, v);
    CHECK_EQ(cb_size, VIEW_SIZE);
    CHECK_FREE(v, VIEW_SIZE);
    reset(NULL, TRUE);

    /* A read view secured for reading. */
    v = map(m, FILE_MAP_READ);
    REQUIRE_VOID(v != NULL);
    CHECK(MmSecureVirtualMemory(v, PAGE, PAGE_READWRITE) == NULL); /* not writable */
    s = MmSecureVirtualMemory(v, PAGE, PAGE_READONLY);
    CHECK(s != NULL);
    reset(s, TRUE);
    CHECK(UnmapViewOfFile(v));
    CHECK_EQ(ncalls, 1);
    CHECK_FREE(v, VIEW_SIZE);
    reset(NULL, TRUE);
}

/* A callback that returns FALSE (and does not unsecure): refused, the view intact. */
static void test_callback_refuses(HANDLE m)
{
    BYTE *v = map(m, FILE_MAP_WRITE);
    REQUIRE_VOID(v != NULL);
    HANDLE s = MmSecureVirtualMemory(v + 2 * PAGE, 2 * PAGE, PAGE_READWRITE);
    CHECK(s != NULL);
    reset(NULL, FALSE);
    CHECK_FAILS_NOCHANGE(UnmapViewOfFile(v), ERROR_INVALID_PARAMETER, v, VIEW_SIZE);
    CHECK_EQ(ncalls, 1);
    CHECK_INTACT(v);
    /* TRUE without unsecuring: one retry, still refused. */
    reset(NULL, TRUE);
    CHECK_FAILS_NOCHANGE(UnmapViewOfFile(v + PAGE), ERROR_INVALID_PARAMETER, v, VIEW_SIZE);
    CHECK_EQ(ncalls, 1);
    CHECK_INTACT(v);
    /* The view's data is still the section's. */
    BYTE *other = map(m, FILE_MAP_READ);
    CHECK(other != NULL && other[PAGE + 1] == 0x5c);
    v[3 * PAGE] = 0x77;
    CHECK(other != NULL && other[3 * PAGE] == 0x77);
    UnmapViewOfFile(other);
    MmUnsecureVirtualMemory(s);
    reset(NULL, FALSE);
    CHECK(UnmapViewOfFile(v));
    CHECK_EQ(ncalls, 0);
    CHECK_FREE(v, VIEW_SIZE);
}

int main(void)
{
    at_init();
    HANDLE m =
        CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)VIEW_SIZE, NULL);
    REQUIRE(m != NULL);
    test_no_callback(m);
    CHECK(AddSecureMemoryCacheCallback(cache_cb));
    test_callback_unsecures(m);
    test_callback_refuses(m);
    CHECK(RemoveSecureMemoryCacheCallback(cache_cb));
    CHECK(CloseHandle(m));
    return wmt_report();
}
