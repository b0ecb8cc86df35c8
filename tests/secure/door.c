/*
 * door.c - the C library's munmap, madvise, mremap and mmap as a program linked to winmem
 * sees them: the same results and errors as the C library's own, and, before a call that
 * would unmap, zap, move or replace secured memory, the secure memory cache callbacks, in the
 * calling thread, with the pages the call names.  Calls the kernel refuses (unaligned,
 * MAP_FIXED_NOREPLACE over memory) and calls that keep the memory (MADV_WILLNEED, an mremap
 * that may only grow in place) run none; nor does a call made from inside a callback (no
 * recursion), nor anything with WINMEM_SECURE_MONITOR=off or =monitor.  Needs no
 * userfaultfd.  Linux only: see tests/CMakeLists.txt.
 */
#define _GNU_SOURCE
#include "../api/apitest.h"

#include <ntddk.h>

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Atomic: where userfaultfd works, the monitor may call the callback from its own thread
 * too (a call from inside a callback, which the door leaves to it). */
static _Atomic long calls, tid;
static _Atomic uintptr_t last_lo, last_hi;
static _Atomic(HANDLE) held;          /* the secure the callback drops */
static _Atomic(BYTE *) nested_target; /* a callback unmaps this (secured) page itself */
static __thread int depth;            /* callbacks running on this thread */
static _Atomic int reentered;

static BOOLEAN CALLBACK drop(PVOID addr, SIZE_T size)
{
    if (++depth > 1)
        reentered = 1;
    calls++;
    tid = (long)syscall(SYS_gettid);
    last_lo = (uintptr_t)addr;
    last_hi = (uintptr_t)addr + size;
    BYTE *t = atomic_exchange(&nested_target, NULL);
    if (t)
        munmap(t, PAGE); /* secured: but from inside a callback, not looked at */
    BOOLEAN any = FALSE;
    HANDLE h = atomic_exchange(&held, NULL);
    if (h) {
        MmUnsecureVirtualMemory(h);
        any = TRUE;
    }
    depth--;
    return any;
}

