/*
 * bench.c - virtual-memory call costs, as a plain Win32 program.
 *
 * One source, three builds: natively against winmem (bench_winmem), with mingw-w64 for
 * Wine or Windows (bench_winmem.exe), and its bare-Linux twin is bare.c (the floor).
 * Only <windows.h> and C standard headers are used, so nothing here is winmem-specific,
 * except the secured-memory rows (alloc_free_cb*, refused_free, secure_unsecure*,
 * secure_event*, munmap_secured), which also
 * need <ntddk.h> and are built only for winmem (#ifndef _WIN32): Wine 8.0 aborts in
 * AddSecureMemoryCacheCallback and has no user-mode MmSecureVirtualMemory.
 *
 * Output, one line each, meant for scripts (bench/run.sh):
 *   info <key> <value...>        what ran where
 *   row <name> <ns_per_op>       best of --reps repetitions, nanoseconds per operation
 *   spread <name> <best> <median> <worst>   the same figures for judging noise
 *   note <name> <free text>      a row that was reduced or skipped, and why
 *
 * Options: --only name[,name...]  --scale F (iteration counts x F)  --reps N
 *          --e-count N (reservations for query_1m)  --e-budget S (seconds to spend making
 *          them before settling for fewer)
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200112L /* clock_gettime under -std=c11 */
#define _DEFAULT_SOURCE         /* madvise, for secure_event */
#endif

#include <windows.h>
#ifndef _WIN32
#include <ntddk.h> /* MmSecureVirtualMemory, MmUnsecureVirtualMemory: winmem only */
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "heapload.h"
static void die(const char *what)
{
    printf("error %s failed, GetLastError=%lu\n", what, (unsigned long)GetLastError());
    fflush(stdout);
    exit(1);
}

static SIZE_T page;
static volatile SIZE_T sink; /* keeps query results alive */

/* ---- a: VirtualAlloc + VirtualFree of 64 KiB ---- */

static void run_alloc_free(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p)
            die("VirtualAlloc(64 KiB)");
        if (!VirtualFree(p, 0, MEM_RELEASE))
            die("VirtualFree(MEM_RELEASE)");
    }
}

/* ---- alloc2_near: VirtualAlloc2 with address requirements ("allocate near", as a JIT asks
 * for memory within rel32 reach of its code), 64 KiB reserved and committed, then freed ---- */

#ifndef _WIN32
static char *near_lo;

static void run_alloc2_near(long n)
{
    MEM_ADDRESS_REQUIREMENTS a = { near_lo, near_lo + 0x7fffffff, 0 };
    MEM_EXTENDED_PARAMETER ext;
    memset(&ext, 0, sizeof ext);
    ext.Type = MemExtendedParameterAddressRequirements;
    ext.Pointer = &a;
    for (long i = 0; i < n; i++) {
        void *p =
            VirtualAlloc2(NULL, NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, &ext, 1);
        if (!p)
            die("VirtualAlloc2(address requirements)");
        if (!VirtualFree(p, 0, MEM_RELEASE))
            die("VirtualFree(MEM_RELEASE)");
    }
}
#endif

/* ---- isbadreadptr: IsBadReadPtr of one readable page (a probe under the fault machinery) ---- */

static char *probe_page;

static void run_isbadreadptr(long n)
{
    for (long i = 0; i < n; i++)
        if (IsBadReadPtr(probe_page, 4096))
            die("IsBadReadPtr of a readable page");
}

/* ---- b: reserve 1 MiB, commit 16 x 64 KiB, release ---- */

static void run_reserve_commit(long n)
{
    for (long i = 0; i < n; i++) {
        char *base = VirtualAlloc(NULL, MIB, MEM_RESERVE, PAGE_READWRITE);
        if (!base)
            die("VirtualAlloc(MEM_RESERVE 1 MiB)");
        for (int k = 0; k < 16; k++)
            if (!VirtualAlloc(base + (SIZE_T)k * 64 * KIB, 64 * KIB, MEM_COMMIT, PAGE_READWRITE))
                die("VirtualAlloc(MEM_COMMIT 64 KiB)");
        if (!VirtualFree(base, 0, MEM_RELEASE))
            die("VirtualFree(MEM_RELEASE)");
    }
}

/* ---- c: VirtualProtect of one page, alternating ---- */

static char *protect_page;

static void protect_loop(char *p, long n)
{
    DWORD old;

    for (long i = 0; i < n; i++)
        if (!VirtualProtect(p, page, (i & 1) ? PAGE_READWRITE : PAGE_READONLY, &old))
            die("VirtualProtect");
}

static void run_protect(long n)
{
    protect_loop(protect_page, n);
}

/* A committed, resident 64 KiB allocation (the protect and fault rows' pages). */
static char *resident_64k(const char *what)
{
    char *p = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p)
        die(what);
    memset(p, 7, 64 * KIB);
    return p;
}

/* ---- h: a 64 KiB pagefile-backed file mapping, created, viewed, written, torn down ---- */

static void map_view_fail(const char *what, const volatile void *view)
{
    printf("error map_view_64k: %s (view %p)\n", what, (const void *)view);
    fflush(stdout);
    fprintf(stderr, "bench: map_view_64k: %s\n", what);
    exit(3);
}

static void run_map_view(long n)
{
    for (long i = 0; i < n; i++) {
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                      (DWORD)(64 * KIB), NULL);
        if (!h)
            die("CreateFileMappingA(INVALID_HANDLE_VALUE, PAGE_READWRITE, 64 KiB)");
        volatile char *v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 64 * KIB);
        if (!v)
            die("MapViewOfFile(FILE_MAP_WRITE, 64 KiB)");
        if ((ULONG_PTR)v & (64 * KIB - 1)) /* views start on the allocation granularity */
            map_view_fail("the view is not 64 KiB aligned", v);
        v[0] = (char)(i | 1);
        if (v[0] != (char)(i | 1))
            map_view_fail("the write did not land", v);
        if (!UnmapViewOfFile((LPCVOID)v))
            die("UnmapViewOfFile");
        if (!CloseHandle(h))
            die("CloseHandle(file mapping)");
    }
}

