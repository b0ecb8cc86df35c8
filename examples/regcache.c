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
 *   regcache [operations]      (default 1,000,000, spread over 4 threads)
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
};

static struct entry cache[ENTRIES];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong registrations, hits, misses, invalidated, callback_calls, stale_hits, frees,
    reprotects, refused_registrations;

/* The secure memory cache callback: drop every entry overlapping the range. */
static BOOLEAN CALLBACK invalidate(PVOID addr, SIZE_T size)
{
    BYTE *lo = addr, *hi = lo + size;
    BOOLEAN any = FALSE;

    callback_calls++;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < ENTRIES; i++) {
        struct entry *e = &cache[i];
        if (e->used && e->base < hi && lo < e->base + BUF_SIZE) {
            device_set(i, NULL, 0);
            MmUnsecureVirtualMemory(e->secure);
            e->used = 0;
            invalidated++;
            any = TRUE;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return any;
}

/* Is this cached registration still the truth about the buffer it names? */
static int entry_is_current(const struct entry *e, unsigned owner, unsigned gen)
{
    MEMORY_BASIC_INFORMATION m;
    return e->owner == owner && e->gen == gen &&
           VirtualQuery(e->base, &m, sizeof(m)) == sizeof(m) && m.AllocationBase == e->base &&
           m.State == MEM_COMMIT && m.Protect == PAGE_READWRITE && m.RegionSize >= BUF_SIZE;
}

/* Use a buffer for I/O: a cache hit, or register it now. */
static void use(BYTE *base, unsigned owner, unsigned gen)
{
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < ENTRIES; i++) {
        if (cache[i].used && cache[i].base == base) {
            hits++;
            if (!entry_is_current(&cache[i], owner, gen))
                stale_hits++;
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
            cache[i] = (struct entry){ base, h, gen, owner, 1 };
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
    for (int i = 0; i < ENTRIES; i++)
        if (cache[i].used && cache[i].base == base && cache[i].owner == owner)
            stale_hits++;
    pthread_mutex_unlock(&cache_lock);
}

/* ---- the application ---------------------------------------------------------------------- */

static unsigned long ops_per_thread;

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
        if (!buf[k]) {
            buf[k] = VirtualAlloc(NULL, BUF_SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
            gen[k]++;
            if (!buf[k]) {
                printf("VirtualAlloc failed: %lu\n", (unsigned long)GetLastError());
                exit(1);
            }
        } else if (op < 60) {
            buf[k][op] = (BYTE)n; /* fill it, then hand it to the device */
            use(buf[k], me, gen[k]);
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
    for (unsigned k = 0; k < BUFS; k++)
        if (buf[k])
            VirtualFree(buf[k], 0, MEM_RELEASE);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long total = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
    pthread_t t[THREADS];

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
    printf("callback calls        %lu, entries invalidated %lu\n", callback_calls, invalidated);
    printf("stale hits            %lu\n\n", stale_hits);
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
    return 0;
}
