/*
 * vmstate.c - the process-wide VM state: the reservation index, the VM lock that guards it,
 * the busy ranges (mutations whose system call runs without the lock), one-time
 * initialisation, fork safety and the argument helpers every Nt call shares.
 */
#include "mm.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

struct wm_vmstate wm_vm;

/* Lock word: WRITER bit, PENDING bit (a writer waits, so new readers hold back and a stream
 * of readers cannot starve it), and the number of readers in the low bits. */
#define WRITER 0x80000000u
#define PENDING 0x40000000u
static _Atomic uint32_t lock_word;
static _Atomic uint32_t lock_waiters; /* threads asleep (or about to sleep) on lock_word */
/* Odd while a writer may be changing the model: lock-free readers retry when it moved.  A
 * writer holds it odd from wrlock to wrunlock, except across a system call that changes no
 * model byte (wm_vmstate_model_stable_locked), so readers need not wait for the kernel. */
static _Atomic uint32_t model_seq;
/* How many holds of the VM lock (read or write) this thread has: a fault on a thread that
 * holds it is winmem's own bug, which the fault path must report rather than wait on. */
static __thread unsigned held __attribute__((tls_model("initial-exec")));
/* This thread holds the lock for writing (checked by WM_ASSERT in the _locked mutators). */
static __thread bool writing __attribute__((tls_model("initial-exec")));
/* Changes since the last whole-model check (expensive checks only). */
static unsigned changes;

bool wm_vmstate_write_held(void)
{
    return writing;
}

bool wm_vmstate_held_sigsafe(void)
{
    return held != 0;
}

/* How many times a waiter re-reads a lock word before sleeping on it: a writer's critical
 * section is model work of well under a microsecond now that the system calls of reserve,
 * release, map and unmap run outside it, so a short spin usually sees it end and saves the
 * two context switches of a futex sleep and wake. */
#define SPINS 200

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Async-signal-safe: a raw futex system call. */
static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void wait_for_change(uint32_t seen)
{
    for (int i = 0; i < SPINS; i++) {
        cpu_relax();
        if (atomic_load_explicit(&lock_word, memory_order_relaxed) != seen)
            return;
    }
    atomic_fetch_add(&lock_waiters, 1);
    futex_wait(&lock_word, seen);
    atomic_fetch_sub(&lock_waiters, 1);
}

/* Async-signal-safe (atomics and futex only): the fault path reads the model under it. */
void wm_vmstate_rdlock(void)
{
    uint32_t w = atomic_load_explicit(&lock_word, memory_order_relaxed);
    held++;
    for (;;) {
        if (!(w & (WRITER | PENDING))) {
            if (atomic_compare_exchange_weak_explicit(&lock_word, &w, w + 1, memory_order_acquire,
                                                      memory_order_relaxed))
                return;
        } else {
            wait_for_change(w);
            w = atomic_load_explicit(&lock_word, memory_order_relaxed);
        }
    }
}

void wm_vmstate_rdunlock(void)
{
    held--;
    uint32_t w = atomic_fetch_sub_explicit(&lock_word, 1, memory_order_release) - 1;
    if ((w & ~PENDING) == 0 && atomic_load(&lock_waiters))
        futex_wake_all(&lock_word);
}

/* Threads that have taken the write lock (or reserved), each given the next tag. */
static _Atomic unsigned threads_seen;
static __thread unsigned char thread_tag __attribute__((tls_model("initial-exec")));

static void new_thread_tag(void)
{
    unsigned n = atomic_fetch_add_explicit(&threads_seen, 1, memory_order_relaxed);
    thread_tag = (unsigned char)(n % 127 + 1);
}

unsigned wm_vmstate_thread_tag(void)
{
    if (__builtin_expect(!thread_tag, 0))
        new_thread_tag();
    return thread_tag;
}

WM_HOT bool wm_vmstate_alone_locked(void)
{
    WM_ASSERT(writing);
    return atomic_load_explicit(&threads_seen, memory_order_relaxed) <= 1;
}

