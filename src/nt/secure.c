/*
 * secure.c - secured memory (MmSecureVirtualMemory / MmUnsecureVirtualMemory) and the secure
 * memory cache callbacks (RtlRegister/DeregisterSecureMemoryCacheCallback,
 * RtlFlushSecureMemoryCache).
 *
 * A secured range cannot be released or decommitted, nor protected more tightly than its
 * probe mode: NtFreeVirtualMemory and NtProtectVirtualMemory ask wm_secure_check_*_locked
 * and refuse with STATUS_INVALID_PAGE_PROTECTION, changing nothing.  The Win32 callers then
 * flush the registered callbacks (no lock held) and retry once (win32/memoryapi.c).  With
 * nothing secured, the checks cost one load.
 */
#include "nt.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ntddk.h"

struct secured {
    uintptr_t start, end;
    uint32_t mode; /* PAGE_READONLY or PAGE_READWRITE */
    uintptr_t id;  /* the handle: never 0, never reused */
};

/* Guarded by the VM lock (writers add, remove and check under it). */
static struct secured *secs;
static size_t nsecs, capsecs;
static uintptr_t next_id = 1;

/* Per thread: the last refusal from this thread's Nt call was for a secured range (so the
 * Win32 caller flushes the callbacks, which it does not for an invalid protection value,
 * the other source of STATUS_INVALID_PAGE_PROTECTION). */
static __thread bool refused_secure __attribute__((tls_model("initial-exec")));

bool wm_secure_take_refusal(void)
{
    bool r = refused_secure;
    refused_secure = false;
    return r;
}

static bool overlaps(const struct secured *s, uintptr_t start, uintptr_t end)
{
    return s->start < end && start < s->end;
}

NTSTATUS wm_secure_check_free_locked(uintptr_t start, uintptr_t end)
{
    for (size_t i = 0; i < nsecs; i++) {
        if (overlaps(&secs[i], start, end)) {
            refused_secure = true;
            return STATUS_INVALID_PAGE_PROTECTION;
        }
    }
    return STATUS_SUCCESS;
}

/* A protection keeps a probe mode's access when it still allows every access the mode
 * promised the driver, and is not a guard page (which takes all access away until touched). */
static bool keeps(uint32_t prot, uint32_t mode)
{
    unsigned need = mode == PAGE_READWRITE ? WM_ACC_R | WM_ACC_W : WM_ACC_R;
    return !(prot & PAGE_GUARD) && (wm_prot_access(prot) & need) == need;
}

NTSTATUS wm_secure_check_protect_locked(uintptr_t start, uintptr_t end, uint32_t prot)
{
    for (size_t i = 0; i < nsecs; i++) {
        if (overlaps(&secs[i], start, end) && !keeps(prot, secs[i].mode)) {
            refused_secure = true;
            return STATUS_INVALID_PAGE_PROTECTION;
        }
    }
    return STATUS_SUCCESS;
}

/* Every page of [start, end) committed and accessible in `mode`, winmem's or not. */
static bool probe_locked(uintptr_t start, uintptr_t end, uint32_t mode)
{
    MEMORY_BASIC_INFORMATION m;

    for (uintptr_t p = start; p < end; p = (uintptr_t)m.BaseAddress + m.RegionSize) {
        if (wm_query_locked(p, &m) != STATUS_SUCCESS || m.State != MEM_COMMIT ||
            !keeps(m.Protect, mode))
            return false;
    }
    return true;
}

/* MmSecureVirtualMemory: pin a committed range's existence and access; NULL when the range is
 * not committed, not accessible in ProbeMode, or the arguments are bad. */
WINMEM_API HANDLE NTAPI MmSecureVirtualMemory(PVOID address, SIZE_T size, ULONG probe)
{
    uintptr_t start, end;
    HANDLE h = NULL;

    if ((probe != PAGE_READONLY && probe != PAGE_READWRITE) || size == 0 || !address)
        return NULL;
    wm_vmstate_init();
    if (!wm_vmstate_page_range((uintptr_t)address, size, &start, &end) || end - 1 > WM_MAX_ADDRESS)
        return NULL;

    wm_vmstate_wrlock();
    if (probe_locked(start, end, probe)) {
        if (nsecs == capsecs) {
            size_t cap = capsecs ? capsecs * 2 : 16;
            struct secured *n = realloc(secs, cap * sizeof(*n));
            if (!n)
                goto out_unlock;
            secs = n;
            capsecs = cap;
        }
        secs[nsecs++] = (struct secured){ start, end, probe, next_id };
        h = (HANDLE)next_id++;
    }
out_unlock:
    wm_vmstate_wrunlock();
    return h;
}

/* MmUnsecureVirtualMemory: release one secure; an unknown handle changes nothing (Windows
 * would bug-check a driver passing one). */
WINMEM_API VOID NTAPI MmUnsecureVirtualMemory(HANDLE handle)
{
    wm_vmstate_wrlock();
    for (size_t i = 0; i < nsecs; i++) {
        if (secs[i].id == (uintptr_t)handle) {
            secs[i] = secs[--nsecs];
            break;
        }
    }
    wm_vmstate_wrunlock();
}

