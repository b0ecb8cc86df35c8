/*
 * regcache - a registration cache as an RDMA or MPI stack keeps one, kept honest by the
 * secure memory cache callback.
 *
 * Buffers are registered with a "device" before use: the device pins them (io_uring
 * registered buffers when the kernel offers them, otherwise a simulated device) and secures
 * them with MmSecureVirtualMemory, and the cache remembers the registration so the next use
 * is a cache hit.  The application meanwhile frees, reallocates and re-protects buffers at
 * random from several threads, never telling the cache.  Freeing or tightening a secured
 * buffer is refused until the callback registered with AddSecureMemoryCacheCallback has
 * dropped the cache entry, unpinned and unsecured it; then the call is retried and succeeds.
 * Every cache hit is checked against the truth: zero stale hits, or the example fails.
 *
 * With --behind, half of each thread's buffers belong to "a library" that maps them with
 * mmap and frees them behind winmem's back: munmap, madvise(MADV_DONTNEED) or mremap, as a
 * runtime or a library's allocator would.  Those calls go through the C library's symbols,
 * which winmem looks at first: the same callback runs in the freeing thread before the
 * memory changes, so no hit can be stale, and one is a failure.  With --raw the library
 * makes the same calls as raw system calls, as glibc's own free of a large block does: only
 * winmem's monitor sees those, through userfaultfd, just after the kernel made them, and runs
 * the callback from its own thread; the callback makes its invalidation visible before it
 * waits for the cache's lock (see invalidate()), so a lookup never finds the entry once the
 * callback has started.  A hit can still slip in first, now and then: such hits are counted
 * apart, and more than 1 in 100 library frees fails the run.  --raw asks for the monitor
 * (WINMEM_SECURE_MONITOR=require unless the variable is set) and says so when userfaultfd is
 * refused here.  Run either with WINMEM_SECURE_MONITOR=off to watch the stale hits appear.
 *
 *   regcache [--behind [--raw]] [operations]   (default 1,000,000, spread over 4 threads)
 */
#define _GNU_SOURCE /* syscall() */
#include <windows.h>
#include <ntddk.h>

#include <linux/io_uring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define THREADS 4
#define BUFS 16 /* per thread */
#define ENTRIES (THREADS * BUFS)
#define BUF_SIZE ((SIZE_T)64 << 10)

/* ---- the device ------------------------------------------------------------------------ */

static int ring = -1; /* io_uring fd with a sparse table of ENTRIES registered buffers */

static void device_open(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (fd < 0)
        return;
    struct io_uring_rsrc_register rr;
    memset(&rr, 0, sizeof(rr));
    rr.nr = ENTRIES;
    rr.flags = IORING_RSRC_REGISTER_SPARSE;
    if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS2, &rr, sizeof(rr)) < 0) {
        close(fd);
        return;
    }
    ring = fd;
}

/* Pin (or with base NULL, unpin) the buffer in device slot `slot`. */
static int device_set(int slot, void *base, SIZE_T len)
{
    if (ring < 0)
        return 0; /* the simulated device only keeps the table below */
    struct iovec iov = { base, base ? len : 0 };
    struct io_uring_rsrc_update2 up;
    memset(&up, 0, sizeof(up));
    up.offset = (unsigned)slot;
    up.data = (unsigned long long)(uintptr_t)&iov;
    up.nr = 1;
    return syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS_UPDATE, &up, sizeof(up)) ==
                   1
               ? 0
               : -1;
}

/* ---- the registration cache --------------------------------------------------------------- */

struct entry {
    BYTE *base;
    HANDLE secure;
    unsigned gen;   /* the buffer's generation when registered: the test oracle ... */
    unsigned owner; /* ... with the thread that owns the buffer */
    int used;
    int library; /* mapped with mmap, not VirtualAlloc: VirtualQuery has no record of it */
};

static struct entry cache[ENTRIES];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong registrations, hits, misses, invalidated, callback_calls, stale_hits, frees,
    reprotects, refused_registrations, frees_behind, stale_library;
static int behind, raw;