/* Async-signal-safe too: the fault path takes it to consume a guard page. */
WM_HOT void wm_vmstate_wrlock(void)
{
    uint32_t w = atomic_load_explicit(&lock_word, memory_order_relaxed);
    held++;
    if (__builtin_expect(!thread_tag, 0))
        new_thread_tag(); /* counted before it waits: a holder that thinks itself alone
                           * keeps the lock across one system call at most */
    for (;;) {
        if ((w & ~PENDING) == 0) {
            /* Free: take it.  Other waiting writers set PENDING again when they wake. */
            if (atomic_compare_exchange_weak_explicit(&lock_word, &w, WRITER, memory_order_acquire,
                                                      memory_order_relaxed))
                break;
            continue;
        }
        if (!(w & PENDING) &&
            !atomic_compare_exchange_weak_explicit(&lock_word, &w, w | PENDING,
                                                   memory_order_relaxed, memory_order_relaxed))
            continue;
        wait_for_change(w | PENDING);
        w = atomic_load_explicit(&lock_word, memory_order_relaxed);
    }
    writing = true;
    wm_vmstate_model_changing_locked();
}

/* gcc's ThreadSanitizer refuses atomic_thread_fence (-Wtsan: it cannot model fences).  There
 * the public MemoryBarrier() stands in: a sequentially consistent read-modify-write there
 * (winnt_inline.h), a full barrier on the hardware, which orders at least what the fence
 * would.  Under a sanitizer readers take the lock anyway (WM_TSAN). */
#if WM_TSAN && !defined(__clang__)
#define seq_fence(order) ((void)(order), MemoryBarrier())
#else
#define seq_fence(order) atomic_thread_fence(order)
#endif

WM_HOT void wm_vmstate_model_changing_locked(void)
{
    WM_ASSERT(writing);
    uint32_t s = atomic_load_explicit(&model_seq, memory_order_relaxed);
    if (s & 1)
        return;
    atomic_store_explicit(&model_seq, s + 1, memory_order_relaxed);
    /* The odd count is seen before any model byte written after it. */
    seq_fence(memory_order_release);
}

WM_HOT void wm_vmstate_model_stable_locked(void)
{
    WM_ASSERT(writing);
    uint32_t s = atomic_load_explicit(&model_seq, memory_order_relaxed);
    if (s & 1)
        atomic_store_explicit(&model_seq, s + 1, memory_order_release);
}

/* Protection-change claims out (wm_vmstate_busy_change_locked).  Written under the write lock
 * only, so plain stores do; read without it by the fault path. */
static _Atomic uint32_t changing_claims;

bool wm_vmstate_writer_active_sigsafe(void)
{
    /* A fault caused by a claimed change's mprotect comes after the count was raised (the
     * claim is made before the system call, and the kernel orders the two). */
    return (atomic_load_explicit(&lock_word, memory_order_relaxed) & WRITER) ||
           atomic_load_explicit(&changing_claims, memory_order_acquire) != 0;
}

static const char *check_claims_locked(void);

/* Expensive checks: the whole model's invariants after a change, every time while it is
 * small, every 256th time past 20,000 regions so big tests stay linear enough; and the
 * claims against it. */
static void check_model_locked(void)
{
    if (WM_CHECKS < 2 || (wm_vm.space.count > 20000 && ++changes % 256 != 0))
        return;
    const char *bad = wm_space_check(&wm_vm.space, wm_vm.page ? wm_vm.page : 4096);
    if (!bad)
        bad = check_claims_locked();
    if (bad)
        wm_check_fail(__FILE__, __LINE__, bad);
}

WM_HOT void wm_vmstate_wrunlock(void)
{
    WM_ASSERT(writing);
    check_model_locked();
    wm_vmstate_model_stable_locked();
    writing = false;
    held--;
    atomic_store_explicit(&lock_word, 0, memory_order_release);
    if (atomic_load(&lock_waiters))
        futex_wake_all(&lock_word);
}