static BYTE *fresh(SIZE_T n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Secure [p, p+n) for the callback to drop. */
static int secure(BYTE *p, SIZE_T n)
{
    memset(p, 1, n);
    held = MmSecureVirtualMemory(p, n, PAGE_READWRITE);
    return held != NULL;
}

/* The callback ran exactly once since `before`, on this thread, with [lo, lo+n). */
static int ran(long before, void *lo, SIZE_T n)
{
    return calls == before + 1 && tid == (long)syscall(SYS_gettid) && last_lo == (uintptr_t)lo &&
           last_hi == (uintptr_t)lo + n;
}

static void refused_calls(void)
{
    BYTE *p = fresh(4 * PAGE);
    REQUIRE_VOID(p && secure(p, 4 * PAGE));
    long n = calls;

    /* Refused by the kernel, changing nothing: no callback, the C library's error. */
    errno = 0;
    CHECK_EQ(munmap(p + 1, PAGE), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(madvise(p + 1, PAGE, MADV_DONTNEED), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) ==
          MAP_FAILED);
    CHECK_EQ(errno, EEXIST);
    CHECK_EQ(munmap(p, 0), -1);
    errno = 0;
    CHECK(mremap(p, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p + 8 * PAGE + 1) ==
          MAP_FAILED);
    CHECK_EQ(errno, EINVAL);
    CHECK(mremap(p, 4 * PAGE, 0, MREMAP_MAYMOVE) == MAP_FAILED);
    /* Calls that keep the memory. */
    CHECK_EQ(madvise(p, 4 * PAGE, MADV_WILLNEED), 0);
    CHECK_EQ(madvise(p, 4 * PAGE, MADV_NORMAL), 0);
    CHECK(mprotect(p, PAGE, PROT_READ | PROT_WRITE) == 0);
    void *q = mremap(p, 4 * PAGE, 4 * PAGE, 0);
    CHECK(q == p);
    /* A fresh mapping elsewhere, and an unrelated munmap. */
    BYTE *other = fresh(PAGE);
    CHECK(other != NULL);
    CHECK_EQ(munmap(other, PAGE), 0);
    CHECK_EQ(calls, n);
    CHECK_EQ(p[3 * PAGE], 1); /* still there, still secured */
    CHECK(held != NULL);

    /* An mremap shrinking in place: the part cut off (the callback unsecures the whole). */
    CHECK(mremap(p, 4 * PAGE, 3 * PAGE, 0) == p);
    CHECK(ran(n, p + 3 * PAGE, PAGE));
    CHECK(held == NULL);
    CHECK_EQ(munmap(p, 3 * PAGE), 0);
    CHECK_EQ(calls, n + 1);
}

static void changing_calls(void)
{
    BYTE *p = fresh(4 * PAGE);
    long n;

    /* munmap of an unaligned length: the whole last page. */
    REQUIRE_VOID(p && secure(p + PAGE, 2 * PAGE));
    n = calls;
    CHECK_EQ(munmap(p + 2 * PAGE, PAGE + 1), 0);
    CHECK(ran(n, p + 2 * PAGE, 2 * PAGE));
    CHECK_EQ(munmap(p, 2 * PAGE), 0);

    /* Each zapping advice. */
    static const int zaps[] = { MADV_DONTNEED, MADV_FREE, MADV_REMOVE };
    for (size_t i = 0; i < sizeof(zaps) / sizeof(zaps[0]); i++) {
        BYTE *s;
        if (zaps[i] == MADV_REMOVE) /* shared memory only */
            s = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        else
            s = fresh(2 * PAGE);
        REQUIRE_VOID(s != MAP_FAILED && s && secure(s, 2 * PAGE));
        n = calls;
        CHECK_EQ(madvise(s + PAGE, PAGE, zaps[i]), 0);
        CHECK(ran(n, s + PAGE, PAGE));
        if (zaps[i] != MADV_FREE) /* lazily freed: zeros only once the kernel takes it */
            CHECK_EQ(s[PAGE], 0);
        CHECK_EQ(munmap(s, 2 * PAGE), 0);
    }

    /* mmap(MAP_FIXED) over part of it, and mmap64 likewise. */
    p = fresh(2 * PAGE);
    REQUIRE_VOID(p && secure(p, 2 * PAGE));
    n = calls;
    CHECK(mmap(p + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
          p + PAGE);
    CHECK(ran(n, p + PAGE, PAGE));
    CHECK(secure(p, PAGE));
    n = calls;
    CHECK(mmap64(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
    CHECK(ran(n, p, PAGE));
    CHECK_EQ(munmap(p, 2 * PAGE), 0);

    /* mremap that may move, with room after it: it grows in place, and nothing ran. */
    p = fresh(8 * PAGE);
    REQUIRE_VOID(p && munmap(p + 2 * PAGE, 6 * PAGE) == 0 && secure(p, 2 * PAGE));
    n = calls;
    BYTE *q = mremap(p, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    CHECK(q == p);
    CHECK_EQ(calls, n);
    CHECK_EQ(q[0], 1);
    /* ... shrinking: only the part cut off, once (the pages it grew by were not left
     * registered for the monitor, which would run the callbacks a second time). */
    CHECK(mremap(q, 8 * PAGE, PAGE, MREMAP_MAYMOVE) == q);
    usleep(50000);
    CHECK(ran(n, q + PAGE, 7 * PAGE));
    CHECK_EQ(munmap(q, PAGE), 0);

    /* mremap that must move (a mapping right after it): the old range, before the call. */
    p = fresh(3 * PAGE);
    REQUIRE_VOID(p && secure(p, 2 * PAGE));
    n = calls;
    q = mremap(p, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    REQUIRE_VOID(q != MAP_FAILED);
    CHECK(q != p);
    CHECK(ran(n, p, 2 * PAGE));
    CHECK_EQ(q[0], 1); /* the contents moved with it */
    CHECK_EQ(munmap(p + 2 * PAGE, PAGE), 0);

    /* mremap onto a secured range: that range, before the call. */
    BYTE *dst = fresh(2 * PAGE);
    REQUIRE_VOID(dst && secure(dst, 2 * PAGE));
    n = calls;
    CHECK(mremap(q, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst);
    CHECK_EQ(calls, n + 1);
    CHECK(last_lo == (uintptr_t)dst && last_hi == (uintptr_t)dst + 2 * PAGE);
    CHECK_EQ(dst[0], 1);
    CHECK_EQ(munmap(dst, 2 * PAGE), 0);
    CHECK_EQ(munmap(q, 8 * PAGE), 0);
}

/* A callback that unmaps secured memory itself: not looked at again from inside (no
 * recursion into the callbacks; where userfaultfd works, the monitor hears of it and runs the
 * callbacks on its own thread), and the unmapping happens. */
static void from_a_callback(void)
{
    BYTE *p = fresh(2 * PAGE), *t = fresh(PAGE);
    REQUIRE_VOID(p && t);
    memset(t, 1, PAGE);
    HANDLE ht = MmSecureVirtualMemory(t, PAGE, PAGE_READWRITE);
    REQUIRE_VOID(ht && secure(p, 2 * PAGE));
    nested_target = t;
    long n = calls;
    CHECK_EQ(munmap(p, 2 * PAGE), 0);
    CHECK(calls >= n + 1);
    CHECK_EQ(reentered, 0);
    CHECK(mmap(t, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == t);
    MmUnsecureVirtualMemory(ht);
    CHECK_EQ(munmap(t, PAGE), 0);
}

/* With the watching off, nothing is looked at; with WINMEM_SECURE_MONITOR=monitor, the C
 * library's calls are not either (the monitor alone, on its own thread, where it runs). */
static void switched_in_a_child(const char *value)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* A fresh process image would read the switch at its first secure; a child of this
         * one has decided already, so exec ourselves with the switch set. */
        setenv("WINMEM_SECURE_MONITOR", value, 1);
        execl("/proc/self/exe", "door", value, (char *)NULL);
        _exit(99);
    }
    int st = 0;
    REQUIRE_VOID(pid > 0);
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
}

static int switched_child(void)
{
    at_init();
    BYTE *p = fresh(PAGE);
    if (!AddSecureMemoryCacheCallback(drop) || !p || !secure(p, PAGE))
        return 2;
    long me = (long)syscall(SYS_gettid);
    if (munmap(p, PAGE) != 0)
        return 3;
    if (calls != 0 && tid == me)
        return 4; /* run at the door */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && argv[1][0])
        return switched_child();
    at_init();
    REQUIRE(AddSecureMemoryCacheCallback(drop));
    refused_calls();
    changing_calls();
    from_a_callback();
    CHECK(RemoveSecureMemoryCacheCallback(drop));
    switched_in_a_child("off");
    switched_in_a_child("monitor");
    return wmt_report();
}