/* ---- f, g: a fault delivered to a vectored handler and resumed ---- */

/* What the handler expects next; it checks every exception against it and ends the program
 * loudly on anything else, so a row can never time a loop in which nothing faulted.  One slot
 * per faulting thread (slot 0: the one-thread rows; 1 + tid: the multithreaded rows, each
 * thread on its own page), found by the faulting address: no thread-local storage, which
 * mingw-w64 emulates and which read stale values in a handler under Wine 8.0. */
struct fault_slot {
    char *page;
    volatile DWORD code;     /* 0: no exception expected right now */
    volatile ULONG_PTR kind; /* ExceptionInformation[0] */
    volatile int fixup;      /* VirtualProtect(PAGE_READWRITE) in the handler */
    volatile long hits;
};
static struct fault_slot fault_slots[1 + MT_MAX];

static void fault_fail(const char *what, const EXCEPTION_RECORD *rec, const struct fault_slot *f)
{
    /* Not async-signal-safe, but the program ends here anyway. */
    printf("error %s: code 0x%08lx flags %lu params %lu [0]=%llu [1]=%p at %p; expected code "
           "0x%08lx [0]=%llu [1]=%p\n",
           what, (unsigned long)rec->ExceptionCode, (unsigned long)rec->ExceptionFlags,
           (unsigned long)rec->NumberParameters,
           (unsigned long long)(rec->NumberParameters > 0 ? rec->ExceptionInformation[0] : 0),
           (void *)(rec->NumberParameters > 1 ? rec->ExceptionInformation[1] : 0),
           rec->ExceptionAddress, f ? (unsigned long)f->code : 0UL,
           f ? (unsigned long long)f->kind : 0ULL, f ? (void *)f->page : NULL);
    fflush(stdout);
    fprintf(stderr, "bench: %s\n", what);
    fflush(stderr);
    _Exit(3);
}

static LONG CALLBACK fault_handler(EXCEPTION_POINTERS *ep)
{
    const EXCEPTION_RECORD *rec = ep->ExceptionRecord;
    struct fault_slot *f = NULL;
    DWORD old;

    for (int k = 0; k < 1 + MT_MAX && rec->NumberParameters >= 2; k++)
        if (fault_slots[k].page && rec->ExceptionInformation[1] == (ULONG_PTR)fault_slots[k].page)
            f = &fault_slots[k];
    if (!f || f->code == 0)
        fault_fail("unexpected exception", rec, f);
    if (rec->ExceptionCode != f->code)
        fault_fail("wrong exception code", rec, f);
    if (rec->ExceptionInformation[0] != f->kind)
        fault_fail("wrong exception parameters", rec, f);
    if (rec->ExceptionFlags & EXCEPTION_NONCONTINUABLE)
        fault_fail("noncontinuable exception", rec, f);
    if (f->fixup && !VirtualProtect(f->page, page, PAGE_READWRITE, &old))
        fault_fail("VirtualProtect(PAGE_READWRITE) in the handler", rec, f);
    f->code = 0; /* exactly one exception per access */
    f->hits++;
    return EXCEPTION_CONTINUE_EXECUTION;
}

/* guard_fault: arm a guard page, read it; the guard is consumed by the one exception. */
static void guard_loop(struct fault_slot *f, long n)
{
    DWORD old;

    for (long i = 0; i < n; i++) {
        if (!VirtualProtect(f->page, page, PAGE_READWRITE | PAGE_GUARD, &old))
            die("VirtualProtect(PAGE_READWRITE | PAGE_GUARD)");
        if (old != PAGE_READWRITE) /* the previous fault must have removed the guard */
            die("guard_fault: the guard was still there after its exception");
        f->code = (DWORD)STATUS_GUARD_PAGE_VIOLATION;
        long before = f->hits;
        if (*(volatile char *)f->page != 7)
            die("guard_fault: wrong value read");
        if (f->hits != before + 1)
            die("guard_fault: no exception");
    }
}

static void run_guard_fault(long n)
{
    guard_loop(&fault_slots[0], n);
}

/* av_fixup: make the page inaccessible, write it; the handler makes it writable again. */
static void run_av_fixup(long n)
{
    struct fault_slot *f = &fault_slots[0];
    DWORD old;

    for (long i = 0; i < n; i++) {
        if (!VirtualProtect(f->page, page, PAGE_NOACCESS, &old))
            die("VirtualProtect(PAGE_NOACCESS)");
        if (old != PAGE_READWRITE)
            die("av_fixup: the page was not read-write before the fault");
        f->code = EXCEPTION_ACCESS_VIOLATION;
        long before = f->hits;
        *(volatile char *)f->page = (char)i;
        if (f->hits != before + 1)
            die("av_fixup: no exception");
        if (*(volatile char *)f->page != (char)i)
            die("av_fixup: the write did not land");
    }
}

static void fault_row(const char *name, void (*fn)(long), ULONG_PTR kind, int fixup, long iters)
{
    struct fault_slot *f = &fault_slots[0];

    f->page = resident_64k("VirtualAlloc for a fault row");
    PVOID h = AddVectoredExceptionHandler(1, fault_handler);
    if (!h)
        die("AddVectoredExceptionHandler");
    f->kind = kind;
    f->fixup = fixup;
    f->hits = 0;
    measure(name, fn, iters, 1);
    printf("info %s_exceptions %ld\n", name, f->hits);
    RemoveVectoredExceptionHandler(h);
    f->code = 0;
    VirtualFree(f->page, 0, MEM_RELEASE);
    f->page = NULL;
}