uint32_t wm_vmstate_read_begin(void)
{
    return atomic_load_explicit(&model_seq, memory_order_acquire);
}

bool wm_vmstate_seq_valid(void *seq)
{
    return wm_vmstate_read_valid(*(const uint32_t *)seq);
}

bool wm_vmstate_read_valid(uint32_t seq)
{
    seq_fence(memory_order_acquire);
    return !(seq & 1) && atomic_load_explicit(&model_seq, memory_order_relaxed) == seq;
}

/* ---- busy ranges --------------------------------------------------------------------------
 *
 * A reserve, release, map or unmap makes its system call without the VM lock: it claims its
 * range here under the lock, drops the lock for the mmap or munmap, and takes it again to
 * publish the region (or drop it) and settle the claim.  The list links nodes that live on
 * the claiming threads' stacks, so it needs no memory and has no limit; it holds one entry per
 * thread in the middle of such a call, so walking it is short.  Guarded by the VM lock. */
static struct wm_busy *busy_head;
/* Threads waiting for busy_head to be empty (fork, and the placements that let the kernel
 * choose): while non-zero, new mutations keep the lock across their system call instead. */
static unsigned quiet_wanted;
/* Bumped (under the write lock) whenever a claim settles; threads waiting for one sleep on it. */
static _Atomic uint32_t settle_seq;
static _Atomic uint32_t settle_waiters;
/* A per-thread address that names the thread as a claim's owner. */
static __thread char self_tag __attribute__((tls_model("initial-exec")));

/* A range being created overlaps no region (it enters the index only when it settles); one
 * being released, or changing protection, is exactly one region, still in the index; claims
 * do not overlap. */
static const char *check_claims_locked(void)
{
    for (const struct wm_busy *b = busy_head; b; b = b->next) {
        if (b->start >= b->end)
            return "empty claim";
        const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, b->start);
        if (b->creating && wm_space_overlaps(&wm_vm.space, b->start, b->end - b->start))
            return "a range being created overlaps a region";
        if (!b->creating && (!r || r->base != b->start || r->size != b->end - b->start))
            return "a range being released or changing protection is not one region";
        for (const struct wm_busy *c = b->next; c; c = c->next)
            if (c->start < b->end && b->start < c->end)
                return "claims overlap";
    }
    return NULL;
}

WM_HOT bool wm_vmstate_busy_allowed_locked(void)
{
    WM_ASSERT(writing);
    return quiet_wanted == 0;
}

WM_HOT void wm_vmstate_busy_add_locked(struct wm_busy *b, uintptr_t start, uintptr_t end,
                                       bool creating)
{
    WM_ASSERT(writing);
    b->start = start;
    b->end = end;
    b->creating = creating;
    b->changing = false;
    b->owner = &self_tag;
    b->next = busy_head;
    busy_head = b;
}

WM_HOT void wm_vmstate_busy_change_locked(struct wm_busy *b, uintptr_t start, uintptr_t end)
{
    wm_vmstate_busy_add_locked(b, start, end, false);
    b->changing = true;
    atomic_store_explicit(&changing_claims,
                          atomic_load_explicit(&changing_claims, memory_order_relaxed) + 1,
                          memory_order_release);
}

WM_HOT void wm_vmstate_busy_settle_locked(struct wm_busy *b)
{
    WM_ASSERT(writing);
    struct wm_busy **pp = &busy_head;
    while (*pp != b)
        pp = &(*pp)->next;
    *pp = b->next;
    if (b->changing)
        atomic_store_explicit(&changing_claims,
                              atomic_load_explicit(&changing_claims, memory_order_relaxed) - 1,
                              memory_order_release);
    atomic_fetch_add(&settle_seq, 1);
    if (atomic_load(&settle_waiters))
        futex_wake_all(&settle_seq);
}

/* Which claims find_other looks for. */
enum { CREATING = 1, RELEASING = 2, CHANGING = 4, ANY = 7 };

static unsigned kind_of(const struct wm_busy *b)
{
    return b->creating ? CREATING : b->changing ? CHANGING : RELEASING;
}