/* Ranges a callback has announced and the cache has not dropped yet.  The callback may run
 * on winmem's monitor thread while the freed memory is already being reused, and the cache
 * lock may be busy: so it publishes its range first (lock-free), and every lookup drops what
 * is published before it searches.  The invalidation is in force from the moment the callback
 * starts.  A node lives on its callback's stack, which waits for the lock, and so for the end
 * of any drain that took the node. */
struct pending {
    struct pending *next;
    BYTE *lo, *hi;
    BOOLEAN dropped;
};
static _Atomic(struct pending *) pendings;

static void drain_locked(void)
{
    for (struct pending *p = atomic_exchange(&pendings, NULL); p; p = p->next) {
        for (int i = 0; i < ENTRIES; i++) {
            struct entry *e = &cache[i];
            if (e->used && e->base < p->hi && p->lo < e->base + BUF_SIZE) {
                device_set(i, NULL, 0);
                MmUnsecureVirtualMemory(e->secure);
                e->used = 0;
                invalidated++;
                p->dropped = TRUE;
            }
        }
    }
}

/* The secure memory cache callback: drop every entry overlapping the range. */
static BOOLEAN CALLBACK invalidate(PVOID addr, SIZE_T size)
{
    struct pending me = { NULL, addr, (BYTE *)addr + size, FALSE };

    callback_calls++;
    me.next = atomic_load(&pendings);
    while (!atomic_compare_exchange_weak(&pendings, &me.next, &me))
        ;
    pthread_mutex_lock(&cache_lock);
    drain_locked();
    pthread_mutex_unlock(&cache_lock);
    return me.dropped;
}

/* Is this cached registration still the truth about the buffer it names? */
static int entry_is_current(const struct entry *e, unsigned owner, unsigned gen)
{
    MEMORY_BASIC_INFORMATION m;
    if (e->library)
        return e->owner == owner && e->gen == gen; /* the generation changes with every free */
    return e->owner == owner && e->gen == gen &&
           VirtualQuery(e->base, &m, sizeof(m)) == sizeof(m) && m.AllocationBase == e->base &&
           m.State == MEM_COMMIT && m.Protect == PAGE_READWRITE && m.RegionSize >= BUF_SIZE;
}