/* ---- secured memory (winmem only) ---- */

#ifndef _WIN32
#define CB_MAX 16

/* alloc_free_cb0/1/16: run_alloc_free with 0, 1 or 16 secure memory cache callbacks
 * registered and nothing secured, so no callback may ever run.  Sixteen distinct functions,
 * as sixteen independent caches would register. */
static volatile long cb_idle_calls;

/* clang-format off: it cannot settle on a layout for a row of macro calls */
#define IDLE_CB(k)                                              \
    static BOOLEAN CALLBACK idle_cb##k(PVOID addr, SIZE_T size) \
    {                                                           \
        (void)addr;                                             \
        (void)size;                                             \
        cb_idle_calls++;                                        \
        return FALSE;                                           \
    }
IDLE_CB(0)
IDLE_CB(1)
IDLE_CB(2)
IDLE_CB(3)
IDLE_CB(4)
IDLE_CB(5)
IDLE_CB(6)
IDLE_CB(7)
IDLE_CB(8)
IDLE_CB(9)
IDLE_CB(10)
IDLE_CB(11)
IDLE_CB(12)
IDLE_CB(13)
IDLE_CB(14)
IDLE_CB(15)

static const PSECURE_MEMORY_CACHE_CALLBACK idle_cbs[CB_MAX] = {
    idle_cb0, idle_cb1, idle_cb2,  idle_cb3,  idle_cb4,  idle_cb5,  idle_cb6,  idle_cb7,
    idle_cb8, idle_cb9, idle_cb10, idle_cb11, idle_cb12, idle_cb13, idle_cb14, idle_cb15,
};
/* clang-format on */
static unsigned idle_registered;

static void set_idle_callbacks(unsigned want) /* outside the timing */
{
    unsigned k = idle_registered;

    for (; k < want && k < CB_MAX; k++)
        if (!AddSecureMemoryCacheCallback(idle_cbs[k]))
            die("AddSecureMemoryCacheCallback");
    for (; k > want && k > 0; k--)
        if (!RemoveSecureMemoryCacheCallback(idle_cbs[k - 1]))
            die("RemoveSecureMemoryCacheCallback");
    idle_registered = k;
}

/* The three variants measured in one process, interleaved: the same number of operations as
 * --reps repetitions of alloc_free_64k, cut into short batches of CB_BATCH operations; each
 * round times one batch of each variant, in an order that rotates from round to round, so a
 * slow phase of the host hits all three alike.  Per variant: the best batch (row) and
 * best/median/worst (spread); per round, the ratio to cb0 of the same round, whose median is
 * printed as "info alloc_free_cbN_over_cb0 <median> <rounds>" (a paired figure). */
#define CB_BATCH 250

static void alloc_free_cb_rows(long iters)
{
    static const unsigned counts[3] = { 0, 1, CB_MAX };
    static const char *const names[3] = { "alloc_free_cb0", "alloc_free_cb1", "alloc_free_cb16" };
    long batch = iters < CB_BATCH ? iters : CB_BATCH;
    long rounds = (long)reps * (iters / batch);
    double *ns[3], *ratio[2];

    for (int v = 0; v < 3; v++)
        if (!(ns[v] = malloc((size_t)rounds * sizeof(double))))
            die("malloc");
    for (int k = 0; k < 2; k++)
        if (!(ratio[k] = malloc((size_t)rounds * sizeof(double))))
            die("malloc");
    for (int v = 0; v < 3; v++) { /* warm-up: a tenth of the work, each variant */
        set_idle_callbacks(counts[v]);
        run_alloc_free(iters / 10 > 2 ? iters / 10 : 2);
    }
    for (long r = 0; r < rounds; r++) {
        double t[3];
        for (int j = 0; j < 3; j++) {
            int v = (int)((r + j) % 3);
            set_idle_callbacks(counts[v]);
            long long t0 = ticks();
            run_alloc_free(batch);
            long long t1 = ticks();
            t[v] = ticks_to_ns(t1 - t0) / (double)batch;
        }
        for (int v = 0; v < 3; v++)
            ns[v][r] = t[v];
        ratio[0][r] = t[1] / t[0];
        ratio[1][r] = t[2] / t[0];
    }
    set_idle_callbacks(0);
    if (cb_idle_calls != 0) {
        printf("error alloc_free_cb: %ld callback calls with nothing secured\n", cb_idle_calls);
        fflush(stdout);
        fprintf(stderr, "bench: alloc_free_cb: a callback ran with nothing secured\n");
        exit(3);
    }
    for (int v = 0; v < 3; v++) {
        qsort(ns[v], (size_t)rounds, sizeof(double), cmp_double);
        printf("row %s %.1f\n", names[v], ns[v][0]);
        printf("spread %s %.1f %.1f %.1f\n", names[v], ns[v][0], ns[v][rounds / 2],
               ns[v][rounds - 1]);
        free(ns[v]);
    }
    for (int k = 0; k < 2; k++) {
        qsort(ratio[k], (size_t)rounds, sizeof(double), cmp_double);
        printf("info %s_over_cb0 %.4f %ld\n", names[k + 1], ratio[k][rounds / 2], rounds);
        free(ratio[k]);
    }
    fflush(stdout);
}

/* refused_free: VirtualAlloc 64 KiB, secure it, VirtualFree(MEM_RELEASE); the free is refused,
 * the one callback runs (it unsecures the handle and says so), and the retry releases.  Every
 * step is checked; anything else ends the program (exit status 3). */
static char *refused_addr;
static HANDLE refused_handle;
static volatile long refused_calls;

