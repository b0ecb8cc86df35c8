/*
 * faultonly.c - the cost of the fault alone: a guard-page exception and an access violation
 * fixed by VirtualProtect in a vectored handler, against the bare signal round trip, with
 * nothing but the faults timed.  bench.c's guard_fault and av_fixup rows re-arm the page with
 * a VirtualProtect inside the timed loop, which hides part of the exception path's cost
 * behind a system call; here a whole range of pages is armed by one call before the clock
 * starts, then each page is touched once.
 *
 *   guard   winmem: PAGE_READWRITE | PAGE_GUARD over the range, read each page; the handler
 *           returns EXCEPTION_CONTINUE_EXECUTION (the guard is gone, the read is retried).
 *           bare: PROT_NONE over the range, read each page; an SA_SIGINFO SIGSEGV handler
 *           mprotects the page PROT_READ | PROT_WRITE and returns.
 *   av      winmem: PAGE_NOACCESS, write each page; the handler VirtualProtects the page
 *           PAGE_READWRITE and continues.  bare: the same as for guard, with a write.
 *   av_raw  winmem's exception path with the handler fixing the page by mprotect instead of
 *           VirtualProtect: av minus av_raw is what VirtualProtect adds to the fix.
 *   altstack not winmem: the bare guard round trip again with SA_ONSTACK, on the alternate
 *           signal stack winmem gave the thread, in the winmem column: what delivering the
 *           signal on an alternate stack (which winmem needs to report stack overflows)
 *           costs the kernel.
 *
 * Both sides run in this one process, taking turns round by round (the bare round installs
 * its own SIGSEGV handler and puts winmem's back afterwards), so a machine whose load
 * changes during the run slows both alike.  Each figure is the best round; the ratio
 * column is best winmem / best bare, and the range is over the rounds' own ratios.
 *
 * Built as bench_faultonly (bench/CMakeLists.txt); bench/run.sh runs it after its table.  By hand:
 *   cc -O2 -I include/winmem bench/faultonly.c -L build -lwinmem -Wl,-rpath,$PWD/build
 * Run: ./a.out [rounds=15] [pages=20000]
 */
#define _GNU_SOURCE
#include <windows.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 100

static char *wm_mem, *bare_mem;
static size_t pagesz;
static long npages;
static volatile long hits;
static int fix_raw;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "faultonly: %s failed\n", what);
    exit(2);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char *p = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(pagesz - 1));
    if (p < bare_mem || p >= bare_mem + npages * pagesz ||
        mprotect(p, pagesz, PROT_READ | PROT_WRITE))
        _exit(3);
    hits++;
}

static LONG CALLBACK handler(EXCEPTION_POINTERS *ep)
{
    const EXCEPTION_RECORD *r = ep->ExceptionRecord;
    char *p = (char *)(r->ExceptionInformation[1] & ~(ULONG_PTR)(pagesz - 1));
    DWORD old;

    if (r->NumberParameters < 2 || p < wm_mem || p >= wm_mem + npages * pagesz)
        return EXCEPTION_CONTINUE_SEARCH;
    if (r->ExceptionCode == EXCEPTION_ACCESS_VIOLATION) {
        if (fix_raw ? mprotect(p, pagesz, PROT_READ | PROT_WRITE) != 0
                    : !VirtualProtect(p, pagesz, PAGE_READWRITE, &old))
            _exit(4);
    } else if (r->ExceptionCode != STATUS_GUARD_PAGE_VIOLATION) {
        return EXCEPTION_CONTINUE_SEARCH;
    }
    hits++;
    return EXCEPTION_CONTINUE_EXECUTION;
}

/* Touch every page of mem once (a read, or a write of w); ns per fault. */
static double touch_all(char *mem, int write)
{
    long before = hits;
    double t0 = now_ns();
    if (write)
        for (long i = 0; i < npages; i++)
            *(volatile char *)(mem + i * pagesz) = (char)i;
    else
        for (long i = 0; i < npages; i++)
            (void)*(volatile char *)(mem + i * pagesz);
    double t = now_ns() - t0;
    if (hits != before + npages)
        die("one fault per page");
    return t / (double)npages;
}

static double bare_round(int write, int onstack)
{
    struct sigaction sa, saved;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | (onstack ? SA_ONSTACK : 0);
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &saved))
        die("sigaction");
    if (mprotect(bare_mem, npages * pagesz, PROT_NONE))
        die("mprotect(PROT_NONE)");
    double t = touch_all(bare_mem, write);
    if (sigaction(SIGSEGV, &saved, NULL))
        die("sigaction (winmem's back)");
    return t;
}

static double wm_round(int kind)
{
    DWORD old;
    DWORD prot = kind == 0 ? PAGE_READWRITE | PAGE_GUARD : PAGE_NOACCESS;

    if (!VirtualProtect(wm_mem, npages * pagesz, prot, &old))
        die("VirtualProtect (arming)");
    fix_raw = kind == 2;
    double t = touch_all(wm_mem, kind != 0);
    if (kind == 2 && !VirtualProtect(wm_mem, npages * pagesz, PAGE_READWRITE, &old))
        die("VirtualProtect (the model back in step)");
    return t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    static const char *const names[] = { "guard", "av", "av_raw", "altstack" };
    static double wm[4][MAX_ROUNDS], bare[4][MAX_ROUNDS], ratio[4][MAX_ROUNDS];
    int rounds = argc > 1 ? atoi(argv[1]) : 15;
    npages = argc > 2 ? atol(argv[2]) : 20000;
    if (rounds < 1 || rounds > MAX_ROUNDS || npages < 1)
        die("arguments: [rounds 1-100] [pages]");
    pagesz = (size_t)sysconf(_SC_PAGESIZE);

    wm_mem = VirtualAlloc(NULL, npages * pagesz, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    bare_mem =
        mmap(NULL, npages * pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!wm_mem || bare_mem == MAP_FAILED)
        die("allocating the pages");
    memset(wm_mem, 7, npages * pagesz); /* resident: no first-touch faults in the timing */
    memset(bare_mem, 7, npages * pagesz);
    if (!AddVectoredExceptionHandler(1, handler))
        die("AddVectoredExceptionHandler");

    for (int r = -1; r < rounds; r++) { /* round -1 warms up */
        for (int k = 0; k < 4; k++) {
            double b = bare_round(k == 1 || k == 2, 0);
            double w = k == 3 ? bare_round(0, 1) : wm_round(k);
            if (r >= 0) {
                bare[k][r] = b;
                wm[k][r] = w;
                ratio[k][r] = w / b;
            }
        }
    }
    printf("%-8s %10s %10s %7s   %s\n", "fault", "bare ns", "winmem ns", "ratio",
           "per-round ratios min / median / max");
    for (int k = 0; k < 4; k++) {
        qsort(bare[k], (size_t)rounds, sizeof(double), cmp);
        qsort(wm[k], (size_t)rounds, sizeof(double), cmp);
        qsort(ratio[k], (size_t)rounds, sizeof(double), cmp);
        printf("%-8s %10.0f %10.0f %7.3f   %.3f / %.3f / %.3f\n", names[k], bare[k][0], wm[k][0],
               wm[k][0] / bare[k][0], ratio[k][0], ratio[k][rounds / 2], ratio[k][rounds - 1]);
    }
    return 0;
}
