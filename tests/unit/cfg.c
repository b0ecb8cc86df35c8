/*
 * White-box: the call-target bitmap (mm/cfg.c).  It is reserved only when a target first
 * becomes invalid; commit, protect, decommit, release and views change the bits as
 * docs/cfg.md says; a huge range made valid gives its bitmap pages back (madvise) instead of
 * writing them; and a thread checking targets while another changes them is race-free
 * (TSan).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

#define BIG_MAP ((size_t)1 << 36) /* only the bitmap is this large here */

static int bitmap_maps, zeroed;

static void *counting_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
    void *r = wm_os_sys_default.mmap(a, l, p, f, fd, o);
    if (l >= BIG_MAP && r != MAP_FAILED)
        bitmap_maps++;
    return r;
}

static int counting_madvise(void *a, size_t l, int advice)
{
    if (advice == MADV_DONTNEED)
        zeroed++;
    return wm_os_sys_default.madvise(a, l, advice);
}

static bool valid(const void *p)
{
    return wm_cfg_valid_sigsafe((uintptr_t)p);
}

static BOOL set_one(void *base, SIZE_T size, ULONG_PTR off, ULONG_PTR flags)
{
    CFG_CALL_TARGET_INFO e = { off, flags };
    return SetProcessValidCallTargets(GetCurrentProcess(), base, size, 1, &e);
}

/* Valid executable memory needs no bitmap; the first invalid target (or the first question
 * about CFG: SetProcessValidCallTargets, GetProcessMitigationPolicy) reserves it. */
static void test_lazy(void)
{
    unsigned char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READ);
    REQUIRE_VOID(p);
    CHECK(valid(p));
    CHECK_EQ(bitmap_maps, 0);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_EQ(bitmap_maps, 0);
    p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT | MEM_RESERVE,
                     PAGE_EXECUTE_READ | PAGE_TARGETS_INVALID);
    REQUIRE_VOID(p);
    if (!wm_cfg_enabled()) {
        /* ThreadSanitizer's layout may leave no hole of 1 TiB: CFG is off then. */
        CHECK_EQ(bitmap_maps, 0);
        CHECK(valid(p));
        return;
    }
    CHECK_EQ(bitmap_maps, 1);
    CHECK(!valid(p) && !valid(p + 0xfff0) && !valid(p + 7));
    CHECK(valid(p + 0x10000) && valid(p - 1));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK(valid(p) && valid(p + 0xfff0));
    CHECK_EQ(bitmap_maps, 1);
}

/* 16 MiB: the bitmap pages inside are given back rather than cleared word by word. */
static void test_big(void)
{
    size_t size = (size_t)16 << 20;
    DWORD old;
    unsigned char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_EXECUTE_READWRITE);
    REQUIRE_VOID(p);
    CHECK(VirtualAlloc(p, size, MEM_COMMIT, PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID));
    CHECK(!valid(p) && !valid(p + size / 2) && !valid(p + size - 16));
    zeroed = 0;
    CHECK(VirtualProtect(p, size, PAGE_EXECUTE_READ, &old));
    CHECK_EQ(zeroed, 1);
    CHECK(valid(p) && valid(p + size / 2 + 0x30) && valid(p + size - 16));
    /* Decommitted pages keep their bits; a commit decides them again. */
    CHECK(set_one(p, size, size - 0x1000, 0));
    CHECK(!valid(p + size - 0x1000));
    CHECK(VirtualFree(p + size - 0x1000, 0x1000, MEM_DECOMMIT));
    CHECK(!valid(p + size - 0x1000));
    CHECK(VirtualAlloc(p + size - 0x1000, 0x1000, MEM_COMMIT, PAGE_EXECUTE_READ));
    CHECK(valid(p + size - 0x1000));
    /* Non-executable commits and protections leave the bits alone. */
    CHECK(set_one(p, size, 0x2000, 0));
    CHECK(VirtualProtect(p + 0x2000, 0x1000, PAGE_READWRITE, &old));
    CHECK(!valid(p + 0x2000));
    CHECK(VirtualAlloc(p + 0x2000, 0x1000, MEM_COMMIT, PAGE_READONLY));
    CHECK(!valid(p + 0x2000));
    CHECK(VirtualProtect(p + 0x2000, 0x1000, PAGE_EXECUTE | PAGE_TARGETS_NO_UPDATE, &old));
    CHECK(!valid(p + 0x2000));
    CHECK(VirtualProtect(p + 0x2000, 0x1000, PAGE_EXECUTE, &old));
    CHECK(valid(p + 0x2000));
    zeroed = 0;
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_EQ(zeroed, 1);
}

/* A view mapped executable starts valid; its targets can be changed; unmapping clears them. */
static void test_view(void)
{
    HANDLE m =
        CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_EXECUTE_READWRITE, 0, 0x10000, NULL);
    REQUIRE_VOID(m);
    unsigned char *v = MapViewOfFile(m, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0);
    REQUIRE_VOID(v);
    CHECK(valid(v));
    CHECK(set_one(v, 0x10000, 0x100, 0));
    CHECK(!valid(v + 0x100) && valid(v + 0xf0) && valid(v + 0x110));
    CHECK(UnmapViewOfFile(v));
    CHECK(valid(v + 0x100));
    CloseHandle(m);
}

static atomic_bool stop;

static void *checker(void *arg)
{
    unsigned long n = 0;
    while (!atomic_load(&stop))
        n += valid((const unsigned char *)arg + (n % 64) * 16);
    return NULL;
}

static void test_threads(void)
{
    pthread_t t;
    unsigned char *p = VirtualAlloc(NULL, 0x10000, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READ);
    REQUIRE_VOID(p);
    REQUIRE_VOID(pthread_create(&t, NULL, checker, p) == 0);
    for (int i = 0; i < 2000; i++)
        CHECK(set_one(p, 0x10000, (ULONG_PTR)(i % 64) * 16, (i & 1) ? CFG_CALL_TARGET_VALID : 0));
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

int main(void)
{
    wm_os_sys.mmap = counting_mmap;
    wm_os_sys.madvise = counting_madvise;
    test_lazy();
    if (!wm_cfg_enabled()) {
        printf("no room for the call-target bitmap here: the rest is skipped\n");
        return wmt_report();
    }
    test_big();
    test_view();
    test_threads();
    wm_os_sys = wm_os_sys_default;
    return wmt_report();
}