static void refused_fail(const char *what)
{
    printf("error refused_free: %s (addr %p, calls %ld, GetLastError=%lu)\n", what,
           (void *)refused_addr, refused_calls, (unsigned long)GetLastError());
    fflush(stdout);
    fprintf(stderr, "bench: refused_free: %s\n", what);
    exit(3);
}

static BOOLEAN CALLBACK refused_cb(PVOID addr, SIZE_T size)
{
    refused_calls++;
    if (addr != refused_addr || size != 64 * KIB)
        refused_fail("the callback got the wrong range");
    if (!refused_handle)
        refused_fail("the callback ran with nothing secured");
    MmUnsecureVirtualMemory(refused_handle);
    refused_handle = NULL;
    return TRUE;
}

static void run_refused_free(long n)
{
    for (long i = 0; i < n; i++) {
        refused_addr = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!refused_addr)
            die("VirtualAlloc(64 KiB)");
        refused_handle = MmSecureVirtualMemory(refused_addr, 64 * KIB, PAGE_READWRITE);
        if (!refused_handle)
            refused_fail("MmSecureVirtualMemory returned NULL");
        refused_calls = 0;
        if (!VirtualFree(refused_addr, 0, MEM_RELEASE))
            refused_fail("VirtualFree(MEM_RELEASE) returned FALSE");
        if (refused_calls != 1 || refused_handle)
            refused_fail("the callback did not run exactly once");
    }
}

static void refused_free_row(long iters)
{
    if (!AddSecureMemoryCacheCallback(refused_cb))
        die("AddSecureMemoryCacheCallback");
    measure("refused_free", run_refused_free, iters, 1);
    if (!RemoveSecureMemoryCacheCallback(refused_cb))
        die("RemoveSecureMemoryCacheCallback");
}

/* secure_unsecure: MmSecureVirtualMemory(PAGE_READWRITE) + MmUnsecureVirtualMemory of one
 * committed, resident 64 KiB buffer (one op = the pair). */
static char *secure_buf;

static void run_secure_unsecure(long n)
{
    for (long i = 0; i < n; i++) {
        HANDLE h = MmSecureVirtualMemory(secure_buf, 64 * KIB, PAGE_READWRITE);
        if (!h)
            die("MmSecureVirtualMemory");
        MmUnsecureVirtualMemory(h);
    }
}

static void secure_unsecure_row(long iters)
{
    secure_buf = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!secure_buf)
        die("VirtualAlloc for secure_unsecure");
    memset(secure_buf, 1, 64 * KIB);
    measure("secure_unsecure", run_secure_unsecure, iters, 1);
    /* Everything was unsecured: the release must go through without any callback. */
    if (!VirtualFree(secure_buf, 0, MEM_RELEASE))
        die("VirtualFree after secure_unsecure");
    secure_buf = NULL;
}

/* secure_unsecure_unwatched: secure_unsecure with the monitor off (WINMEM_SECURE_MONITOR=off),
 * in a child that has secured nothing yet: the difference is the price of watching one
 * secured range (registering it on the userfaultfd and undoing that). */
static void secure_unwatched_row(long iters)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("WINMEM_SECURE_MONITOR", "off", 1);
        secure_buf = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!secure_buf)
            die("VirtualAlloc for secure_unsecure_unwatched");
        memset(secure_buf, 1, 64 * KIB);
        measure("secure_unsecure_unwatched", run_secure_unsecure, iters, 1);
        fflush(stdout);
        _exit(0);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("the secure_unsecure_unwatched child");
}

/* secure_event: secure a resident 64 KiB buffer, zap it behind the API
 * (madvise(MADV_DONTNEED)), and wait until the callback, which unsecures it, has run (one op
 * = the three).  Through the C library, winmem runs the callback before the zap, in this
 * thread.  secure_event_raw makes the zap a raw system call, which only the monitor sees:
 * the zapping thread waits until the monitor has read the event, then this one until the
 * callback ran. */
static int event_raw;
static char *event_buf;
static HANDLE event_handle;
static atomic_long event_calls;

static BOOLEAN CALLBACK event_cb(PVOID addr, SIZE_T size)
{
    (void)addr;
    (void)size;
    MmUnsecureVirtualMemory(event_handle);
    atomic_fetch_add_explicit(&event_calls, 1, memory_order_release);
    return TRUE;
}

static void run_secure_event(long n)
{
    for (long i = 0; i < n; i++) {
        long want = atomic_load(&event_calls) + 1;
        event_buf[0] = 1;
        event_handle = MmSecureVirtualMemory(event_buf, 64 * KIB, PAGE_READWRITE);
        if (!event_handle)
            die("MmSecureVirtualMemory for secure_event");
        if ((event_raw ? syscall(SYS_madvise, event_buf, 64 * KIB, MADV_DONTNEED)
                       : madvise(event_buf, 64 * KIB, MADV_DONTNEED)) != 0)
            die("madvise for secure_event");
        for (long spins = 0; atomic_load_explicit(&event_calls, memory_order_acquire) < want;
             spins++) {
            if (spins > 100000000L) {
                printf("error secure_event: the callback did not run\n");
                fflush(stdout);
                exit(3);
            }
        }
    }
}

