/*
 * monitor.c - secured ranges changed behind the API's back (munmap, madvise, mremap, a
 * MAP_FIXED mapping over them) run the cache callbacks: made through the C library's
 * symbols, in the calling thread before the change, with the range asked for; made as raw
 * system calls (as the C library's own free does), on a monitor thread, with the range the
 * kernel reported.  The registration that makes this work changes nothing in how the
 * memory behaves (never-touched pages read as zeros without blocking, writes and the
 * kernel's own writes work, nothing faults) and is undone by MmUnsecureVirtualMemory where
 * no other secure covers the pages; a write-watched range can still be secured; a child
 * after fork() does not wait for a monitor it does not have, and watches what it inherited
 * from its next secure on.  Skipped where userfaultfd is refused (WINMEM_SECURE_MONITOR=
 * require makes the first secure say so).  Linux only: see tests/CMakeLists.txt.
 */
#define _GNU_SOURCE
#include "../api/apitest.h"
#include "behindcalls.h"

#include <ntddk.h>
#include <winternl.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the callback saw: calls, the last range, and the thread it ran on. */
static atomic_long calls;
static atomic_uintptr_t last_lo, last_hi;
static atomic_long last_tid;

/* Handles the callback drops when their range overlaps the one it is given. */
#define NH 16
static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uintptr_t lo, hi;
    HANDLE h;
} held[NH];

static HANDLE secure(void *p, SIZE_T n)
{
    HANDLE h = MmSecureVirtualMemory(p, n, PAGE_READWRITE);
    pthread_mutex_lock(&hlock);
    for (int i = 0; h && i < NH; i++)
        if (!held[i].h) {
            held[i].lo = (uintptr_t)p;
            held[i].hi = (uintptr_t)p + n;
            held[i].h = h;
            break;
        }
    pthread_mutex_unlock(&hlock);
    return h;
}

static void unsecure(HANDLE h)
{
    pthread_mutex_lock(&hlock);
    for (int i = 0; i < NH; i++)
        if (held[i].h == h)
            held[i].h = NULL;
    pthread_mutex_unlock(&hlock);
    MmUnsecureVirtualMemory(h);
}

static BOOLEAN CALLBACK drop(PVOID addr, SIZE_T size)
{
    uintptr_t lo = (uintptr_t)addr, hi = lo + size;
    BOOLEAN any = FALSE;

    pthread_mutex_lock(&hlock);
    for (int i = 0; i < NH; i++)
        if (held[i].h && held[i].lo < hi && lo < held[i].hi) {
            MmUnsecureVirtualMemory(held[i].h);
            held[i].h = NULL;
            any = TRUE;
        }
    pthread_mutex_unlock(&hlock);
    if (getenv("MONITOR_TRACE"))
        fprintf(stderr, "callback %p+%#zx -> %d\n", addr, (size_t)size, any);
    atomic_store(&last_lo, lo);
    atomic_store(&last_hi, hi);
    atomic_store(&last_tid, (long)syscall(SYS_gettid));
    atomic_fetch_add(&calls, 1); /* last: a waiter then sees the range */
    return any;
}

static void nap(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* The callback has been called n times in all (the event is read before the unmapping call
 * returns, but handled after). */
static int wait_calls(long n)
{
    for (int i = 0; i < 5000 && atomic_load(&calls) < n; i++)
        nap(1);
    return atomic_load(&calls) >= n;
}

/* The callback has been called n times, the last with [lo, lo+size): through the C library,
 * already, on this thread (before the call returned); by the monitor, within a while. */
static int called_with(long n, void *lo, SIZE_T size)
{
    if (!direct && (atomic_load(&calls) != n || atomic_load(&last_tid) != syscall(SYS_gettid)))
        return 0;
    return wait_calls(n) && atomic_load(&last_lo) == (uintptr_t)lo &&
           atomic_load(&last_hi) == (uintptr_t)lo + size;
}

/* Nothing more is called within a while. */
static int quiet(long n)
{
    nap(50);
    if (atomic_load(&calls) != n)
        fprintf(stderr, "unexpected call: %p+%#lx\n", (void *)atomic_load(&last_lo),
                (unsigned long)(atomic_load(&last_hi) - atomic_load(&last_lo)));
    return atomic_load(&calls) == n;
}

/* Whether [p, p+n) is registered on some userfaultfd: a descriptor of our own is refused
 * with EBUSY then.  -1 when we cannot tell. */
static int registered(void *p, SIZE_T n)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* user mode only */);
    struct uffdio_api api = { .api = UFFD_API };
    struct uffdio_register reg = { .range = { (uintptr_t)p, n }, .mode = UFFDIO_REGISTER_MODE_WP };
    int r = -1;

    if (fd < 0)
        return -1;
    if (ioctl(fd, UFFDIO_API, &api) == 0) {
        if (ioctl(fd, UFFDIO_REGISTER, &reg) == 0) {
            ioctl(fd, UFFDIO_UNREGISTER, &reg.range);
            r = 0;
        } else if (errno == EBUSY) {
            r = 1;
        }
    }
    close(fd);
    return r;
}

