/*
 * sigstack.c - alternate signal stacks: the CPU's signal-frame size and the stacks winmem
 * gives threads so that exceptions, nested ones and stack overflows included, have room.
 * Same contract as os.c: 0 or a negative errno.
 *
 * The kernel's signal frame holds the CPU's whole register state, so its size is a property
 * of the machine, not a constant: with AVX-512 it is over 3 KiB, with AMX tiles over 11 KiB.
 * Linux says how big it is in the auxiliary vector (AT_MINSIGSTKSZ); glibc's MINSIGSTKSZ
 * and SIGSTKSZ constants predate those extensions and can be too small.
 */
#include "os.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

size_t wm_os_signal_frame_size(void)
{
    /* The machine's, read once; threads racing to read it store the same value. */
    static _Atomic size_t frame;
    size_t f = atomic_load_explicit(&frame, memory_order_relaxed);

    if (!f) {
        f = getauxval(AT_MINSIGSTKSZ);
        /* Kernels before 5.14 (x86) do not report it: assume room for the largest state
         * in use on x86-64 today (AMX) rather than the legacy constant. */
        if (f < 2048)
            f = 16384;
        atomic_store_explicit(&frame, f, memory_order_relaxed);
    }
    return f;
}

int wm_os_altstack_query(struct wm_os_altstack *out)
{
    stack_t ss;

    if (sigaltstack(NULL, &ss) != 0)
        return -errno;
    out->lo = (uintptr_t)ss.ss_sp;
    out->hi = out->lo + ss.ss_size;
    out->enabled = !(ss.ss_flags & SS_DISABLE);
    out->active = (ss.ss_flags & SS_ONSTACK) != 0;
    return 0;
}

int wm_os_altstack_install(size_t size, struct wm_os_altstack *out)
{
    size_t page = wm_os_page_size();
    size = (size + page - 1) & ~(page - 1);
    /* One inaccessible page below the stack: running off it faults instead of writing over
     * whatever lies beneath. */
    void *p = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    if (mprotect(p, page, PROT_NONE) != 0) {
        int e = -errno;
        munmap(p, size + page);
        return e;
    }
    stack_t ss = { .ss_sp = (char *)p + page, .ss_size = size };
    if (sigaltstack(&ss, NULL) != 0) {
        int e = -errno;
        munmap(p, size + page);
        return e;
    }
    out->lo = (uintptr_t)p + page;
    out->hi = out->lo + size;
    out->enabled = true;
    out->active = false;
    return 0;
}

int wm_os_altstack_restore(const struct wm_os_altstack *mine, const struct wm_os_altstack *prev)
{
    struct wm_os_altstack now = { 0 }; /* gcc -O3 cannot tell the query filled it */
    size_t page = wm_os_page_size();

    /* Only while ours is still the thread's: if somebody replaced or disabled it since, they
     * may also have unmapped it, and unmapping again could hit a new mapping there. */
    if (wm_os_altstack_query(&now) != 0 || !now.enabled || now.lo != mine->lo || now.active)
        return -EBUSY;
    stack_t ss = { .ss_flags = SS_DISABLE };
    if (prev->enabled)
        ss = (stack_t){ .ss_sp = (void *)prev->lo, .ss_size = prev->hi - prev->lo };
    if (sigaltstack(&ss, NULL) != 0)
        return -errno;
    munmap((void *)(mine->lo - page), mine->hi - mine->lo + page);
    return 0;
}