static void secure_event_row(const char *name, int raw, long iters)
{
    event_raw = raw;
    event_buf = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!event_buf)
        die("VirtualAlloc for secure_event");
    if (!AddSecureMemoryCacheCallback(event_cb))
        die("AddSecureMemoryCacheCallback");
    /* Where the monitor cannot run (userfaultfd refused), no event comes: say so instead. */
    long want = atomic_load(&event_calls) + 1;
    event_handle = MmSecureVirtualMemory(event_buf, 64 * KIB, PAGE_READWRITE);
    if (!event_handle || (raw ? syscall(SYS_madvise, event_buf, 64 * KIB, MADV_DONTNEED)
                              : madvise(event_buf, 64 * KIB, MADV_DONTNEED)) != 0)
        die("secure_event setup");
    for (int i = 0; i < 1000 && atomic_load(&event_calls) < want; i++)
        usleep(1000);
    if (atomic_load(&event_calls) < want) {
        MmUnsecureVirtualMemory(event_handle);
        printf("note %s no event: secured memory is not watched here (userfaultfd "
               "refused?)\n",
               name);
    } else {
        measure(name, run_secure_event, iters, 1);
    }
    if (!RemoveSecureMemoryCacheCallback(event_cb))
        die("RemoveSecureMemoryCacheCallback");
    if (!VirtualFree(event_buf, 0, MEM_RELEASE))
        die("VirtualFree after secure_event");
}

/* munmap_secured: mmap + munmap of 64 KiB through the C library while 16 other ranges are
 * secured: what winmem's look at the C library's calls costs a program that frees memory
 * nobody secured (bare: the same two calls, with the same flags, with nothing looking). */
static void run_mmap_munmap(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED || munmap(p, 64 * KIB) != 0)
            die("mmap+munmap for munmap_secured");
    }
}

static void munmap_secured_row(long iters)
{
    char *b = VirtualAlloc(NULL, 16 * 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    HANDLE h[16];

    if (!b)
        die("VirtualAlloc for munmap_secured");
    for (int i = 0; i < 16; i++)
        if (!(h[i] = MmSecureVirtualMemory(b + i * 64 * KIB, 64 * KIB, PAGE_READWRITE)))
            die("MmSecureVirtualMemory for munmap_secured");
    measure("munmap_secured", run_mmap_munmap, iters, 1);
    for (int i = 0; i < 16; i++)
        MmUnsecureVirtualMemory(h[i]);
    if (!VirtualFree(b, 0, MEM_RELEASE))
        die("VirtualFree after munmap_secured");
}
#endif /* !_WIN32 */

/* ---- d, e: VirtualQuery among many live reservations ---- */

static char **bases;
static long nbases;
static const void *lookup_addr[LOOKUPS];

static void query_loop(long from, long n)
{
    MEMORY_BASIC_INFORMATION mbi;
    SIZE_T acc = 0;

    for (long i = from; i < from + n; i++) {
        if (!VirtualQuery(lookup_addr[i & (LOOKUPS - 1)], &mbi, sizeof(mbi)))
            die("VirtualQuery");
        acc += mbi.RegionSize + (SIZE_T)mbi.AllocationBase;
    }
    sink += acc;
}

static void run_query(long n)
{
    query_loop(0, n);
}

/* The process's resident memory in bytes, or -1 where it is not read (the Win32 build). */
static long long resident_bytes(void)
{
#ifdef _WIN32
    return -1;
#else
    long long pages = -1, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%lld %lld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (long long)page;
#endif
}

/* Room for cap bases, touched now so that the array does not count as bookkeeping. */
static void bases_alloc(long cap)
{
    bases = malloc((size_t)cap * sizeof(*bases));
    if (!bases)
        die("malloc");
    memset(bases, 0, (size_t)cap * sizeof(*bases));
    nbases = 0;
}

/* Reserve 64 KiB regions until there are upto, giving up on refusal or after budget seconds.
 * Also prints what each new reservation costs in resident memory (winmem's bookkeeping: a
 * reservation itself commits nothing).  1 when VirtualAlloc refused one, else 0. */
static int reserve_more(long upto, double budget, const char *name)
{
    long from = nbases;
    int refused = 0;
    long long rss0 = resident_bytes();
    long long t0 = ticks();

    while (nbases < upto) {
        char *p = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE, PAGE_READWRITE);
        if (!p) {
            printf("note %s VirtualAlloc refused reservation %ld (GetLastError=%lu); "
                   "continuing with %ld\n",
                   name, nbases + 1, (unsigned long)GetLastError(), nbases);
            refused = 1;
            break;
        }
        bases[nbases++] = p;
        if ((nbases & 4095) == 0 && ticks_to_ns(ticks() - t0) > budget * 1e9) {
            printf("note %s reserving took over %.0f s; stopped at %ld of %ld reservations\n", name,
                   budget, nbases, upto);
            break;
        }
    }
    long got = nbases - from;
    printf("info %s_reserve_ns_per_op %.1f\n", name,
           got ? ticks_to_ns(ticks() - t0) / (double)got : 0.0);
    long long rss1 = resident_bytes();
    if (rss0 >= 0 && rss1 >= 0 && got >= 1000) /* fewer: page granularity swamps it */
        printf("info %s_bytes_per_reservation %.0f\n", name, (double)(rss1 - rss0) / (double)got);
    printf("info %s_reservations %ld\n", name, nbases);
    fflush(stdout);
    return refused;
}

static void release_many(const char *name)
{
    long long t0 = ticks();

    for (long i = nbases; i-- > 0;)
        if (!VirtualFree(bases[i], 0, MEM_RELEASE))
            die("VirtualFree(MEM_RELEASE) of a query reservation");
    printf("info %s_release_ns_per_op %.1f\n", name,
           nbases ? ticks_to_ns(ticks() - t0) / (double)nbases : 0.0);
    free(bases);
    bases = NULL;
    nbases = 0;
}

/* Random pages of the live reservations to query, each answer checked once (untimed). */
static void pick_lookups(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    SIZE_T pages = 64 * KIB / page;

    for (long i = 0; i < LOOKUPS; i++)
        lookup_addr[i] = bases[rng() % (unsigned long long)nbases] + (rng() % pages) * page;
    for (long i = 0; i < LOOKUPS; i++) {
        const char *a = lookup_addr[i];
        if (!VirtualQuery(a, &mbi, sizeof(mbi)) || mbi.State != MEM_RESERVE ||
            (const char *)mbi.AllocationBase > a || a - (const char *)mbi.AllocationBase >= 65536)
            die("VirtualQuery answer check");
    }
}

