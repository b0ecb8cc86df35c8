/*
 * secure.c - secured memory (MmSecureVirtualMemory / MmUnsecureVirtualMemory) and the secure
 * memory cache callbacks (RtlRegister/DeregisterSecureMemoryCacheCallback,
 * RtlFlushSecureMemoryCache).
 *
 * A secured range cannot be released or decommitted, nor protected more tightly than its
 * probe mode: NtFreeVirtualMemory and NtProtectVirtualMemory ask wm_secure_check_*_locked
 * and refuse with STATUS_INVALID_PAGE_PROTECTION, changing nothing.  The Nt calls that free,
 * protect or unmap then flush the registered callbacks (no lock held) and retry once
 * (wm_secure_flush_refused), so every caller, the heap included, gets the protocol.  With
 * nothing secured, the checks cost one load.
 *
 * Beyond Windows, memory unmapped, zapped, moved or replaced without winmem (munmap, madvise,
 * mremap, mmap(MAP_FIXED): glibc's free, a runtime, a JIT) runs the callbacks too: before the
 * call, in the calling thread, when it goes through the C library's symbols (os/interpose.c
 * calls before_change); otherwise just after, on a monitor thread (os/uffdmon.c), with which
 * every secured range is registered.  WINMEM_SECURE_MONITOR=off turns both off, =monitor
 * keeps the monitor alone, =require makes MmSecureVirtualMemory fail when the monitor cannot
 * run.
 */
#include "mm.h"
#include "rtl/trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntddk.h"

struct secured {
    uintptr_t start, end;
    uint32_t mode; /* PAGE_READONLY or PAGE_READWRITE */
    uintptr_t id;  /* the handle: never 0, never reused */
};

/* Guarded by the VM lock (writers add, remove and check under it).  Sorted by start, so
 * that the checks every free, protect and unmap makes (and the look at the C library's
 * calls) find the secures overlapping a range by a binary search, not a walk of all of them:
 * with maxlen the longest secure, one overlapping [a, b) starts after a - maxlen and before b.
 * Adding and removing one moves the array's tail (memmove), like the two system calls that
 * register it with the monitor, a cost per secure and not per call. */
static struct secured *secs;
static size_t nsecs, capsecs;
static uintptr_t next_id = 1;
static uintptr_t maxlen;   /* the longest secure's length, 0 when there are none */
static size_t maxlen_held; /* how many secures are that long */

/* The monitor: unknown until the first secure (and again in a child after fork), then on or
 * off for the process.  Under the VM write lock. */
enum { MON_UNKNOWN, MON_ON, MON_OFF };
static int mon = MON_UNKNOWN;
static bool mon_require, mon_said;
/* The calls made through the C library's symbols are looked at (os/interpose.c): from the
 * first secure on, unless WINMEM_SECURE_MONITOR=off, whether or not userfaultfd works. */
static bool interposing;
/* nsecs while interposing, else 0: read without the lock by the interposed calls, as a hint
 * (a secure being added or removed concurrently is the caller's own race). */
static atomic_size_t watched;
/* The callback this thread is running, so Remove from inside it does not wait on itself,
 * and a munmap it makes does not run the callbacks again from inside one of them. */
static __thread struct wm_cb *running __attribute__((tls_model("initial-exec")));

static void count_locked(void)
{
    atomic_store_explicit(&watched, interposing ? nsecs : 0, memory_order_relaxed);
}

/* Per thread: the last refusal from this thread's Nt call was for a secured range (so the
 * Win32 caller flushes the callbacks, which it does not for an invalid protection value,
 * the other source of STATUS_INVALID_PAGE_PROTECTION). */
static __thread bool refused_secure __attribute__((tls_model("initial-exec")));

WM_HOT void wm_secure_clear_refusal(void)
{
    refused_secure = false;
}

bool wm_secure_flush_refused(NTSTATUS st, uintptr_t addr, size_t size)
{
    if (st != STATUS_INVALID_PAGE_PROTECTION || !wm_secure_take_refusal())
        return false;
    return RtlFlushSecureMemoryCache((PVOID)addr, size);
}

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

