/*
 * Placeholder operations the kernel refuses (fault injection through wm_os_sys): replacing a
 * placeholder with committed private memory (mprotect) or with a view (mmap), giving either
 * back (mmap), and NtFreeVirtualMemory's release of part of an allocation (munmap) each fail
 * with Windows' error and change nothing: every region as VirtualQuery reports it, the
 * model's invariants, and the data.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "winternl.h"
#include "mm/mm.h"
#include "inject.h"

#define GRAN 0x10000

static int bad_munmap(void *a, size_t l)
{
    (void)a, (void)l;
    errno = fail_errno;
    return -1;
}

/* Every region over [p, p+len), as VirtualQuery reports them. */
struct snap {
    int n;
    MEMORY_BASIC_INFORMATION m[16];
};

static void snap(struct snap *s, const char *p, size_t len)
{
    s->n = 0;
    for (const char *a = p; a < p + len && s->n < 16; s->n++) {
        VirtualQuery(a, &s->m[s->n], sizeof(s->m[0]));
        a = (const char *)s->m[s->n].BaseAddress + s->m[s->n].RegionSize;
    }
}

static void check_same(const struct snap *before, const char *p, size_t len)
{
    struct snap now;
    snap(&now, p, len);
    CHECK_EQ(now.n, before->n);
    CHECK(memcmp(now.m, before->m, sizeof(now.m[0]) * (size_t)now.n) == 0);
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);
}

int main(void)
{
    struct snap before;
    char *p = VirtualAlloc2(NULL, NULL, 2 * GRAN, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                            PAGE_NOACCESS, NULL, 0);
    REQUIRE(p);
    REQUIRE(VirtualFree(p, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
    snap(&before, p, 2 * GRAN);

    /* Committing the replacement refused: still a placeholder. */
    wm_os_sys.mprotect = bad_mprotect;
    CHECK_FAILS(VirtualAlloc2(NULL, p, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                              PAGE_READWRITE, NULL, 0),
                ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    check_same(&before, p, 2 * GRAN);

    /* A view over it refused: still a placeholder. */
    HANDLE s = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, GRAN, NULL);
    REQUIRE(s);
    wm_os_sys.mmap = bad_mmap;
    CHECK(MapViewOfFile3(s, NULL, p + GRAN, 0, GRAN, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL,
                         0) == NULL);
    wm_os_sys = wm_os_sys_default;
    check_same(&before, p, 2 * GRAN);

    /* Giving a replacement back refused: it stays, data and all. */
    char *a = VirtualAlloc2(NULL, p, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                            PAGE_READWRITE, NULL, 0);
    REQUIRE(a == p);
    a[0] = 7;
    char *v = MapViewOfFile3(s, NULL, p + GRAN, 0, GRAN, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
                             NULL, 0);
    REQUIRE(v == p + GRAN);
    v[0] = 8;
    snap(&before, p, 2 * GRAN);
    wm_os_sys.mmap = bad_mmap;
    CHECK_FAILS(VirtualFree(a, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER),
                ERROR_NOT_ENOUGH_MEMORY);
    CHECK_FAILS(UnmapViewOfFile2(GetCurrentProcess(), v, MEM_PRESERVE_PLACEHOLDER),
                ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    check_same(&before, p, 2 * GRAN);
    CHECK_EQ(a[0], 7);
    CHECK_EQ(v[0], 8);
    CHECK(VirtualFree(a, GRAN, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
    CHECK(UnmapViewOfFile2(GetCurrentProcess(), v, MEM_PRESERVE_PLACEHOLDER));
    CHECK(VirtualFree(p, 2 * GRAN, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK(CloseHandle(s));

    /* Part of an allocation released, the munmap refused: one allocation, as it was. */
    PVOID b = NULL;
    SIZE_T sz = 4 * GRAN;
    REQUIRE(NtAllocateVirtualMemory(GetCurrentProcess(), &b, 0, &sz, MEM_RESERVE | MEM_COMMIT,
                                    PAGE_READWRITE) == STATUS_SUCCESS);
    p = b;
    p[0] = 1;
    p[3 * GRAN] = 3;
    DWORD old;
    REQUIRE(VirtualProtect(p + 2 * GRAN, GRAN, PAGE_READONLY, &old));
    snap(&before, p, 4 * GRAN);
    wm_os_sys.munmap = bad_munmap;
    PVOID at = p + GRAN;
    sz = 2 * GRAN;
    CHECK_EQ((ULONG)NtFreeVirtualMemory(GetCurrentProcess(), &at, &sz, MEM_RELEASE),
             (ULONG)STATUS_NO_MEMORY);
    wm_os_sys = wm_os_sys_default;
    check_same(&before, p, 4 * GRAN);
    CHECK_EQ(p[0], 1);
    CHECK_EQ(p[3 * GRAN], 3);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    return wmt_report();
}