/* ---- the multithreaded rows (harness.h: measure_mt) ---- */

static char *mt_page[MT_MAX]; /* each thread's own resident 64 KiB */
static int mt_count[2], mt_ncounts;

static void mt_alloc_free(int tid, long n)
{
    (void)tid;
    run_alloc_free(n);
}

static void mt_protect(int tid, long n)
{
    protect_loop(mt_page[tid], n);
}

static void mt_query(int tid, long n)
{
    query_loop((long)tid * (LOOKUPS / MT_MAX), n);
}

static void mt_guard_fault(int tid, long n)
{
    guard_loop(&fault_slots[1 + tid], n);
}

static void mt_map_view(int tid, long n)
{
    (void)tid;
    run_map_view(n);
}

/* rpmalloc-like churn (harness.h: churn_run), as rpmalloc's Windows path makes the calls. */
static struct churn churn_state[MT_MAX];

static char *churn_make(size_t size)
{
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p)
        die("churn: VirtualAlloc(MEM_RESERVE | MEM_COMMIT)");
    return p;
}

static void churn_release(char *span, size_t size)
{
    (void)size;
    if (!VirtualFree(span, 0, MEM_RELEASE))
        die("churn: VirtualFree(MEM_RELEASE)");
}

static void churn_decommit(char *at, size_t len)
{
    if (!VirtualFree(at, len, MEM_DECOMMIT))
        die("churn: VirtualFree(MEM_DECOMMIT)");
}

static void churn_recommit(char *at, size_t len)
{
    if (!VirtualAlloc(at, len, MEM_COMMIT, PAGE_READWRITE))
        die("churn: VirtualAlloc(MEM_COMMIT)");
}

static void mt_churn(int tid, long n)
{
    churn_run(&churn_state[tid], n, page);
}

static void run_churn(long n)
{
    churn_run(&churn_state[0], n, page);
}

static void churn_reset(void)
{
    for (int k = 0; k < MT_MAX; k++) {
        churn_drain(&churn_state[k]);
        memset(&churn_state[k], 0, sizeof(churn_state[k]));
        churn_state[k].seed = 0x9e3779b97f4a7c15ULL * (unsigned long long)(k + 1);
    }
}

static void mt_rows(void)
{
    char name[64];

    if (wanted("churn")) {
        churn_reset();
        measure("churn", run_churn, scaled(6000), 1);
        churn_reset();
    }
    for (int i = 0; i < mt_ncounts; i++) {
        int t = mt_count[i];
        for (int k = 0; k < t; k++)
            mt_page[k] = resident_64k("VirtualAlloc for a multithreaded row");
        snprintf(name, sizeof(name), "alloc_free_64k_%dt", t);
        if (wanted_in("mt", name))
            measure_mt(name, t, mt_alloc_free, scaled(6000));
        snprintf(name, sizeof(name), "protect_1page_%dt", t);
        if (wanted_in("mt", name))
            measure_mt(name, t, mt_protect, scaled(10000));
        snprintf(name, sizeof(name), "guard_fault_%dt", t);
        if (wanted_in("mt", name)) {
            for (int k = 0; k < t; k++) {
                struct fault_slot *f = &fault_slots[1 + k];
                f->page = mt_page[k];
                f->kind = EXCEPTION_READ_FAULT;
                f->fixup = 0;
            }
            PVOID h = AddVectoredExceptionHandler(1, fault_handler);
            if (!h)
                die("AddVectoredExceptionHandler");
            measure_mt(name, t, mt_guard_fault, scaled(3000));
            RemoveVectoredExceptionHandler(h);
            for (int k = 0; k < t; k++)
                fault_slots[1 + k].page = NULL;
        }
        snprintf(name, sizeof(name), "map_view_64k_%dt", t);
        if (wanted_in("mt", name)) {
#ifdef _WIN32
            measure_mt(name, t, mt_map_view, scaled(200)); /* Wine: see map_view_64k */
#else
            measure_mt(name, t, mt_map_view, scaled(2000));
#endif
        }
        snprintf(name, sizeof(name), "churn_%dt", t);
        if (wanted_in("mt", name)) {
            churn_reset();
            measure_mt(name, t, mt_churn, scaled(6000));
            churn_reset();
        }
        for (int k = 0; k < t; k++)
            VirtualFree(mt_page[k], 0, MEM_RELEASE);
    }
}

/* query_20k (and its multithreaded rows): VirtualQuery among 20,000 reservations. */
static void query_20k_rows(long iters)
{
    char name[64];

    bases_alloc(20000);
    reserve_more(20000, 1e9, "query_20k");
    if (nbases == 0) {
        printf("note query_20k skipped: no reservations\n");
        return;
    }
    pick_lookups();
    if (wanted("query_20k"))
        measure("query_20k", run_query, iters, 1);
    for (int i = 0; i < mt_ncounts; i++) {
        snprintf(name, sizeof(name), "query_20k_%dt", mt_count[i]);
        if (wanted_in("mt", name))
            measure_mt(name, mt_count[i], mt_query, iters);
    }
    release_many("query_20k");
}

/* ---- cost at scale: the single-thread rows with 10, 10,000 and --e-count (1,000,000) live
 * reservations, made one level after the other; query_1m is measured among the last.  Runs
 * last: the reservations are never released (the process ends). ---- */
