/*
 * MEM_COMMIT in a view of a SEC_RESERVE section commits the section's pages in every view of
 * it, one mprotect per view.  When the kernel refuses any of them (injected through
 * wm_os_sys), the call fails and changes nothing: every view still reads MEM_RESERVE, the
 * section's own commit state is unchanged (a new view shows it), and /proc/self/maps agrees
 * with VirtualQuery page by page.  When even the rollback is refused, the model says what the
 * kernel has rather than what it wished.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

#define VIEWS 3
#define PAGES 4

static size_t page;
static unsigned calls;        /* mprotect calls since the last arm() */
static unsigned fail_mask;    /* bit n: refuse call n (from 0) */
static unsigned partial_mask; /* bit n: call n changes its first page, then fails */

static int flaky_mprotect(void *a, size_t l, int p)
{
    unsigned n = calls++;
    if (n < 32 && (partial_mask >> n & 1)) {
        wm_os_sys_default.mprotect(a, page, p);
        errno = ENOMEM;
        return -1;
    }
    if (n < 32 && (fail_mask >> n & 1)) {
        errno = ENOMEM;
        return -1;
    }
    return wm_os_sys_default.mprotect(a, l, p);
}

static void arm(unsigned fail, unsigned partial)
{
    calls = 0;
    fail_mask = fail;
    partial_mask = partial;
    wm_os_sys.mprotect = flaky_mprotect;
}

static void disarm(void)
{
    wm_os_sys = wm_os_sys_default;
}

/* The kernel's access at addr, from /proc/self/maps (-1: not mapped). */
static int kernel_acc(uintptr_t addr)
{
    struct wm_maps m;
    struct wm_maps_entry e;
    int acc = -1;

    if (wm_maps_open(&m))
        return -2;
    while (wm_maps_next(&m, &e) == 1) {
        if (addr >= e.start && addr < e.end) {
            acc = (int)e.acc;
            break;
        }
    }
    wm_maps_close(&m);
    return acc;
}

/* Every page of the view: VirtualQuery's state and protection are what the kernel enforces. */
static int model_matches_kernel(const BYTE *view)
{
    for (size_t i = 0; i < PAGES; i++) {
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery(view + i * page, &mbi, sizeof(mbi)) != sizeof(mbi))
            return 0;
        unsigned want = mbi.State == MEM_COMMIT ? wm_prot_access(mbi.Protect) : 0;
        if (kernel_acc((uintptr_t)view + i * page) != (int)want)
            return 0;
    }
    return 1;
}

static int all_reserved(const BYTE *view)
{
    MEMORY_BASIC_INFORMATION mbi;
    return VirtualQuery(view, &mbi, sizeof(mbi)) == sizeof(mbi) && mbi.State == MEM_RESERVE &&
           mbi.Protect == 0 && mbi.RegionSize == PAGES * page;
}

/* The section's own record: a view mapped now mirrors it. */
static int section_all_reserved(HANDLE section)
{
    BYTE *v = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, 0);
    int ok = v && all_reserved(v) && model_matches_kernel(v);
    if (v)
        UnmapViewOfFile(v);
    return ok;
}

static void check_unchanged(HANDLE section, BYTE *const *views, const char *what)
{
    for (int i = 0; i < VIEWS; i++) {
        if (!all_reserved(views[i]))
            WMT_FAIL("%s: view %d is no longer all MEM_RESERVE", what, i);
        if (!model_matches_kernel(views[i]))
            WMT_FAIL("%s: view %d: /proc/self/maps disagrees with VirtualQuery", what, i);
    }
    CHECK(section_all_reserved(section));
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);
}

int main(void)
{
    BYTE *views[VIEWS];

    page = wm_os_page_size();
    HANDLE section = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0,
                                        (DWORD)(PAGES * page), NULL);
    REQUIRE(section);
    for (int i = 0; i < VIEWS; i++) {
        views[i] = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, 0);
        REQUIRE(views[i]);
    }
    /* The asker is the view in the middle, so other views lie on both sides of it. */
    BYTE *asker = views[1];

    /* Refused at each mprotect in turn: the other views' (in address order), then the
     * asker's own.  Each time, what was already changed is taken back. */
    for (unsigned n = 0; n < VIEWS; n++) {
        arm(1u << n, 0);
        CHECK_FAILS(VirtualAlloc(asker, 2 * page, MEM_COMMIT, PAGE_READWRITE),
                    ERROR_NOT_ENOUGH_MEMORY);
        disarm();
        /* n commits, the refused call, n undos (and the asker's own restore) */
        CHECK_EQ(calls, 2 * n + 1 + (n == VIEWS - 1));
        check_unchanged(section, views, "refused mprotect");
    }

    /* The asker's own mprotect changes its first page and then fails (the kernel at
     * vm.max_map_count): that page is put back too. */
    arm(0, 1u << (VIEWS - 1));
    CHECK_FAILS(VirtualAlloc(asker, 2 * page, MEM_COMMIT, PAGE_READWRITE), ERROR_NOT_ENOUGH_MEMORY);
    disarm();
    check_unchanged(section, views, "partial mprotect");

    /* The second view's commit is refused and so is the rollback of the first: that first
     * view keeps pages the kernel made accessible, and says so.  (Views are visited in
     * address order, wherever the system placed them.) */
    BYTE *first = views[0] < views[2] ? views[0] : views[2];
    BYTE *second = views[0] < views[2] ? views[2] : views[0];
    arm(1u << 1 | 1u << 2, 0);
    CHECK_FAILS(VirtualAlloc(asker, 2 * page, MEM_COMMIT, PAGE_READWRITE), ERROR_NOT_ENOUGH_MEMORY);
    disarm();
    for (int i = 0; i < VIEWS; i++)
        CHECK(model_matches_kernel(views[i]));
    MEMORY_BASIC_INFORMATION mbi;
    CHECK_EQ(VirtualQuery(first, &mbi, sizeof(mbi)), sizeof(mbi));
    CHECK_EQ(mbi.State, MEM_COMMIT);
    CHECK_EQ(mbi.RegionSize, 2 * page);
    CHECK(all_reserved(asker));
    CHECK(all_reserved(second));
    CHECK(section_all_reserved(section));
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);

    /* With the kernel willing, the commit reaches every view, and the data is shared. */
    CHECK(VirtualAlloc(asker, 2 * page, MEM_COMMIT, PAGE_READONLY) == asker);
    CHECK(VirtualAlloc(views[2], page, MEM_COMMIT, PAGE_READWRITE) == views[2]);
    views[2][1] = 42;
    for (int i = 0; i < VIEWS; i++) {
        CHECK_EQ(views[i][1], 42);
        CHECK(model_matches_kernel(views[i]));
    }
    CHECK_EQ(VirtualQuery(asker, &mbi, sizeof(mbi)), sizeof(mbi));
    CHECK_EQ(mbi.Protect, PAGE_READONLY);
    CHECK_EQ(mbi.RegionSize, 2 * page);

    for (int i = 0; i < VIEWS; i++)
        CHECK(UnmapViewOfFile(views[i]));
    CHECK(CloseHandle(section));
    return wmt_report();
}
