/*
 * The VM lock is not held across a reservation's mmap or a release's munmap (mm/vmstate.c,
 * busy claims): with the system call held up through the wm_os_sys table, other threads'
 * calls on other memory go on, lock-free readers are not kept out, and the calls that touch
 * the claimed range wait for it and then see its outcome.
 *
 * - release: while its munmap waits, a VirtualAlloc elsewhere completes; VirtualQuery reports
 *   the allocation whole; a guard page in it is not consumed by a fault there (that fault is
 *   an access violation); a second VirtualFree waits and then fails with
 *   ERROR_INVALID_ADDRESS, and a VirtualProtect waits and then fails the same way.
 * - reserve at an address: while its mmap waits, VirtualQuery of that address waits and then
 *   reports the new allocation; a VirtualQuery of other memory is answered at once.
 * - VirtualProtect: while its mprotect waits (without the lock: its allocation is claimed), a
 *   VirtualQuery of the same allocation is answered at once, lock-free, with the protection
 *   before the call; a VirtualProtect of another allocation completes; one of the same page
 *   waits and then reports the new protection as the old, and so do one of another page and
 *   a VirtualFree of the allocation (which names its first page).
 * - VirtualProtect setting a guard page, held up after its mprotect (the kernel has the
 *   guard, the model not yet): a fault there waits for the model and is the guard page's
 *   exception, not a stale fault retried until it turns into an access violation.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static uintptr_t gate_addr;      /* the mmap / munmap at this address is held up */
static _Atomic int gate_entered; /* ... and has started */
static _Atomic int gate_open;

static void hold(void *a)
{
    if ((uintptr_t)a != gate_addr)
        return;
    gate_entered = 1;
    while (!gate_open) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
}

static int gated_munmap(void *a, size_t l)
{
    hold(a);
    return wm_os_sys_default.munmap(a, l);
}

static void *gated_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
    if (f & MAP_FIXED_NOREPLACE)
        hold(a);
    return wm_os_sys_default.mmap(a, l, p, f, fd, o);
}

static void wait_entered(void)
{
    while (!gate_entered) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
}

/* True when flag becomes set within about a second. */
static bool soon(_Atomic int *flag)
{
    for (int i = 0; i < 1000 && !*flag; i++) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    return *flag;
}

/* Still unset after 50 ms: the call is waiting. */
static bool waits(_Atomic int *flag)
{
    struct timespec ts = { 0, 50000000 };
    nanosleep(&ts, NULL);
    return !*flag;
}

static char *target;
static _Atomic int free1_done, free2_done, other_done, protect_done, query_done;
static BOOL free1_ok, free2_ok, protect_ok;
static DWORD free2_err, protect_err;
static MEMORY_BASIC_INFORMATION query_mbi;

static void *free1(void *arg)
{
    (void)arg;
    free1_ok = VirtualFree(target, 0, MEM_RELEASE);
    free1_done = 1;
    return NULL;
}

static void *free2(void *arg)
{
    (void)arg;
    free2_ok = VirtualFree(target, 0, MEM_RELEASE);
    free2_err = GetLastError();
    free2_done = 1;
    return NULL;
}

static void *protect(void *arg)
{
    DWORD old;
    (void)arg;
    protect_ok = VirtualProtect(target, 4096, PAGE_READONLY, &old);
    protect_err = GetLastError();
    protect_done = 1;
    return NULL;
}

static void *other(void *arg)
{
    (void)arg;
    char *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (p && VirtualFree(p, 0, MEM_RELEASE))
        other_done = 1;
    return NULL;
}

static void *query(void *arg)
{
    (void)arg;
    VirtualQuery(target, &query_mbi, sizeof(query_mbi));
    query_done = 1;
    return NULL;
}