static void scale_rows(long e_count, double e_budget)
{
    static const char *const fam[4] = { "alloc_free_64k", "protect_1page", "query", "guard_fault" };
    long level[3] = { 10, 10000, e_count };
    char name[4][64];
    int last = wanted("query_1m") ? 2 : -1;

    for (int l = 0; l < 3; l++)
        for (int f = 0; f < 4; f++) {
            snprintf(name[f], sizeof(name[f]), "%s_%s", fam[f], scale_level_name[l]);
            if (wanted_in("scale", name[f]) && l > last)
                last = l;
        }
    if (last == 2 && e_count <= level[1]) {
        printf("note query_1m and the n1m rows skipped (--e-count %ld)\n", e_count);
        last = 1;
    }
    if (last < 0)
        return;
    bases_alloc(level[last]);
    for (int l = 0; l <= last; l++) {
        /* The last level keeps query_1m's name: run.sh reads its count and bytes. */
        /* Refused (Wine 8.0 at ~93,600, and freeing some back does not help): the rows
         * that allocate would fail too, only the lookups are measured. */
        int full = reserve_more(level[l], l == 2 ? e_budget : 1e9, l == 2 ? "query_1m" : "scale");
        if (full)
            printf("note scale_%s VirtualAlloc refused: only the lookups are measured here\n",
                   scale_level_name[l]);
        printf("info scale_%s_reservations %ld\n", scale_level_name[l], nbases);
        if (nbases == 0)
            return;
        for (int f = 0; f < 4; f++)
            snprintf(name[f], sizeof(name[f]), "%s_%s", fam[f], scale_level_name[l]);
        if (!full && wanted_in("scale", name[0]))
            measure(name[0], run_alloc_free, scaled(6000), 1);
        if (!full && wanted_in("scale", name[1])) {
            protect_page = resident_64k("VirtualAlloc for protect_1page");
            measure(name[1], run_protect, scaled(10000), 1);
            VirtualFree(protect_page, 0, MEM_RELEASE);
        }
        const char *q[2] = { name[2], "query_1m" };
        int nq = wanted_in("scale", name[2]) + (l == 2 && wanted("query_1m"));
        if (nq) {
            pick_lookups();
            measure_rows(wanted_in("scale", name[2]) ? q : q + 1, nq, run_query, scaled(100000), 1);
        }
        if (!full && wanted_in("scale", name[3]))
            fault_row(name[3], run_guard_fault, EXCEPTION_READ_FAULT, 0, scaled(3000));
    }
}

/* ---- write watches ----
 * ww_first_write: the first write to a clean watched page, with its share of the
 * ResetWriteWatch that made it clean again (every WW_FIRST_PAGES writes).
 * ww_scan_256m / ww_scan_4g: one GetWriteWatch(WRITE_WATCH_FLAG_RESET) over the whole
 * allocation.  The rows are named *_fallback when WINMEM_WRITE_WATCH=fallback. */
static char *ww_base;
static SIZE_T ww_size, ww_stride, ww_next;
static PVOID *ww_out;
static ULONG_PTR ww_max;

static void run_ww_first_write(long n)
{
    for (long i = 0; i < n; i++) {
        if (ww_next == WW_FIRST_PAGES) {
            if (ResetWriteWatch(ww_base, WW_FIRST_PAGES * page) != 0)
                die("ResetWriteWatch");
            ww_next = 0;
        }
        ww_base[ww_next++ * page] = (char)i;
    }
}

static void ww_prepare(void)
{
    for (SIZE_T off = 0; off < ww_size; off += ww_stride)
        ww_base[off] = 1;
}

static long ww_scan(void)
{
    ULONG_PTR count = ww_max;
    DWORD gran;
    if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, ww_base, ww_size, ww_out, &count, &gran) != 0)
        die("GetWriteWatch");
    return (long)count;
}