static BYTE *raw(SIZE_T n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The memory behaves as if it were not watched. */
static void behaviour(void)
{
    BYTE *p = VirtualAlloc(NULL, 16 * PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    int pfd[2];
    MEMORY_BASIC_INFORMATION m;
    long n = atomic_load(&calls);

    REQUIRE_VOID(p);
    HANDLE h = secure(p, 16 * PAGE);
    REQUIRE_VOID(h);
    CHECK_EQ(registered(p, 16 * PAGE), 1);
    alarm(20); /* a missing-page fault nobody resolves would hang here */
    int zeros = 1;
    for (SIZE_T i = 0; i < 16; i++)
        zeros &= p[i * PAGE] == 0 && p[i * PAGE + PAGE - 1] == 0;
    CHECK(zeros);
    for (SIZE_T i = 0; i < 8; i++)
        p[i * PAGE + 7] = (BYTE)(i + 1);
    int kept = 1;
    for (SIZE_T i = 0; i < 8; i++)
        kept &= p[i * PAGE + 7] == (BYTE)(i + 1);
    CHECK(kept);
    /* The kernel writing into a never-touched page (no fault reaches anybody). */
    REQUIRE_VOID(pipe(pfd) == 0);
    CHECK_EQ(write(pfd[1], "abc", 3), 3);
    CHECK_EQ(read(pfd[0], p + 12 * PAGE + 1, 3), 3);
    CHECK(memcmp(p + 12 * PAGE + 1, "abc", 3) == 0);
    close(pfd[0]);
    close(pfd[1]);
    CHECK_EQ(VirtualQuery(p, &m, sizeof(m)), sizeof(m));
    CHECK_EQ(m.State, MEM_COMMIT);
    CHECK_EQ(m.Protect, PAGE_READWRITE);
    CHECK_EQ(m.RegionSize, 16 * PAGE);
    CHECK(quiet(n)); /* none of that was an event */
    /* Zapped behind the API: the callback runs with the page, and the page reads zeros. */
    CHECK_EQ(do_madvise(p + 3 * PAGE, PAGE, MADV_DONTNEED), 0);
    CHECK(called_with(n + 1, p + 3 * PAGE, PAGE));
    CHECK_EQ(p[3 * PAGE + 7], 0);
    CHECK_EQ(p[2 * PAGE + 7], 3);
    /* winmem's own MEM_RESET of a secured range runs no callback, as on Windows (and its
     * MADV_FREE leaves a page a device has pinned where it is). */
    h = secure(p, 16 * PAGE);
    REQUIRE_VOID(h);
    CHECK(VirtualAlloc(p + 4 * PAGE, 2 * PAGE, MEM_RESET, PAGE_READWRITE) == p + 4 * PAGE);
    CHECK(quiet(n + 1));
    /* The same zap made behind the API does. */
    CHECK_EQ(do_madvise(p + 4 * PAGE, 2 * PAGE, MADV_FREE), 0);
    CHECK(called_with(n + 2, p + 4 * PAGE, 2 * PAGE));
    alarm(0);
    /* The callback unsecured it: registration undone, and winmem frees it. */
    CHECK_EQ(registered(p, 16 * PAGE), 0);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK(quiet(n + 2)); /* winmem's own free: not registered any more, no event */
}

static void events(void)
{
    long n = atomic_load(&calls);
    BYTE *p = raw(4 * PAGE);

    REQUIRE_VOID(p);
    /* munmap of part: the callback gets exactly that part. */
    REQUIRE_VOID(secure(p, 4 * PAGE));
    CHECK_EQ(do_munmap(p + PAGE, 2 * PAGE), 0);
    CHECK(called_with(++n, p + PAGE, 2 * PAGE));
    /* Unsecured by the callback: the rest goes unnoticed. */
    CHECK_EQ(do_munmap(p, 4 * PAGE), 0);
    CHECK(quiet(n));

    /* MADV_FREE. */
    REQUIRE_VOID((p = raw(4 * PAGE)));
    memset(p, 1, 4 * PAGE);
    REQUIRE_VOID(secure(p, 4 * PAGE));
    CHECK_EQ(do_madvise(p, 4 * PAGE, MADV_FREE), 0);
    CHECK(called_with(++n, p, 4 * PAGE));

    /* A fresh mapping forced over it. */
    REQUIRE_VOID(secure(p + PAGE, PAGE));
    CHECK(do_mmap_fixed(p + PAGE, PAGE) == p + PAGE);
    CHECK(called_with(++n, p + PAGE, PAGE));

    /* mremap moving it: the callback gets the old place; the new one is not watched. */
    BYTE *q = raw(8 * PAGE);
    REQUIRE_VOID(q);
    REQUIRE_VOID(secure(p, 4 * PAGE));
    CHECK(do_mremap(p, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, q + 2 * PAGE) ==
          q + 2 * PAGE);
    CHECK(called_with(++n, p, 4 * PAGE));
    /* The kernel's move also unmaps the old place: a second event, with nothing left to drop.
     * (Through the C library the callback ran first and unsecured it: no event follows.) */
    if (direct)
        CHECK(called_with(++n, p, 4 * PAGE));
    nap(50); /* the move's registration is undone after the callbacks return */
    CHECK_EQ(registered(q, 8 * PAGE), 0);
    CHECK_EQ(do_munmap(q, 8 * PAGE), 0);
    CHECK(quiet(n));

    /* MADV_REMOVE on a shared view. */
    HANDLE s = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4 * PAGE, NULL);
    REQUIRE_VOID(s);
    BYTE *v = MapViewOfFile(s, FILE_MAP_WRITE, 0, 0, 4 * PAGE);
    REQUIRE_VOID(v);
    memset(v, 2, 4 * PAGE);
    REQUIRE_VOID(secure(v, 4 * PAGE));
    CHECK_EQ(do_madvise(v + 2 * PAGE, PAGE, MADV_REMOVE), 0);
    CHECK(called_with(++n, v + 2 * PAGE, PAGE));
    CHECK_EQ(v[2 * PAGE], 0);
    CHECK_EQ(v[PAGE], 2);
    CHECK(UnmapViewOfFile(v));
    CHECK(CloseHandle(s));
    CHECK(quiet(n));
}

/* Overlapping secures: the pages another secure still covers stay watched. */
static void overlap(void)
{
    long n = atomic_load(&calls);
    BYTE *p = raw(6 * PAGE);

    REQUIRE_VOID(p);
    HANDLE a = MmSecureVirtualMemory(p, 4 * PAGE, PAGE_READWRITE); /* not the callback's */
    REQUIRE_VOID(a);
    HANDLE b = secure(p + 2 * PAGE, 4 * PAGE);
    REQUIRE_VOID(b);
    MmUnsecureVirtualMemory(a);
    CHECK_EQ(registered(p, 2 * PAGE), 0);
    CHECK_EQ(registered(p + 2 * PAGE, 4 * PAGE), 1);
    CHECK_EQ(do_munmap(p, PAGE), 0);
    CHECK(quiet(n));
    CHECK_EQ(do_munmap(p + 3 * PAGE, PAGE), 0);
    CHECK(called_with(++n, p + 3 * PAGE, PAGE));
    CHECK_EQ(do_munmap(p, 6 * PAGE), 0);
    CHECK(quiet(n));
}

/* Write watches keep working on a secured range (whichever descriptor holds it). */
static void write_watched(void)
{
    BYTE *w =
        VirtualAlloc(NULL, 4 * PAGE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    PVOID hits[8];
    ULONG_PTR count = 8;
    DWORD gran;

    REQUIRE_VOID(w);
    HANDLE h = secure(w, 4 * PAGE);
    CHECK(h != NULL);
    w[2 * PAGE] = 1;
    CHECK_EQ(GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, 4 * PAGE, hits, &count, &gran), 0);
    CHECK_EQ(count, 1);
    CHECK(count == 1 && hits[0] == w + 2 * PAGE);
    unsecure(h);
    CHECK(VirtualFree(w, 0, MEM_RELEASE));

    /* A secure over a write-watched allocation and the one beside it: the plain one's pages are
     * watched, and unsecuring undoes that though the kernel refuses to unregister the whole. */
    BYTE *a = VirtualAlloc(NULL, 2 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(a);
    CHECK(VirtualFree(a, 0, MEM_RELEASE));
    BYTE *plain = VirtualAlloc(a, GRAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    BYTE *watched =
        VirtualAlloc(a + GRAN, GRAN, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    REQUIRE_VOID(plain == a && watched == a + GRAN);
    h = secure(a + GRAN - 2 * PAGE, 4 * PAGE);
    CHECK(h != NULL);
    CHECK_EQ(registered(a + GRAN - 2 * PAGE, 2 * PAGE), 1);
    unsecure(h);
    CHECK_EQ(registered(a + GRAN - 2 * PAGE, 2 * PAGE), 0);
    CHECK(VirtualFree(plain, 0, MEM_RELEASE));
    CHECK(VirtualFree(watched, 0, MEM_RELEASE));
}

/* A child has no monitor thread: it must not wait for one.  Its calls through the C library
 * still run the callbacks; its next secure starts a monitor and watches what it inherited
 * too. */
static void fork_child(void)
{
    BYTE *p = raw(4 * PAGE);

    REQUIRE_VOID(p);
    REQUIRE_VOID(secure(p, 2 * PAGE));
    REQUIRE_VOID(secure(p + 2 * PAGE, 2 * PAGE));
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        long n = atomic_load(&calls);
        direct = 1;
        if (do_munmap(p, PAGE) != 0 || !quiet(n))
            _exit(2);
        direct = 0;
        if (do_munmap(p + PAGE, PAGE) != 0 || !called_with(n + 1, p + PAGE, PAGE))
            _exit(3);
        BYTE *q = raw(PAGE);
        if (!q || !secure(q, PAGE))
            _exit(4);
        direct = 1;
        if (do_munmap(p + 3 * PAGE, PAGE) != 0 || !called_with(n + 2, p + 3 * PAGE, PAGE))
            _exit(5);
        _exit(0);
    }
    int st = 0;
    REQUIRE_VOID(pid > 0);
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    long n = atomic_load(&calls);
    CHECK_EQ(munmap(p, 4 * PAGE), 0);
    CHECK(called_with(n + 1, p, 4 * PAGE));
}

int main(void)
{
    at_init();
    /* The first secure fails where the monitor cannot watch: that is the skip. */
    setenv("WINMEM_SECURE_MONITOR", "require", 0);
    BYTE *probe = raw(PAGE);
    HANDLE h = probe ? MmSecureVirtualMemory(probe, PAGE, PAGE_READWRITE) : NULL;
    if (!h) {
        printf("skipped: secured memory cannot be watched here (userfaultfd refused or too old, "
               "or WINMEM_SECURE_MONITOR=off)\n");
        return wmt_report();
    }
    MmUnsecureVirtualMemory(h);
    munmap(probe, PAGE);
    REQUIRE(AddSecureMemoryCacheCallback(drop));
    for (direct = 0; direct < 2; direct++) {
        behaviour();
        events();
        overlap();
    }
    direct = 0;
    write_watched();
    if (!WMT_TSAN) /* ThreadSanitizer cannot start threads after a multi-threaded fork */
        fork_child();
    CHECK(RemoveSecureMemoryCacheCallback(drop));
    return wmt_report();
}