/* Another thread's claim of one of the kinds overlapping [start, end), or NULL.  A thread
 * never waits for its own (a signal handler interrupting its own reserve or release). */
static const struct wm_busy *find_other(uintptr_t start, uintptr_t end, unsigned kinds)
{
    for (const struct wm_busy *b = busy_head; b; b = b->next)
        if (b->start < end && start < b->end && b->owner != &self_tag && (kind_of(b) & kinds))
            return b;
    return NULL;
}

const struct wm_busy *wm_vmstate_busy_find_locked(uintptr_t start, uintptr_t end)
{
    WM_ASSERT(held);
    return find_other(start, end, ANY);
}

bool wm_vmstate_busy_any_locked(uintptr_t start, uintptr_t end)
{
    WM_ASSERT(held);
    for (const struct wm_busy *b = busy_head; b; b = b->next)
        if (b->start < end && start < b->end)
            return true;
    return false;
}

void wm_vmstate_busy_clip_locked(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    WM_ASSERT(held);
    for (const struct wm_busy *b = busy_head; b; b = b->next) {
        if (b->end <= addr && b->end > *lo)
            *lo = b->end;
        if (b->start > addr && b->start < *hi)
            *hi = b->start;
    }
}

/* With the lock held (write or read): drop it, wait until some claim settles, take it again.
 * seen was read under the lock, before any claim that the caller saw could settle, so the
 * wake cannot be missed. */
static void wait_settle(bool write)
{
    uint32_t seen = atomic_load(&settle_seq);

    if (write)
        wm_vmstate_wrunlock();
    else
        wm_vmstate_rdunlock();
    for (int i = 0; i < SPINS && atomic_load_explicit(&settle_seq, memory_order_relaxed) == seen;
         i++)
        cpu_relax();
    if (atomic_load(&settle_seq) == seen) {
        atomic_fetch_add(&settle_waiters, 1);
        futex_wait(&settle_seq, seen);
        atomic_fetch_sub(&settle_waiters, 1);
    }
    if (write)
        wm_vmstate_wrlock();
    else
        wm_vmstate_rdlock();
}

WM_HOT void wm_vmstate_wrlock_range(uintptr_t start, uintptr_t end)
{
    wm_vmstate_wrlock();
    while (busy_head && find_other(start, end, ANY))
        wait_settle(true);
}

void wm_vmstate_rdlock_range(uintptr_t start, uintptr_t end)
{
    wm_vmstate_rdlock();
    while (busy_head && find_other(start, end, ANY))
        wait_settle(false);
}

void wm_vmstate_rdlock_created(uintptr_t start, uintptr_t end)
{
    wm_vmstate_rdlock();
    while (busy_head && find_other(start, end, CREATING))
        wait_settle(false);
}

void wm_vmstate_wrlock_unchanging_sigsafe(uintptr_t start, uintptr_t end)
{
    wm_vmstate_wrlock();
    while (busy_head && find_other(start, end, CHANGING))
        wait_settle(true);
}

void wm_vmstate_quiesce_locked(void)
{
    WM_ASSERT(writing);
    quiet_wanted++;
    while (wm_vmstate_busy_find_locked(0, UINTPTR_MAX))
        wait_settle(true);
    quiet_wanted--;
}

/* fork(): the child must not inherit a lock held by a thread that does not exist there,
 * nor an index half-way through an insert, so fork waits for every mutation to finish.  The
 * locks are taken in the one order they nest in (names_lock, then the handle table's, then
 * the VM lock: a named create makes a handle under names_lock, and nothing takes the names
 * or table lock under the VM lock), from one handler registered when the library loads, so
 * the order does not depend on which lock a program happened to use first.
 *
 * Across layers, fork's prepare handlers run in reverse order of registration, so the
 * handlers are registered at load in the reverse of the lock order, fixed by constructor
 * priority: the callback lists (101: secure.c, except/handlers.c; their spinlocks are taken
 * under every other lock), then this one (102), then the heaps' (default priority: a heap
 * call holds its heap's locks while it makes Nt calls).  So fork takes heap locks, names,
 * handle table, VM lock, callback lists, in the order every call nests them. */