static void ww_rows(void)
{
    const char *env = getenv("WINMEM_WRITE_WATCH");
    int fb = env && !strcmp(env, "fallback");
    char name[64];

    if (wanted("ww_first_write")) {
        ww_base = VirtualAlloc(NULL, WW_FIRST_PAGES * page,
                               MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
        if (!ww_base)
            die("VirtualAlloc(MEM_WRITE_WATCH)");
        memset(ww_base, 1, WW_FIRST_PAGES * page);
        ResetWriteWatch(ww_base, WW_FIRST_PAGES * page);
        ww_next = 0;
        snprintf(name, sizeof(name), "ww_first_write%s", fb ? "_fallback" : "");
        measure(name, run_ww_first_write, scaled(40000), 1);
        VirtualFree(ww_base, 0, MEM_RELEASE);
    }
    static const struct {
        const char *name;
        SIZE_T size;
    } shapes[] = { { "ww_scan_256m", WW_SMALL }, { "ww_scan_4g", WW_LARGE } };
    for (int i = 0; i < 2; i++) {
        if (!wanted(shapes[i].name))
            continue;
        ww_size = shapes[i].size;
        ww_stride = 7 * page * (ww_size / WW_SMALL);
        ww_max = (ULONG_PTR)((ww_size + ww_stride - 1) / ww_stride);
        ww_base =
            VirtualAlloc(NULL, ww_size, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
        ww_out =
            VirtualAlloc(NULL, ww_max * sizeof(PVOID), MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!ww_base || !ww_out) {
            printf("note %s skipped: VirtualAlloc of %lu MiB failed (%lu)\n", shapes[i].name,
                   (unsigned long)(ww_size / MIB), (unsigned long)GetLastError());
        } else {
            snprintf(name, sizeof(name), "%s%s", shapes[i].name, fb ? "_fallback" : "");
            measure_scan(name, ww_prepare, ww_scan, (long)ww_max);
        }
        if (ww_base)
            VirtualFree(ww_base, 0, MEM_RELEASE);
        if (ww_out)
            VirtualFree(ww_out, 0, MEM_RELEASE);
    }
}

/* ---- heaps: HeapAlloc/HeapFree on one private heap (the floor is glibc; bare.c) ---- */

static HANDLE bench_heap;
#define WIN_ALLOC(n) HeapAlloc(bench_heap, 0, (n))
#define WIN_FREE(p) HeapFree(bench_heap, 0, (p))
HEAP_LOAD(win, WIN_ALLOC, WIN_FREE)

static void win_compact(void)
{
    HeapCompact(bench_heap, 0);
}

static void heap_rows(void)
{
    bench_heap = HeapCreate(0, 0, 0);
    if (!bench_heap)
        die("HeapCreate");
#ifdef _WIN32
    win_rows("", scaled(200000)); /* Wine's heap is ~10x slower: a shorter run, same rows */
#else
    win_rows("", scaled(2000000));
#endif
    if (wanted("heap_footprint"))
        win_footprint("", win_compact);
    HeapDestroy(bench_heap);
}

int main(int argc, char **argv)
{
    SYSTEM_INFO si;
    long e_count = 1000000;
    double e_budget = 20.0;

    if (parse_args(argc, argv, &e_count, &e_budget))
        return 2;
    GetSystemInfo(&si);
    page = si.dwPageSize;
#ifdef _WIN32
    printf("info build win32\n");
#else
    printf("info build winmem\n");
#endif
    printf("info page %lu granularity %lu reps %d scale %g cpus %lu\n", (unsigned long)page,
           (unsigned long)si.dwAllocationGranularity, reps, scale,
           (unsigned long)si.dwNumberOfProcessors);
    if (!only || wanted("mt") || strstr(only, "_2t") || strstr(only, "_4t"))
        mt_ncounts = mt_counts((int)si.dwNumberOfProcessors, mt_count);
    fflush(stdout);

    if (wanted("alloc_free_64k"))
        measure("alloc_free_64k", run_alloc_free, scaled(10000), 1);
    if (wanted("reserve_commit16_release"))
        measure("reserve_commit16_release", run_reserve_commit, scaled(1600), 1);
    if (wanted("protect_1page")) {
        /* resident, so each change rewrites a PTE */
        protect_page = resident_64k("VirtualAlloc for protect_1page");
        measure("protect_1page", run_protect, scaled(16000), 1);
        VirtualFree(protect_page, 0, MEM_RELEASE);
    }
    if (wanted("map_view_64k")) {
#ifdef _WIN32
        /* Wine's file mappings cost ~80x winmem's (bench/README.md, Targets): fewer iterations
         * keep its run short; the row is still ns per operation. */
        measure("map_view_64k", run_map_view, scaled(400), 1);
#else
        measure("map_view_64k", run_map_view, scaled(3000), 1);
#endif
    }
#ifndef _WIN32
    if (wanted("alloc2_near")) {
        /* near a reservation placed the usual way, so the window is the program's own area */
        void *anchor = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE, PAGE_NOACCESS);
        if (!anchor)
            die("VirtualAlloc for alloc2_near");
        near_lo = (char *)anchor + 64 * KIB;
        measure("alloc2_near", run_alloc2_near, scaled(2000), 1);
        VirtualFree(anchor, 0, MEM_RELEASE);
    }
#else
    if (wanted("alloc2_near"))
        printf("note alloc2_near skipped in the win32 build: Wine 8.0 ignores "
               "LowestStartingAddress\n");
#endif
    if (wanted("isbadreadptr")) {
        probe_page = resident_64k("VirtualAlloc for isbadreadptr");
        measure("isbadreadptr", run_isbadreadptr, scaled(200000), 1);
        VirtualFree(probe_page, 0, MEM_RELEASE);
    }
    if (wanted("guard_fault"))
        fault_row("guard_fault", run_guard_fault, EXCEPTION_READ_FAULT, 0, scaled(5000));
    if (wanted("av_fixup"))
        fault_row("av_fixup", run_av_fixup, EXCEPTION_WRITE_FAULT, 1, scaled(5000));
#ifndef _WIN32
    if (wanted("alloc_free_cb0") || wanted("alloc_free_cb1") || wanted("alloc_free_cb16"))
        alloc_free_cb_rows(scaled(10000));
    if (wanted("refused_free"))
        refused_free_row(scaled(8000));
    if (wanted("secure_unsecure"))
        secure_unsecure_row(scaled(40000));
    if (wanted("secure_unsecure_unwatched"))
        secure_unwatched_row(scaled(40000));
    if (wanted("secure_event"))
        secure_event_row("secure_event", 0, scaled(4000));
    if (wanted("secure_event_raw"))
        secure_event_row("secure_event_raw", 1, scaled(4000));
    if (wanted("munmap_secured"))
        munmap_secured_row(scaled(10000));
#else
    if (wanted("alloc_free_cb0") || wanted("alloc_free_cb1") || wanted("alloc_free_cb16") ||
        wanted("refused_free") || wanted("secure_unsecure") ||
        wanted("secure_unsecure_unwatched") || wanted("secure_event") ||
        wanted("secure_event_raw") || wanted("munmap_secured"))
        printf("note secure_rows skipped in the win32 build: winmem only (Wine 8.0 aborts in "
               "AddSecureMemoryCacheCallback, no user-mode MmSecureVirtualMemory)\n");
#endif
    if (wanted("query_20k") || (mt_ncounts && wanted_in("mt", "query_20k_2t")) ||
        (mt_ncounts > 1 && wanted("query_20k_4t")))
        query_20k_rows(scaled(200000));
    mt_rows();
    heap_rows();
    ww_rows();
    scale_rows(e_count, e_budget);
    printf("info sink %lu\n", (unsigned long)(sink & 1));
    return 0;
}