/* Use a buffer for I/O: a cache hit, or register it now. */
static void use(BYTE *base, unsigned owner, unsigned gen, int library)
{
    pthread_mutex_lock(&cache_lock);
    drain_locked();
    for (int i = 0; i < ENTRIES; i++) {
        if (cache[i].used && cache[i].base == base) {
            hits++;
            if (!entry_is_current(&cache[i], owner, gen)) {
                if (cache[i].library)
                    stale_library++; /* the monitor's window: see main() */
                else
                    stale_hits++;
            }
            pthread_mutex_unlock(&cache_lock);
            return;
        }
    }
    misses++;
    for (int i = 0; i < ENTRIES; i++) {
        if (!cache[i].used) {
            HANDLE h = MmSecureVirtualMemory(base, BUF_SIZE, PAGE_READWRITE);
            if (!h) {
                refused_registrations++; /* not read-write right now: no DMA into it */
                break;
            }
            if (device_set(i, base, BUF_SIZE) != 0) {
                MmUnsecureVirtualMemory(h);
                refused_registrations++;
                break;
            }
            cache[i] = (struct entry){ base, h, gen, owner, 1, library };
            registrations++;
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
}

/* After a free: no entry may still name the buffer (another thread may by now have a new
 * buffer at the same address, registered under its own name). */
static void check_gone(BYTE *base, unsigned owner)
{
    pthread_mutex_lock(&cache_lock);
    drain_locked();
    for (int i = 0; i < ENTRIES; i++)
        if (cache[i].used && cache[i].base == base && cache[i].owner == owner)
            stale_hits++;
    pthread_mutex_unlock(&cache_lock);
}

/* ---- the application ---------------------------------------------------------------------- */

static unsigned long ops_per_thread;

/* The library's buffers: mapped with mmap, freed without winmem. */
static BYTE *library_alloc(void)
{
    void *p = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("mmap failed\n");
        exit(1);
    }
    return p;
}

/* Free (or move, or empty) a library buffer behind the API.  Through the C library, the
 * callback has run when this returns.  Raw, winmem's monitor runs it on its own thread, so the
 * entry may still be there for a moment after this returns; the next hit's check covers that. */
static BYTE *library_free(BYTE *b, unsigned how)
{
    switch (how % 3) {
    case 0:
        if ((raw ? syscall(SYS_munmap, b, BUF_SIZE) : munmap(b, BUF_SIZE)) != 0)
            break;
        return NULL;
    case 1: /* the pages go back to the kernel, the range stays */
        if ((raw ? syscall(SYS_madvise, b, BUF_SIZE, MADV_DONTNEED)
                 : madvise(b, BUF_SIZE, MADV_DONTNEED)) != 0)
            break;
        return b;
    default: { /* realloc moved it */
        BYTE *to = library_alloc();
        int flags = MREMAP_MAYMOVE | MREMAP_FIXED;
        void *n = raw ? (void *)syscall(SYS_mremap, b, BUF_SIZE, BUF_SIZE, flags, to)
                      : mremap(b, BUF_SIZE, BUF_SIZE, flags, to);
        if (n == MAP_FAILED)
            break;
        return n;
    }
    }
    printf("freeing behind the API failed\n");
    exit(1);
}

static void *app(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (me + 1);
    BYTE *buf[BUFS] = { 0 };
    unsigned gen[BUFS] = { 0 };
    DWORD old;

    for (unsigned long n = 0; n < ops_per_thread; n++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned k = (unsigned)(rng % BUFS), op = (unsigned)(rng >> 32) % 100;
        int library = behind && (k & 1);
        if (!buf[k]) {
            buf[k] = library
                         ? library_alloc()
                         : VirtualAlloc(NULL, BUF_SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
            gen[k]++;
            if (!buf[k]) {
                printf("VirtualAlloc failed: %lu\n", (unsigned long)GetLastError());
                exit(1);
            }
        } else if (op < 60 || (library && op >= 80)) {
            buf[k][op] = (BYTE)n; /* fill it, then hand it to the device */
            use(buf[k], me, gen[k], library);
        } else if (library) {
            /* The library frees it: no winmem call, nobody tells the cache. */
            buf[k] = library_free(buf[k], (unsigned)(rng >> 40));
            gen[k]++;
            frees_behind++;
        } else if (op < 80) {
            /* Free it behind the cache's back: refused while secured, then retried. */
            if (!VirtualFree(buf[k], 0, MEM_RELEASE)) {
                printf("VirtualFree failed: %lu\n", (unsigned long)GetLastError());
                exit(1);
            }
            frees++;
            check_gone(buf[k], me);
            buf[k] = NULL;
        } else {
            /* Make it read-only for a while (no DMA may write it), then writable again. */
            if (!VirtualProtect(buf[k], BUF_SIZE, PAGE_READONLY, &old) ||
                !VirtualProtect(buf[k], BUF_SIZE, PAGE_READWRITE, &old)) {
                printf("VirtualProtect failed: %lu\n", (unsigned long)GetLastError());
                exit(1);
            }
            gen[k]++;
            reprotects++;
        }
    }
    for (unsigned k = 0; k < BUFS; k++) {
        if (buf[k] && behind && (k & 1))
            munmap(buf[k], BUF_SIZE);
        else if (buf[k])
            VirtualFree(buf[k], 0, MEM_RELEASE);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long total = 1000000;
    pthread_t t[THREADS];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--behind") == 0)
            behind = 1;
        else if (strcmp(argv[i], "--raw") == 0)
            raw = 1;
        else
            total = strtoul(argv[i], NULL, 0);
    }
    raw = raw && behind;
    if (behind) {
        /* Raw system calls need the monitor: without it, they go unseen. */
        if (raw)
            setenv("WINMEM_SECURE_MONITOR", "require", 0);
        else
            setenv("WINMEM_SECURE_MONITOR", "on", 0);
        BYTE *probe = library_alloc();
        HANDLE h = MmSecureVirtualMemory(probe, BUF_SIZE, PAGE_READWRITE);
        const char *env = getenv("WINMEM_SECURE_MONITOR");
        if (!h && strcmp(env, "require") == 0) {
            printf("--behind --raw: secured memory is not watched here (userfaultfd refused), "
                   "so raw frees behind the API cannot be seen: nothing to show\n");
            return 0;
        }
        if (h)
            MmUnsecureVirtualMemory(h);
        munmap(probe, BUF_SIZE);
        printf("mode: half of the buffers are a library's, freed behind the API with %s "
               "(watching %s)\n",
               raw ? "raw system calls" : "C library calls",
               strcmp(env, "off") == 0 ? "off" : "on");
    }

    ops_per_thread = total / THREADS;
    device_open();
    printf("device: %s\n", ring >= 0 ? "io_uring registered buffers (pages pinned by the kernel)"
                                     : "simulated (io_uring buffer registration unavailable)");
    if (!AddSecureMemoryCacheCallback(invalidate)) {
        printf("AddSecureMemoryCacheCallback failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, app, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    RemoveSecureMemoryCacheCallback(invalidate);

    printf("operations            %lu on %d threads\n", ops_per_thread * THREADS, THREADS);
    printf("registrations         %lu (cache misses %lu, not read-write at the time %lu)\n",
           registrations, misses, refused_registrations);
    printf("cache hits            %lu\n", hits);
    printf("frees / re-protects   %lu / %lu, behind the cache's back\n", frees, reprotects);
    if (behind)
        printf("frees behind the API  %lu (munmap, madvise, mremap: winmem not called)\n",
               frees_behind);
    printf("callback calls        %lu, entries invalidated %lu\n", callback_calls, invalidated);
    printf("stale hits            %lu\n", stale_hits);
    if (behind)
        printf("stale hits, library   %lu\n", stale_library);
    printf("\n");
    /* A winmem free runs the callback before it returns: no stale hit, ever.  So does a free
     * behind the API through the C library.  A raw one is seen by the monitor just after the
     * kernel made it, so a hit can slip in before the callback has run (docs/secure-memory.md,
     * "The window"): rare, and counted apart; more than 1 in 100 of those frees means the
     * monitor is not doing its job (without it, nearly every such hit is stale). */
    if (raw ? stale_library * 100 > frees_behind : stale_library > 0) {
        printf("FAILED: %lu cache hits used a library buffer freed behind the API after it was\n"
               "registered%s%s.\n",
               stale_library, raw ? ", more than the monitor's window explains" : "",
               getenv("WINMEM_SECURE_MONITOR") &&
                       strcmp(getenv("WINMEM_SECURE_MONITOR"), "off") == 0
                   ? " (WINMEM_SECURE_MONITOR=off: nobody told the cache)"
                   : "");
        return 1;
    }
    if (stale_hits) {
        printf("FAILED: %lu cache hits used a buffer that had been freed or re-protected after it\n"
               "was registered: the cache served entries that were no longer true.\n",
               stale_hits);
        return 1;
    }
    if (!hits || !invalidated) {
        printf("FAILED: nothing was proved: the run had no cache hits or no invalidations\n"
               "(too few operations?).\n");
        return 1;
    }
    printf("What \"stale hits 0\" proves: every one of the %lu cache hits was checked, and\n"
           "none used a buffer that had been freed or re-protected since it was registered.\n"
           "The application freed and re-protected buffers behind the cache's back and never\n"
           "told it.  The secure memory cache callback kept the cache true: winmem refused\n"
           "each such VirtualFree or VirtualProtect of a registered (secured) buffer, called\n"
           "the callback, which dropped the cache entry and unsecured the buffer, and only\n"
           "then retried the call.\n",
           hits);
    if (behind && !raw)
        printf("The library's frees never called winmem at all: winmem saw each munmap,\n"
               "madvise and mremap at the C library's door and ran the same callback in the\n"
               "freeing thread before the memory changed.\n");
    else if (behind)
        printf("The library's raw frees never called winmem at all: its monitor saw each\n"
               "munmap, madvise and mremap through userfaultfd and ran the same callback (%lu\n"
               "hits slipped in before it had: the window docs/secure-memory.md describes).\n",
               stale_library);
    return 0;
}
