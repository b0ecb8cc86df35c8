/*
 * Unit: a genuine fault inside winmem while it holds the VM lock (winmem's own bug, injected
 * here through the wm_os_sys table) ends the process with a report instead of running
 * handlers that would wait forever on the lock the faulting thread holds.  In a child
 * (except_child.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../fault/except_child.h"

#include <stdint.h>
#include <sys/mman.h>

#include "os/os.h"

/* A page nothing may touch (not NULL: UndefinedBehaviorSanitizer would report the load of a
 * null pointer itself instead of letting it fault). */
static volatile int *forbidden;

static int crashing_mprotect(void *addr, size_t len, int prot)
{
    (void)addr, (void)len, (void)prot;
    return *forbidden; /* a fault with the VM lock held */
}

static LONG CALLBACK calls_winmem(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    /* Needs the VM lock: would wait on the faulting thread forever. */
    VirtualAlloc(NULL, 65536, MEM_RESERVE, PAGE_NOACCESS);
    return EXCEPTION_CONTINUE_SEARCH;
}

static void fault_holding_lock(void)
{
    void *p = VirtualAlloc(NULL, 65536, MEM_RESERVE, PAGE_READWRITE);
    void *no = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (no == MAP_FAILED)
        _exit(122);
    forbidden = no;
    if (!p || !AddVectoredExceptionHandler(1, calls_winmem))
        _exit(122);
    /* A commit keeps the lock across its mprotect (VirtualProtect no longer does). */
    wm_os_sys.mprotect = crashing_mprotect;
    VirtualAlloc(p, 4096, MEM_COMMIT, PAGE_READWRITE);
    say("returned\n");
}

int main(void)
{
    struct child c;

    if (run_case("fault_holding_lock", fault_holding_lock, CORE_OFF, 10, &c)) {
        CHECK_EXIT(c, 5);
        CHECK_ERR_HAS(c, "winmem: unhandled exception 0xc0000005");
        CHECK_ERR_HAS(c, "inside winmem, which holds its lock");
    }
    return wmt_report();
}