static void release_held_up(void)
{
    pthread_t t1, t2, t3, t4;
    MEMORY_BASIC_INFORMATION m;

    target = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(target);
    DWORD old;
    CHECK(VirtualProtect(target + 4096, 4096, PAGE_READWRITE | PAGE_GUARD, &old));
    gate_addr = (uintptr_t)target;
    gate_entered = gate_open = 0;
    wm_os_sys.munmap = gated_munmap;
    pthread_create(&t1, NULL, free1, NULL);
    wait_entered();

    /* Other memory: not held up by the munmap. */
    pthread_create(&t2, NULL, other, NULL);
    if (!soon(&other_done)) {
        /* The lock is held across the munmap: everything below would wait for it. */
        WMT_FAIL("%s", "a VirtualAlloc elsewhere waited for the held-up release");
        gate_open = 1;
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        wm_os_sys = wm_os_sys_default;
        return;
    }
    /* The allocation reads as it was, without the lock. */
    CHECK(!wm_vmstate_writer_active_sigsafe());
    CHECK(VirtualQuery(target + 4096, &m, sizeof(m)) == sizeof(m));
    CHECK(m.AllocationBase == target && m.State == MEM_COMMIT &&
          m.Protect == (PAGE_READWRITE | PAGE_GUARD) && m.RegionSize == 4096);
    /* A fault in it changes nothing. */
    CHECK_EQ(wm_fault_classify_sigsafe((uintptr_t)target + 4096, WM_ACC_R), WM_FAULT_VIOLATION);
    CHECK(VirtualQuery(target + 4096, &m, sizeof(m)) == sizeof(m));
    CHECK(m.Protect == (PAGE_READWRITE | PAGE_GUARD));
    /* Calls on it wait for the release. */
    pthread_create(&t3, NULL, free2, NULL);
    pthread_create(&t4, NULL, protect, NULL);
    CHECK(waits(&free2_done));
    CHECK(waits(&protect_done));
    CHECK(!free1_done);

    gate_open = 1;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    pthread_join(t4, NULL);
    wm_os_sys = wm_os_sys_default;
    CHECK(free1_ok);
    CHECK(!free2_ok);
    CHECK_EQ(free2_err, ERROR_INVALID_ADDRESS);
    CHECK(!protect_ok);
    CHECK_EQ(protect_err, ERROR_INVALID_ADDRESS);
    CHECK(VirtualQuery(target, &m, sizeof(m)) == sizeof(m));
    CHECK_EQ(m.State, MEM_FREE);
}

static char *other_target;
static MEMORY_BASIC_INFORMATION other_mbi;

static void *query_other(void *arg)
{
    (void)arg;
    VirtualQuery(other_target, &other_mbi, sizeof(other_mbi));
    other_done = 1;
    return NULL;
}

static _Atomic int reserve_done;
static char *reserved;

static void *reserve_at(void *arg)
{
    (void)arg;
    reserved = VirtualAlloc(target, 0x10000, MEM_RESERVE, PAGE_READWRITE);
    reserve_done = 1;
    return NULL;
}

static void reserve_held_up(void)
{
    pthread_t t1, t2;
    char *mine = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_READONLY);

    /* A free address: reserved once, then released. */
    target = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(mine && target && VirtualFree(target, 0, MEM_RELEASE));
    gate_addr = (uintptr_t)target;
    gate_entered = gate_open = query_done = other_done = 0;
    wm_os_sys.mmap = gated_mmap;
    pthread_create(&t1, NULL, reserve_at, NULL);
    wait_entered();
    /* Other memory is answered at once (without the lock); the address being reserved
     * waits. */
    CHECK(!wm_vmstate_writer_active_sigsafe());
    other_target = mine;
    pthread_create(&t2, NULL, query_other, NULL);
    if (!soon(&other_done)) {
        WMT_FAIL("%s", "a VirtualQuery elsewhere waited for the held-up reservation");
        gate_open = 1;
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        wm_os_sys = wm_os_sys_default;
        return;
    }
    pthread_join(t2, NULL);
    CHECK(other_mbi.AllocationBase == mine && other_mbi.AllocationProtect == PAGE_READONLY);
    pthread_create(&t2, NULL, query, NULL);
    CHECK(waits(&query_done));
    CHECK(!reserve_done);
    gate_open = 1;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    wm_os_sys = wm_os_sys_default;
    CHECK(reserved == target);
    /* The query saw the finished allocation, not the fresh mapping as foreign memory. */
    CHECK(query_mbi.AllocationBase == target && query_mbi.State == MEM_RESERVE &&
          query_mbi.AllocationProtect == PAGE_READWRITE && query_mbi.Type == MEM_PRIVATE);
    CHECK(VirtualFree(target, 0, MEM_RELEASE));
    CHECK(VirtualFree(mine, 0, MEM_RELEASE));
}