/* The first secure starting at or after `at`. */
static size_t lower_bound_locked(uintptr_t at)
{
    size_t lo = 0, hi = nsecs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (secs[mid].start < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first secure that may overlap [start, end): the ones before it end by `start`.  Walk
 * on from it while secs[i].start < end, testing each with overlaps(). */
static size_t first_candidate_locked(uintptr_t start)
{
    return lower_bound_locked(start > maxlen ? start - maxlen + 1 : 0);
}

/* Insert s in start order; the caller has made room. */
static void insert_locked(struct secured s)
{
    size_t i = lower_bound_locked(s.start);
    uintptr_t len = s.end - s.start;

    memmove(&secs[i + 1], &secs[i], (nsecs - i) * sizeof(*secs));
    secs[i] = s;
    nsecs++;
    if (len > maxlen)
        maxlen = len, maxlen_held = 1;
    else if (len == maxlen)
        maxlen_held++;
}

static void remove_locked(size_t i)
{
    uintptr_t len = secs[i].end - secs[i].start;

    memmove(&secs[i], &secs[i + 1], (nsecs - i - 1) * sizeof(*secs));
    nsecs--;
    if (len == maxlen && --maxlen_held == 0) {
        maxlen = 0;
        for (size_t k = 0; k < nsecs; k++) {
            uintptr_t l = secs[k].end - secs[k].start;
            if (l > maxlen)
                maxlen = l, maxlen_held = 1;
            else if (l == maxlen)
                maxlen_held++;
        }
    }
}

/* Whether any secure overlaps [start, end). */
static bool secured_locked(uintptr_t start, uintptr_t end)
{
    for (size_t i = first_candidate_locked(start); i < nsecs && secs[i].start < end; i++)
        if (overlaps(&secs[i], start, end))
            return true;
    return false;
}

NTSTATUS wm_secure_check_free_locked(uintptr_t start, uintptr_t end)
{
    WM_ASSERT(wm_vmstate_held_sigsafe());
    if (!nsecs || !secured_locked(start, end))
        return STATUS_SUCCESS;
    refused_secure = true;
    return STATUS_INVALID_PAGE_PROTECTION;
}

/* A protection keeps a probe mode's access when it still allows every access the mode
 * promised the driver, and is not a guard page (which takes all access away until touched). */
static bool keeps(uint32_t prot, uint32_t mode)
{
    unsigned need = mode == PAGE_READWRITE ? WM_ACC_R | WM_ACC_W : WM_ACC_R;
    return !(prot & PAGE_GUARD) && wm_prot_allows(prot, need);
}

WM_HOT NTSTATUS wm_secure_check_protect_locked(uintptr_t start, uintptr_t end, uint32_t prot)
{
    WM_ASSERT(wm_vmstate_held_sigsafe());
    if (!nsecs)
        return STATUS_SUCCESS; /* the usual case: one load */
    for (size_t i = first_candidate_locked(start); i < nsecs && secs[i].start < end; i++) {
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

/* ---- the monitor: secured ranges changed behind the API's back ---------------------------- */

/* Where the model's run holding p ends, or end if that is sooner. */
static uintptr_t next_run_locked(uintptr_t p, uintptr_t end)
{
    MEMORY_BASIC_INFORMATION m;

    if (wm_query_locked(p, &m) == STATUS_SUCCESS && (uintptr_t)m.BaseAddress + m.RegionSize < end)
        return (uintptr_t)m.BaseAddress + m.RegionSize;
    return end;
}

/* Undo the registration of [lo, hi): whole, or run by run when the kernel refuses the whole
 * (part of it is another descriptor's, a write watch). */
static void unwatch_locked(uintptr_t lo, uintptr_t hi)
{
    if (wm_os_uffdmon_unregister(lo, hi) == 0)
        return;
    for (uintptr_t p = lo; p < hi; p = next_run_locked(p, hi))
        (void)wm_os_uffdmon_unregister(p, next_run_locked(p, hi));
}

/* Undo the registration of the parts of [lo, hi) that no secure covers: the gaps between the
 * overlapping secures, taken in start order. */
static void unwatch_uncovered_locked(uintptr_t lo, uintptr_t hi)
{
    uintptr_t at = lo;

    for (size_t i = first_candidate_locked(lo); i < nsecs && secs[i].start < hi && at < hi; i++) {
        if (!overlaps(&secs[i], at, hi))
            continue;
        if (at < secs[i].start)
            unwatch_locked(at, secs[i].start);
        if (secs[i].end > at)
            at = secs[i].end;
    }
    if (at < hi)
        unwatch_locked(at, hi);
}

/* Register [start, end) for events: whole, or run by run when part of it cannot be (a run
 * already registered for write watches, whose descriptor keeps it: the kernel allows one per
 * mapping). */
static void watch_locked(uintptr_t start, uintptr_t end)
{
    if (wm_os_uffdmon_register(start, end) == 0)
        return;
    for (uintptr_t p = start; p < end; p = next_run_locked(p, end))
        (void)wm_os_uffdmon_register(p, next_run_locked(p, end));
}

static void on_event(int kind, uintptr_t start, uintptr_t end, uintptr_t to)
{
    /* At once, holding no lock: the callbacks drop their entries and unsecure, as after a
     * refusal.  (A move also unmaps the old place: a second event, whose callbacks find
     * nothing left to drop.) */
    RtlFlushSecureMemoryCache((PVOID)start, end - start);
    if (kind == WM_UFFDMON_REMAP) {
        /* The registration moved with the pages; where nothing is secured it goes. */
        wm_vmstate_wrlock();
        unwatch_uncovered_locked(to, to + (end - start));
        wm_vmstate_wrunlock();
    }
}

/* A munmap, zapping madvise, mremap or mmap(MAP_FIXED) is about to be made through the C
 * library's symbols, in this thread, by somebody other than winmem.  When it touches a
 * secured range the callbacks run first, as for a VirtualFree, so no cache entry outlives
 * the memory.  Not from inside a callback (the callbacks would run inside themselves; the
 * monitor still hears of it), nor on a thread holding the VM lock (a signal handler that
 * interrupted winmem: the lock cannot be taken again here).  Async-signal-safe otherwise as
 * the lock and the callbacks are.  WM_OS_LOOK_ASK only says whether they would run;
 * WM_OS_LOOK_GROWN: a secured range grew in place by [start, end), whose registration the
 * kernel extended over the new pages: undone where nothing is secured. */
static bool before_change(uintptr_t start, uintptr_t end, int what)
{
    if (!atomic_load_explicit(&watched, memory_order_relaxed) || running ||
        wm_vmstate_held_sigsafe())
        return false;
    if (what == WM_OS_LOOK_GROWN) {
        wm_vmstate_wrlock();
        if (mon == MON_ON)
            unwatch_uncovered_locked(start, end);
        wm_vmstate_wrunlock();
        return false;
    }
    wm_vmstate_rdlock();
    bool hit = secured_locked(start, end);
    wm_vmstate_rdunlock();
    if (hit && what == WM_OS_LOOK_RUN)
        RtlFlushSecureMemoryCache((PVOID)start, end - start);
    return hit;
}

/* Whether secured ranges are watched by userfaultfd, starting the monitor on first use (and
 * the look at interposed calls with it). */
static bool monitor_locked(void)
{
    WM_ASSERT(wm_vmstate_write_held());
    if (mon != MON_UNKNOWN)
        return mon == MON_ON;
    const char *env = getenv("WINMEM_SECURE_MONITOR");
    mon_require = env && strcmp(env, "require") == 0;
    if (env && strcmp(env, "off") == 0) {
        mon = MON_OFF;
        return false;
    }
    /* "monitor": the monitor alone, for a program whose callbacks must never run inside
     * another library's munmap (an allocator's, holding its own lock). */
    if (!env || strcmp(env, "monitor") != 0) {
        interposing = true;
        wm_os_interpose_set(before_change);
    }
    int rc = wm_os_uffdmon_start(on_event);
    if (rc != 0) {
        mon = MON_OFF;
        if (!mon_said) {
            /* Once per process: calls through the C library's symbols are still looked at
             * (unless the switch said "monitor"), the rest (its own calls, raw system calls)
             * is not. */
            fprintf(stderr,
                    "winmem: secured memory is not watched for munmap/madvise/mremap made "
                    "behind the API %s: userfaultfd: %s (WINMEM_SECURE_MONITOR=off silences "
                    "this; see docs/secure-memory.md)\n",
                    interposing ? "by raw system calls or inside the C library (its free), "
                                  "only for calls through its symbols"
                                : "at all",
                    strerror(-rc));
            mon_said = true;
        }
        return false;
    }
    mon = MON_ON;
    /* A child after fork(): the ranges it inherited lost their registration (the caller's new
     * one is not among them yet: it registers that itself). */
    for (size_t i = 0; i < nsecs; i++)
        watch_locked(secs[i].start, secs[i].end);
    return true;
}

/* MmSecureVirtualMemory: pin a committed range's existence and access; NULL when the range is
 * not committed, not accessible in ProbeMode, or the arguments are bad. */
WINMEM_API HANDLE NTAPI MmSecureVirtualMemory(PVOID address, SIZE_T size, ULONG probe)
{
    WM_TRACE(MmSecureVirtualMemory, address, size, probe);
    uintptr_t start, end;
    HANDLE h = NULL;

    if ((probe != PAGE_READONLY && probe != PAGE_READWRITE) || size == 0 || !address)
        return NULL;
    wm_vmstate_init();
    if (!wm_vmstate_page_range((uintptr_t)address, size, &start, &end) || end - 1 > WM_MAX_ADDRESS)
        return NULL;

    /* Not a range another thread is creating or releasing: secured, it must stay. */
    wm_vmstate_wrlock_range(start, end);
    if (probe_locked(start, end, probe)) {
        if (nsecs == capsecs) {
            size_t cap = capsecs ? capsecs * 2 : 16;
            struct secured *n = realloc(secs, cap * sizeof(*n));
            if (!n)
                goto out_unlock;
            secs = n;
            capsecs = cap;
        }
        bool watching = monitor_locked();
        if (!watching && mon_require)
            goto out_unlock;
        insert_locked((struct secured){ start, end, probe, next_id });
        if (watching)
            watch_locked(start, end);
        count_locked();
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
    WM_TRACE_VOID(MmUnsecureVirtualMemory, handle);
    wm_vmstate_wrlock();
    for (size_t i = 0; i < nsecs; i++) {
        if (secs[i].id == (uintptr_t)handle) {
            struct secured gone = secs[i];
            remove_locked(i);
            count_locked();
            if (mon == MON_ON)
                unwatch_uncovered_locked(gone.start, gone.end);
            break;
        }
    }
    wm_vmstate_wrunlock();
}

bool wm_secure_range_locked(size_t i, uintptr_t *start, uintptr_t *end, uint32_t *mode)
{
    if (i >= nsecs)
        return false;
    *start = secs[i].start;
    *end = secs[i].end;
    *mode = secs[i].mode;
    return true;
}

size_t wm_secure_allocation_size(uintptr_t addr)
{
    size_t size = 0;

    wm_vmstate_rdlock_range(addr, addr + 1);
    const struct wm_region *r =
        wm_space_find_sigsafe(&wm_vm.space, addr & ~(uintptr_t)(wm_vm.page - 1));
    if (r)
        size = r->size;
    wm_vmstate_rdunlock();
    return size;
}

/* ---- the callback list -------------------------------------------------------------------- */

/* Add and Remove may race with a flush on another thread.  A flush walks the list (cblist.c)
 * holding one entry at a time and marks it called while it runs; Remove unlinks, then waits
 * for calls already started (other than its own caller's) to finish, so once Remove returns
 * the callback is neither running nor going to be called.  Flushing allocates nothing, and
 * the list has no limit but memory. */

static struct wm_cblist callbacks = WM_CBLIST_INIT;

static void fork_prepare(void)
{
    wm_cblist_fork_prepare(&callbacks);
    wm_os_uffdmon_fork_prepare();
}

static void fork_parent(void)
{
    wm_os_uffdmon_fork_parent();
    wm_cblist_fork_parent(&callbacks);
}

/* The monitor starts again on the child's next MmSecureVirtualMemory, which registers the
 * ranges the child inherited (their registration was not inherited). */
static void fork_child(void)
{
    wm_os_uffdmon_fork_child();
    if (mon == MON_ON)
        mon = MON_UNKNOWN;
    wm_cblist_fork_child(&callbacks, running);
}

/* At load, before the memory manager's handler (src/mm/vmstate.c states the order). */
__attribute__((constructor(101))) static void register_fork(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

WINMEM_API NTSTATUS NTAPI RtlRegisterSecureMemoryCacheCallback(PRTL_SECURE_MEMORY_CACHE_CALLBACK fn)
{
    WM_TRACE(RtlRegisterSecureMemoryCacheCallback, fn);
    if (!fn)
        return STATUS_INVALID_PARAMETER;
    /* Appended, so callbacks run in registration order. */
    return wm_cblist_add(&callbacks, (void *)fn, false) ? STATUS_SUCCESS : STATUS_NO_MEMORY;
}

WINMEM_API NTSTATUS NTAPI
RtlDeregisterSecureMemoryCacheCallback(PRTL_SECURE_MEMORY_CACHE_CALLBACK fn)
{
    WM_TRACE(RtlDeregisterSecureMemoryCacheCallback, fn);
    /* The earliest registration of fn goes (registering twice needs removing twice); calls
     * under way on other threads end first, so afterwards fn is neither running nor called. */
    return fn && wm_cblist_remove(&callbacks, NULL, (const void *)fn, running, true)
               ? STATUS_SUCCESS
               : STATUS_INVALID_PARAMETER;
}

/* RtlFlushSecureMemoryCache: run every callback on the range; TRUE when one of them said it
 * had secured part of it (and has now unsecured it).  Allocates nothing. */
WINMEM_API BOOLEAN NTAPI RtlFlushSecureMemoryCache(PVOID addr, SIZE_T size)
{
    BOOLEAN any = FALSE;

    for (struct wm_cb *c = wm_cblist_next_sigsafe(&callbacks, NULL); c;
         c = wm_cblist_next_sigsafe(&callbacks, c)) {
        if (!wm_cblist_call_begin_sigsafe(c))
            continue; /* removed before its turn */
        struct wm_cb *outer = running;
        running = c;
        BOOLEAN r = ((PRTL_SECURE_MEMORY_CACHE_CALLBACK)c->fn)(addr, size);
        if (__builtin_expect(wm_trace_mask & WM_TRACE_SECURE, 0))
            wm_trace_callback(c->fn, addr, size, r);
        if (r)
            any = TRUE;
        running = outer;
        wm_cblist_call_end_sigsafe(c);
    }
    return any;
}
