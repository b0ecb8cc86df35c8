/*
 * Placement's slow paths (mm/place.c): a mapping winmem did not make, sitting where the next
 * bottom-up reservation would go, is skipped and never replaced, at the cost of one refused
 * mmap and not one per call; an address the kernel (or an interposed mmap, as under
 * ThreadSanitizer) refuses outright falls back to the kernel's choice; a range given back
 * (released, or a view that failed after placement) is found again first.
 */
#include <errno.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static unsigned refusals; /* fixed mmaps that failed */
static bool refuse_fixed; /* fail every fixed mmap with EINVAL, as TSan does outside its ranges */

static void *counting_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
    if ((f & MAP_FIXED_NOREPLACE) && refuse_fixed) {
        refusals++;
        errno = EINVAL;
        return MAP_FAILED;
    }
    void *r = wm_os_sys_default.mmap(a, l, p, f, fd, o);
    if (r == MAP_FAILED && (f & MAP_FIXED_NOREPLACE))
        refusals++;
    return r;
}

static int refusing_mprotect(void *a, size_t l, int p)
{
    (void)a, (void)l, (void)p;
    errno = ENOMEM;
    return -1;
}

int main(void)
{
    const size_t gran = 0x10000;
    wm_os_sys.mmap = counting_mmap;

    char *a = VirtualAlloc(NULL, gran, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(a);
    /* Someone else maps right where the next reservation would go (and a bit beyond). */
    char *foreign =
        wm_os_sys_default.mmap(a + gran, 2 * gran + 0x3000, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    REQUIRE(foreign == a + gran);
    foreign[0] = 42;

    unsigned before = refusals;
    char *b = VirtualAlloc(NULL, gran, MEM_RESERVE, PAGE_NOACCESS);
    /* The next aligned range above the foreign mapping; the mapping is untouched. */
    CHECK(b == a + 4 * gran);
    CHECK_EQ(refusals - before, 1);
    CHECK_EQ(foreign[0], 42);
    /* The search now starts above it: no more refusals. */
    char *c = VirtualAlloc(NULL, gran, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(c == b + gran);
    CHECK_EQ(refusals - before, 1);
    /* A freed range is reused first, without the kernel being asked twice. */
    CHECK(VirtualFree(b, 0, MEM_RELEASE));
    char *d = VirtualAlloc(NULL, gran, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(d == b);
    CHECK_EQ(refusals - before, 1);
    CHECK(VirtualFree(a, 0, MEM_RELEASE));
    char *e = VirtualAlloc(NULL, gran, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(e == a);
    CHECK_EQ(refusals - before, 1);
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);

    /* Fixed addresses refused where nothing is mapped: the kernel's choice, still aligned,
     * for reservations and views. */
    refuse_fixed = true;
    char *f = VirtualAlloc(NULL, 3 * gran, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CHECK(f != NULL);
    CHECK_EQ((uintptr_t)f % gran, 0);
    if (f) {
        f[3 * gran - 1] = 1;
        MEMORY_BASIC_INFORMATION mbi;
        CHECK_EQ(VirtualQuery(f, &mbi, sizeof(mbi)), sizeof(mbi));
        CHECK_EQ(mbi.RegionSize, 3 * gran);
        CHECK_EQ(mbi.Protect, PAGE_READWRITE);
    }
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, NULL);
    REQUIRE(h);
    char *v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(v != NULL);
    CHECK_EQ((uintptr_t)v % gran, 0);
    if (v)
        v[0] = 1;
    refuse_fixed = false;
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);
    UnmapViewOfFile(v);
    CloseHandle(h);
    VirtualFree(f, 0, MEM_RELEASE);
    VirtualFree(c, 0, MEM_RELEASE);
    VirtualFree(d, 0, MEM_RELEASE);
    VirtualFree(e, 0, MEM_RELEASE);
    wm_os_sys = wm_os_sys_default;
    munmap(foreign, 2 * gran + 0x3000);

    /* A view that fails after it was placed gives its range back to the search. */
    HANDLE sec = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
                                    0x10000, NULL);
    REQUIRE(sec);
    char *x = VirtualAlloc(NULL, gran, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(x);
    CHECK(VirtualFree(x, 0, MEM_RELEASE));
    wm_os_sys.mprotect = refusing_mprotect; /* the view's reserved pages cannot be hidden */
    CHECK_FAILS(MapViewOfFile(sec, FILE_MAP_WRITE, 0, 0, 0), ERROR_NOT_ENOUGH_MEMORY);
    wm_os_sys = wm_os_sys_default;
    char *y = VirtualAlloc(NULL, gran, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(y == x);
    VirtualFree(y, 0, MEM_RELEASE);
    CloseHandle(sec);
    return wmt_report();
}
