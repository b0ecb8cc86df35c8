/*
 * Rollbacks that fail: when the kernel refuses a protection change part way and then refuses
 * to undo it as well (VirtualProtect), or refuses to take back the write access MEM_RESET_UNDO
 * lent, the call fails and the model records what the kernel really has: VirtualQuery and
 * /proc/self/maps agree page by page.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "winternl.h"
#include "mm/mm.h"
#include "inject.h"

static size_t page;
static size_t partial_len; /* the first mprotect changes this much, then every call fails */

static int refusing_mprotect(void *a, size_t l, int p)
{
    if (partial_len) {
        wm_os_sys_default.mprotect(a, partial_len < l ? partial_len : l, p);
        partial_len = 0;
    }
    errno = ENOMEM;
    return -1;
}

/* The first call changes partial_len bytes and fails; later ones (the undo) go through. */
static int undo_ok_mprotect(void *a, size_t l, int p)
{
    if (partial_len) {
        wm_os_sys_default.mprotect(a, partial_len < l ? partial_len : l, p);
        partial_len = 0;
        errno = ENOMEM;
        return -1;
    }
    return wm_os_sys_default.mprotect(a, l, p);
}

/* The kernel's access to the page at addr (WM_ACC_*), or -1 when unmapped. */
static int kernel_access(const void *addr)
{
    struct wm_maps m;
    struct wm_maps_entry e;
    int acc = -1;

    if (wm_maps_open(&m))
        return -1;
    while (wm_maps_next(&m, &e) == 1)
        if ((uintptr_t)addr >= e.start && (uintptr_t)addr < e.end)
            acc = (int)e.acc;
    wm_maps_close(&m);
    return acc;
}

static DWORD at_protect_of(const void *p)
{
    MEMORY_BASIC_INFORMATION mbi;
    return VirtualQuery(p, &mbi, sizeof(mbi)) ? mbi.Protect : 0xdead;
}

/* VirtualQuery's protection of each page of [p, p+n pages) gives the kernel's access. */
static void check_agree(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        MEMORY_BASIC_INFORMATION mbi;
        CHECK_EQ(VirtualQuery(p + i * page, &mbi, sizeof(mbi)), sizeof(mbi));
        CHECK_EQ((int)wm_prot_access(mbi.Protect), kernel_access(p + i * page));
    }
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);
}

static void test_protect(void)
{
    DWORD old;
    char *p = VirtualAlloc(NULL, 4 * page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(p);
    memset(p, 1, 4 * page);

    /* Two pages become read-only, then ENOMEM; the rollback is refused too. */
    partial_len = 2 * page;
    wm_os_sys.mprotect = refusing_mprotect;
    CHECK_FAILS(VirtualProtect(p, 4 * page, PAGE_READONLY, &old), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    check_agree(p, 4);
    CHECK_EQ(at_protect_of(p), PAGE_READONLY);
    CHECK_EQ(at_protect_of(p + 3 * page), PAGE_READWRITE);
    p[3 * page] = 2; /* writable, as the model says */

    /* To a guard protection: the pages that changed are guard pages in the model too. */
    CHECK(VirtualProtect(p, 4 * page, PAGE_READWRITE, &old));
    partial_len = page;
    wm_os_sys.mprotect = refusing_mprotect;
    CHECK_FAILS(VirtualProtect(p, 4 * page, PAGE_READWRITE | PAGE_GUARD, &old),
                ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    check_agree(p, 4);
    CHECK_EQ(at_protect_of(p), PAGE_READWRITE | PAGE_GUARD);
    CHECK_EQ(at_protect_of(p + page), PAGE_READWRITE);
    VirtualFree(p, 0, MEM_RELEASE);
}

/* Copy-on-write asked for over a view with a written page: one mprotect per run.  The run
 * that fails part way is undone too, and when the undo is refused the model follows the
 * kernel. */
static void test_protect_copied(void)
{
    DWORD old;
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
    REQUIRE_VOID(h);
    char *v = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);
    REQUIRE_VOID(v);
    v[0] = 1; /* page 0 has its private copy now */
    REQUIRE_VOID(VirtualProtect(v, 4 * page, PAGE_READONLY, &old));

    /* The first run (page 0, to read-write) changes, then ENOMEM; the undo goes through. */
    partial_len = page;
    wm_os_sys.mprotect = refusing_mprotect;
    CHECK_FAILS(VirtualProtect(v, 4 * page, PAGE_WRITECOPY, &old), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    check_agree(v, 4);
    CHECK_EQ(at_protect_of(v), PAGE_READWRITE);

    /* The same with the undo restored by the kernel: everything back as it was. */
    REQUIRE_VOID(VirtualProtect(v, 4 * page, PAGE_READONLY, &old));
    partial_len = page;
    wm_os_sys.mprotect = undo_ok_mprotect;
    CHECK_FAILS(VirtualProtect(v, 4 * page, PAGE_WRITECOPY, &old), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    check_agree(v, 4);
    CHECK_EQ(at_protect_of(v), PAGE_READONLY);
    UnmapViewOfFile(v);
    CloseHandle(h);
}

static void test_reset_undo(void)
{
    char *p = VirtualAlloc(NULL, 2 * page, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READ);
    REQUIRE_VOID(p);
    REQUIRE_VOID(VirtualAlloc(p, 2 * page, MEM_RESET, PAGE_READWRITE) == p);

    /* Write access lent to dirty the pages, then the kernel will not take it back. */
    fail_after = 1;
    wm_os_sys.mprotect = bad_mprotect;
    CHECK_FAILS(VirtualAlloc(p, 2 * page, MEM_RESET_UNDO, PAGE_READWRITE), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    check_agree(p, 2);
    CHECK_EQ(at_protect_of(p), PAGE_EXECUTE_READWRITE);
    VirtualFree(p, 0, MEM_RELEASE);
}

/* A range that runs past the top of user space is refused, and nothing is written back. */
static void test_reset_bad_range(void)
{
    PVOID base = (PVOID)(WM_MAX_ADDRESS & ~(uintptr_t)0xffff);
    SIZE_T size = 0x20000;
    CHECK_EQ(
        NtAllocateVirtualMemory(NtCurrentProcess(), &base, 0, &size, MEM_RESET, PAGE_READWRITE),
        STATUS_INVALID_PARAMETER_2);
    CHECK(base == (PVOID)(WM_MAX_ADDRESS & ~(uintptr_t)0xffff));
    CHECK_EQ(size, 0x20000);
}

int main(void)
{
    page = wm_os_page_size();
    test_protect();
    test_protect_copied();
    test_reset_undo();
    test_reset_bad_range();
    return wmt_report();
}