size_t wm_secure_allocation_size(uintptr_t addr)
{
    size_t size = 0;

    wm_vmstate_rdlock();
    const struct wm_region *r =
        wm_space_find_sigsafe(&wm_vm.space, addr & ~(uintptr_t)(wm_vm.page - 1));
    if (r)
        size = r->size;
    wm_vmstate_rdunlock();
    return size;
}

/* ---- the callback list -------------------------------------------------------------------- */

/* Add and Remove may race with a flush on another thread.  A flush snapshots the list under
 * a spinlock and marks each entry active while it calls it; Remove unlinks, then waits for
 * calls already started (other than its own caller's) to finish, so once Remove returns the
 * callback is neither running nor going to be called.  Flushing allocates nothing. */

#define MAX_CALLBACKS 1024

struct callback {
    struct callback *next;
    PRTL_SECURE_MEMORY_CACHE_CALLBACK fn;
    atomic_int active;
    atomic_bool removed;
};

static struct callback *callbacks;
static struct callback *zombies; /* removed; freed once no flush holds them */
static atomic_int ncallbacks;
static atomic_flag cb_lock = ATOMIC_FLAG_INIT;
/* The callback this thread is running, so Remove from inside it does not wait on itself. */
static __thread struct callback *running __attribute__((tls_model("initial-exec")));

static void cb_lock_take(void)
{
    while (atomic_flag_test_and_set_explicit(&cb_lock, memory_order_acquire))
        sched_yield();
}

static void cb_lock_drop(void)
{
    atomic_flag_clear_explicit(&cb_lock, memory_order_release);
}

/* Unlink the zombies no flush holds any more; the caller frees them after dropping the lock. */
static struct callback *reap_locked(void)
{
    struct callback **pp = &zombies, *dead = NULL;
    while (*pp) {
        struct callback *c = *pp;
        if (atomic_load(&c->active) == 0) {
            *pp = c->next;
            c->next = dead;
            dead = c;
        } else {
            pp = &c->next;
        }
    }
    return dead;
}

static void free_list(struct callback *c)
{
    while (c) {
        struct callback *n = c->next;
        free(c);
        c = n;
    }
}

WINMEM_API NTSTATUS NTAPI RtlRegisterSecureMemoryCacheCallback(PRTL_SECURE_MEMORY_CACHE_CALLBACK fn)
{
    if (!fn)
        return STATUS_INVALID_PARAMETER;
    if (atomic_load(&ncallbacks) >= MAX_CALLBACKS)
        return STATUS_NO_MEMORY;
    struct callback *c = malloc(sizeof(*c));
    if (!c)
        return STATUS_NO_MEMORY;
    c->fn = fn;
    atomic_init(&c->active, 0);
    atomic_init(&c->removed, false);
    cb_lock_take();
    /* Appended, so callbacks run in registration order. */
    struct callback **pp = &callbacks;
    while (*pp)
        pp = &(*pp)->next;
    c->next = NULL;
    *pp = c;
    atomic_fetch_add(&ncallbacks, 1);
    struct callback *dead = reap_locked();
    cb_lock_drop();
    free_list(dead);
    return STATUS_SUCCESS;
}

WINMEM_API NTSTATUS NTAPI
RtlDeregisterSecureMemoryCacheCallback(PRTL_SECURE_MEMORY_CACHE_CALLBACK fn)
{
    struct callback *found = NULL;

    cb_lock_take();
    /* The earliest registration of fn goes: registering twice needs removing twice. */
    for (struct callback **pp = &callbacks; *pp; pp = &(*pp)->next) {
        if ((*pp)->fn == fn) {
            found = *pp;
            *pp = found->next;
            atomic_fetch_sub(&ncallbacks, 1);
            break;
        }
    }
    if (found) {
        atomic_store(&found->removed, true);
        found->next = zombies;
        zombies = found;
    }
    cb_lock_drop();
    if (!found)
        return STATUS_INVALID_PARAMETER;
    /* Calls already started on other threads finish before Remove returns (a callback
     * removing itself does not wait for its own call). */
    int self = running == found;
    while (atomic_load(&found->active) > self)
        sched_yield();
    cb_lock_take();
    struct callback *dead = reap_locked();
    cb_lock_drop();
    free_list(dead);
    return STATUS_SUCCESS;
}

/* RtlFlushSecureMemoryCache: run every callback on the range; TRUE when one of them said it
 * had secured part of it (and has now unsecured it).  Allocates nothing. */
WINMEM_API BOOLEAN NTAPI RtlFlushSecureMemoryCache(PVOID addr, SIZE_T size)
{
    struct callback *snap[MAX_CALLBACKS];
    size_t n = 0;
    BOOLEAN any = FALSE;

    if (atomic_load(&ncallbacks) == 0)
        return FALSE;
    cb_lock_take();
    for (struct callback *c = callbacks; c && n < MAX_CALLBACKS; c = c->next) {
        atomic_fetch_add(&c->active, 1);
        snap[n++] = c;
    }
    cb_lock_drop();

    for (size_t i = 0; i < n; i++) {
        struct callback *c = snap[i];
        /* active was raised before this check: a Remove that sets removed after it waits
         * for this call to end; one that set it before is seen here. */
        if (!atomic_load(&c->removed)) {
            struct callback *outer = running;
            running = c;
            if (c->fn(addr, size))
                any = TRUE;
            running = outer;
        }
        atomic_fetch_sub(&c->active, 1);
    }
    return any;
}