static int gated_mprotect(void *a, size_t l, int p)
{
    hold(a);
    return wm_os_sys_default.mprotect(a, l, p);
}

static void *protect_target(void *arg)
{
    DWORD old;
    (void)arg;
    protect_ok = VirtualProtect(target, 4096, PAGE_READONLY, &old);
    protect_done = 1;
    return NULL;
}

/* VirtualProtect holds the lock across its mprotect, but the model does not change during it:
 * a lock-free query of the same allocation is answered meanwhile, with the old protection. */
static void protect_held_up(void)
{
    pthread_t t1, t2;

    target = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(target);
    gate_addr = (uintptr_t)target;
    gate_entered = gate_open = other_done = protect_done = 0;
    wm_os_sys.mprotect = gated_mprotect;
    pthread_create(&t1, NULL, protect_target, NULL);
    wait_entered();
    CHECK(wm_vmstate_writer_active_sigsafe());
    other_target = target;
    pthread_create(&t2, NULL, query_other, NULL);
    bool answered = soon(&other_done);
    CHECK(answered);
    gate_open = 1;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    wm_os_sys = wm_os_sys_default;
    CHECK(protect_ok);
    if (answered)
        CHECK(other_mbi.AllocationBase == target && other_mbi.Protect == PAGE_READWRITE);
    CHECK(VirtualFree(target, 0, MEM_RELEASE));
}

static char *second;
static _Atomic int second_done, same_done, page2_done;
static BOOL second_ok, same_ok, page2_ok;
static DWORD same_old;

static void *protect_page5(void *arg)
{
    DWORD old;
    (void)arg;
    protect_ok = VirtualProtect(target + 5 * 4096, 4096, PAGE_READONLY, &old);
    protect_done = 1;
    return NULL;
}

static void *protect_second(void *arg)
{
    DWORD old;
    (void)arg;
    second_ok = VirtualProtect(second, 4096, PAGE_READONLY, &old);
    second_done = 1;
    return NULL;
}

static void *protect_same(void *arg)
{
    (void)arg;
    same_ok = VirtualProtect(target + 5 * 4096, 4096, PAGE_READWRITE, &same_old);
    same_done = 1;
    return NULL;
}

static void *protect_page2(void *arg)
{
    DWORD old;
    (void)arg;
    page2_ok = VirtualProtect(target + 2 * 4096, 4096, PAGE_NOACCESS, &old);
    page2_done = 1;
    return NULL;
}

/* Hold up a VirtualProtect of target's page 5 before its mprotect. */
static void hold_page5(pthread_t *t)
{
    gate_addr = (uintptr_t)target + 5 * 4096;
    gate_entered = gate_open = protect_done = 0;
    wm_os_sys.mprotect = gated_mprotect;
    pthread_create(t, NULL, protect_page5, NULL);
    wait_entered();
}

/* While one VirtualProtect's mprotect is held up, the lock is free: a VirtualProtect of
 * another allocation completes.  Calls on the same allocation wait for the outcome, whichever
 * page they name: the same page (which then reports the new protection as its old one),
 * another page, and a release, which names only the allocation's first page. */
