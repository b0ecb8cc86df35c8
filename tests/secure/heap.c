/*
 * heap.c - secured memory inside heaps.  The heap frees, decommits and releases through the
 * Nt calls, so a secured range inside it is refused like any VirtualFree and runs the secure
 * memory cache callbacks on the range, then retries once: a large block whose callback
 * unsecures it is freed; one whose callback keeps it stays allocated and intact and HeapFree
 * fails with ERROR_INVALID_PARAMETER (STATUS_INVALID_PAGE_PROTECTION); a freed block inside a
 * region whose pages the heap would decommit runs the callbacks too, and stays committed when
 * kept; HeapDestroy with a kept range leaves only that allocation mapped.  Linux only: see
 * tests/CMakeLists.txt.
 */
#include "../api/apitest.h"

#include <ntddk.h>
#include <winternl.h>

static HANDLE secured;
static int calls, unsecure_in_callback;
static PVOID last_addr;
static SIZE_T last_size;

static BOOLEAN CALLBACK cache_cb(PVOID addr, SIZE_T size)
{
    calls++;
    last_addr = addr;
    last_size = size;
    if (unsecure_in_callback && secured) {
        MmUnsecureVirtualMemory(secured);
        secured = NULL;
        return TRUE;
    }
    return FALSE;
}

static int filled(const BYTE *p, SIZE_T n, BYTE v)
{
    for (SIZE_T i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static void test_large_block(void)
{
    const SIZE_T size = 2 << 20;
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    BYTE *p = HeapAlloc(h, 0, size);
    REQUIRE_VOID(p);
    memset(p, 0x5a, size);

    /* the callback keeps it secured: HeapFree fails, the block stays as it was */
    secured = MmSecureVirtualMemory(p, size, PAGE_READWRITE);
    REQUIRE_VOID(secured);
    calls = 0;
    unsecure_in_callback = 0;
    CHECK_FAILS(HeapFree(h, 0, p), ERROR_INVALID_PARAMETER);
    CHECK_EQ(calls, 1);
    CHECK(last_addr <= (PVOID)p && (BYTE *)last_addr + last_size >= p + size);
    CHECK_EQ(HeapSize(h, 0, p), size);
    CHECK(filled(p, size, 0x5a));
    CHECK(HeapValidate(h, 0, p));

    /* the callback unsecures it: the retry frees it */
    calls = 0;
    unsecure_in_callback = 1;
    CHECK(HeapFree(h, 0, p));
    CHECK_EQ(calls, 1);
    CHECK(secured == NULL);
    CHECK_EQ(at_state(p), MEM_FREE);
    CHECK(HeapDestroy(h));
}

static void test_region_decommit(void)
{
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    /* a block of a region (under the large-block size) that ends the region's blocks: freeing
     * it leaves a long free tail the heap gives back */
    BYTE *p = HeapAlloc(h, 0, 600 << 10);
    REQUIRE_VOID(p);
    memset(p, 0x33, 600 << 10);
    SIZE_T inner = 256 << 10;
    BYTE *mid = (BYTE *)(((ULONG_PTR)p + (128 << 10)) & ~(ULONG_PTR)(PAGE - 1));
    secured = MmSecureVirtualMemory(mid, inner, PAGE_READWRITE);
    REQUIRE_VOID(secured);

    calls = 0;
    unsecure_in_callback = 0;
    CHECK(HeapFree(h, 0, p)); /* freeing a block is no VM operation: it succeeds */
    CHECK(calls >= 1);        /* the decommit of the tail was refused and reported */
    CHECK_EQ(at_state(mid), MEM_COMMIT);
    CHECK(filled(mid, inner, 0x33)); /* kept secured: the pages stay, untouched */
    CHECK(HeapValidate(h, 0, NULL));

    /* now with a callback that lets go: HeapCompact gives the pages back */
    calls = 0;
    unsecure_in_callback = 1;
    HeapCompact(h, 0);
    CHECK(calls >= 1);
    CHECK(secured == NULL);
    CHECK(at_state(mid) != MEM_COMMIT); /* decommitted, or the whole region released */
    CHECK(HeapValidate(h, 0, NULL));
    CHECK(HeapDestroy(h));
}

static void test_destroy(void)
{
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    BYTE *big = HeapAlloc(h, 0, 3 << 20), *small = HeapAlloc(h, 0, 100);
    REQUIRE_VOID(big && small);
    memset(big, 0x77, 3 << 20);

    /* kept: HeapDestroy gives back everything but that allocation, which stays intact */
    secured = MmSecureVirtualMemory(big, PAGE, PAGE_READWRITE);
    REQUIRE_VOID(secured);
    calls = 0;
    unsecure_in_callback = 0;
    CHECK(HeapDestroy(h));
    CHECK(calls >= 1);
    CHECK_EQ(at_state(h), MEM_FREE);
    CHECK_EQ(at_state(big), MEM_COMMIT);
    CHECK(filled(big, 3 << 20, 0x77));
    MmUnsecureVirtualMemory(secured);
    secured = NULL;
    CHECK(VirtualFree(big - 64, 0, MEM_RELEASE));

    /* let go: every page comes back */
    h = HeapCreate(0, 0, 0);
    REQUIRE_VOID(h);
    big = HeapAlloc(h, 0, 3 << 20);
    REQUIRE_VOID(big);
    secured = MmSecureVirtualMemory(big, PAGE, PAGE_READWRITE);
    REQUIRE_VOID(secured);
    unsecure_in_callback = 1;
    CHECK(HeapDestroy(h));
    CHECK_EQ(at_state(big), MEM_FREE);
    CHECK_EQ(at_state(h), MEM_FREE);
}

int main(void)
{
    at_init();
    REQUIRE(AddSecureMemoryCacheCallback(cache_cb));
    test_large_block();
    test_region_decommit();
    test_destroy();
    CHECK(RemoveSecureMemoryCacheCallback(cache_cb));
    return wmt_report();
}