static void atfork_prepare(void)
{
    wm_section_fork_prepare();
    wm_handle_fork_prepare();
    wm_vmstate_wrlock();
    /* Nor a range claimed by a thread that the child will not have, in the middle of its
     * mmap or munmap: wait for every claim to settle (they need only the VM lock for that). */
    wm_vmstate_quiesce_locked();
}

static void atfork_release(void)
{
    wm_vmstate_wrunlock();
    wm_handle_fork_release();
    wm_section_fork_release();
}

static void atfork_child(void)
{
    wm_vmstate_wrunlock();
    wm_handle_fork_release();
    wm_section_fork_child();
}

__attribute__((constructor(102))) static void register_fork(void)
{
    pthread_atfork(atfork_prepare, atfork_release, atfork_child);
}

static void init_once(void)
{
    wm_vm.page = wm_os_page_size();
    /* mmap'd chunks: huge pages for the index, and allocation that is a system call, not
     * malloc, so the fault path can allocate. */
    wm_arena_set_source(wm_os_arena_chunk);
    wm_arena_set_discard(wm_os_arena_discard);
    wm_arena_set_serial_check(wm_vmstate_write_held);
}

WM_HOT void wm_vmstate_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static _Atomic bool done; /* skips pthread_once's call on every entry after the first */

    if (!atomic_load_explicit(&done, memory_order_acquire)) {
        pthread_once(&once, init_once);
        atomic_store_explicit(&done, true, memory_order_release);
    }
}

void wm_vmstate_system(struct wm_system *out)
{
    wm_vmstate_init();
    out->page = wm_vm.page;
    out->cpus = wm_os_cpu_count();
    out->large_page = wm_os_large_page_size();
}

WM_HOT NTSTATUS wm_vmstate_check_process(HANDLE process)
{
    if (__builtin_expect(process == NtCurrentProcess(), 1))
        return STATUS_SUCCESS;
    /* A real handle to this process (a duplicate of the pseudo handle) works too; the
     * current-thread pseudo handle is the wrong object type, anything else no handle. */
    return wm_handle_check_process(process);
}

WM_HOT bool wm_vmstate_page_range(uintptr_t addr, size_t size, uintptr_t *start, uintptr_t *end)
{
    uintptr_t mask = wm_vm.page - 1;
    uintptr_t last = addr + size;

    if (last < addr || last > UINTPTR_MAX - mask)
        return false;
    *start = addr & ~mask;
    *end = (last + mask) & ~mask;
    return true;
}

WM_HOT NTSTATUS wm_vmstate_args_in(PVOID *base_ptr, PSIZE_T size_ptr, uintptr_t *addr, size_t *size)
{
    PVOID b;
    SIZE_T n;

    /* Read, then written back unchanged: an output that cannot be written fails the call now,
     * before anything changes, as Windows' probing of its arguments does. */
    if (!base_ptr || !size_ptr || wm_os_copy(&b, base_ptr, sizeof(b)) ||
        wm_os_copy(base_ptr, &b, sizeof(b)) || wm_os_copy(&n, size_ptr, sizeof(n)) ||
        wm_os_copy(size_ptr, &n, sizeof(n)))
        return STATUS_ACCESS_VIOLATION;
    *addr = (uintptr_t)b;
    *size = n;
    return STATUS_SUCCESS;
}

WM_HOT void wm_vmstate_args_out(PVOID *base_ptr, PSIZE_T size_ptr, uintptr_t addr, size_t size)
{
    PVOID b = (PVOID)addr;
    SIZE_T n = size;

    /* The operation is done: a write failing now (another thread, or this very call, took
     * the page's write access away) changes nothing more, as Windows ignores it too. */
    (void)wm_os_copy(base_ptr, &b, sizeof(b));
    (void)wm_os_copy(size_ptr, &n, sizeof(n));
}