static void protect_lock_free(void)
{
    pthread_t t1, t2, t3, t4;
    MEMORY_BASIC_INFORMATION m;

    target = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    second = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(target && second);
    second_done = same_done = page2_done = 0;
    hold_page5(&t1);
    CHECK(wm_vmstate_writer_active_sigsafe()); /* a change is in flight */
    pthread_create(&t2, NULL, protect_second, NULL);
    CHECK(soon(&second_done));
    pthread_create(&t3, NULL, protect_same, NULL);
    pthread_create(&t4, NULL, protect_page2, NULL);
    CHECK(waits(&same_done));
    CHECK(!page2_done);
    CHECK(!protect_done);
    gate_open = 1;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    pthread_join(t4, NULL);
    wm_os_sys = wm_os_sys_default;
    CHECK(protect_ok && second_ok && same_ok && page2_ok);
    CHECK_EQ(same_old, PAGE_READONLY);
    CHECK(!wm_vmstate_writer_active_sigsafe());
    CHECK(VirtualQuery(target + 2 * 4096, &m, sizeof(m)) == sizeof(m));
    CHECK_EQ(m.Protect, PAGE_NOACCESS);
    CHECK(VirtualQuery(target + 5 * 4096, &m, sizeof(m)) == sizeof(m));
    CHECK_EQ(m.Protect, PAGE_READWRITE);

    /* A release of the allocation waits too, then succeeds. */
    free1_done = 0;
    hold_page5(&t1);
    pthread_create(&t2, NULL, free1, NULL);
    CHECK(waits(&free1_done));
    CHECK(!protect_done);
    gate_open = 1;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    wm_os_sys = wm_os_sys_default;
    CHECK(protect_ok && free1_ok);
    CHECK(VirtualQuery(target, &m, sizeof(m)) == sizeof(m));
    CHECK_EQ(m.State, MEM_FREE);
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);
    CHECK(VirtualFree(second, 0, MEM_RELEASE));
}

static _Atomic int fault_done;
static enum wm_fault fault_result;

/* The kernel has the new protection, the model not yet. */
static int gated_after_mprotect(void *a, size_t l, int p)
{
    int rc = wm_os_sys_default.mprotect(a, l, p);
    hold(a);
    return rc;
}

static void *set_guard(void *arg)
{
    DWORD old;
    (void)arg;
    protect_ok = VirtualProtect(target + 4096, 4096, PAGE_READWRITE | PAGE_GUARD, &old);
    protect_done = 1;
    return NULL;
}

static void *fault_there(void *arg)
{
    (void)arg;
    fault_result = wm_fault_classify_sigsafe((uintptr_t)target + 4096, WM_ACC_R);
    fault_done = 1;
    return NULL;
}

static void guard_set_held_up(void)
{
    pthread_t t1, t2;
    MEMORY_BASIC_INFORMATION m;

    target = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE_VOID(target);
    gate_addr = (uintptr_t)target + 4096;
    gate_entered = gate_open = protect_done = fault_done = 0;
    wm_os_sys.mprotect = gated_after_mprotect;
    pthread_create(&t1, NULL, set_guard, NULL);
    wait_entered();
    /* A read of the page faults now (the kernel's guard) while the model says read-write. */
    pthread_create(&t2, NULL, fault_there, NULL);
    CHECK(waits(&fault_done));
    gate_open = 1;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    wm_os_sys = wm_os_sys_default;
    CHECK(protect_ok);
    CHECK_EQ(fault_result, WM_FAULT_GUARD);
    /* The guard is gone, in the model and in the kernel. */
    CHECK(VirtualQuery(target + 4096, &m, sizeof(m)) == sizeof(m));
    CHECK_EQ(m.Protect, PAGE_READWRITE);
    CHECK_EQ(((volatile char *)target)[4096], 0);
    CHECK(VirtualFree(target, 0, MEM_RELEASE));
}

int main(void)
{
    release_held_up();
    reserve_held_up();
    /* Under ThreadSanitizer every query takes the lock (mm.h), so it waits there. */
    if (!WMT_TSAN)
        protect_held_up();
    protect_lock_free();
    guard_set_held_up();
    CHECK(wm_space_check(&wm_vm.space, wm_vm.page) == NULL);
    return wmt_report();
}
