/*
 * uffdmon.c - the kernel side of the secured-range monitor: a userfaultfd that reports
 * munmap, madvise(MADV_DONTNEED / MADV_FREE / MADV_REMOVE) and mremap of its ranges
 * (UFFD_FEATURE_EVENT_UNMAP, _REMOVE, _REMAP), and the threads that read those reports.
 *
 * The registration must not change how the memory behaves.  The kernel refuses a
 * registration with no mode; MISSING would deliver a fault for every first touch of a page,
 * MINOR one for every shared page not yet mapped here.  WP only acts on pages the descriptor
 * has write-protected (UFFDIO_WRITEPROTECT, which is never issued here), so with it no fault
 * is ever delivered; asking for UFFD_FEATURE_WP_ASYNC as well (Linux 6.7) lets the kernel
 * accept file-backed mappings too (without it: anonymous and shared memory only).
 *
 * The kernel allows one userfaultfd per mapping: a range already registered on the write
 * watches' descriptor (uffd.c) is refused with -EBUSY, and unregistering on this descriptor
 * leaves the other's registration alone.  Write watches keep their own descriptor, without
 * events, so that winmem's own frees of watched memory never wait for this monitor.
 *
 * Ordering (fs/userfaultfd.c): the thread that unmaps, zaps or moves a registered range waits
 * in the kernel until the event has been read here, not until it has been handled.  For
 * MADV_DONTNEED/FREE/REMOVE the pages are zapped after the read; for munmap and mremap the
 * change is already made (and the mmap lock dropped: other threads may map the hole) when the
 * event is queued.  So the reader runs the handler the moment it has the message, with
 * nothing in between that can wait: no lock, no thread creation.  Two things keep that
 * moment short.  Readers ask for real-time priority (SCHED_FIFO, the lowest level) where the
 * process may have it: otherwise the thread the read has just woken can take the reader's
 * CPU until the next time slice while it and others reuse the memory.  And one more reader
 * is always waiting: a handler that waits for a thread which is itself waiting for its event
 * to be read (a lock held across a munmap) cannot stop the monitor; a reader that takes the
 * last waiting place asks the spawner thread for another rather than creating it itself.
 * Readers are created with every signal blocked and never take the VM lock themselves.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

#define EVENTS (UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_REMAP)
/* Readers waiting for an event: started with, and kept at most (more are started while
 * handlers run; past SPARES, one that finishes leaves). */
#define READERS 2
#define SPARES 4
/* Readers run the application's callbacks: a stack as roomy as a usual thread's first 2 MiB,
 * of which the top PREFAULT bytes are made present at once. */
#define STACK (2 << 20)
#define PREFAULT (64 << 10)

static int mfd = -1;
static atomic_bool started; /* mfd is open: read without a lock by quiet_begin */
static wm_os_uffdmon_fn handler;
static atomic_int waiting; /* readers in read() or about to be */
static atomic_ullong events_read;
static atomic_int boosted = -1; /* whether readers got real-time priority; -1 not yet known */
static sem_t need;              /* posted when a reader took the last waiting place */
/* Orders thread creation with fork(). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int fail(void)
{
    return errno ? -errno : -EINVAL;
}

static int start_thread(void *(*fn)(void *))
{
    pthread_attr_t a;
    pthread_t t;
    sigset_t all, old;
    int rc;

    if (pthread_attr_init(&a) != 0)
        return -ENOMEM;
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, STACK);
    sigfillset(&all);
    pthread_mutex_lock(&lock);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t, &a, fn, (void *)(intptr_t)mfd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_unlock(&lock);
    pthread_attr_destroy(&a);
    return -rc;
}

static void *reader(void *arg);

static int spawn_reader(void)
{
    atomic_fetch_add(&waiting, 1);
    int rc = start_thread(reader);
    if (rc != 0)
        atomic_fetch_sub(&waiting, 1);
    return rc;
}

/* Starts readers on request, so that no reader creates a thread between its read and its
 * handler. */
static void *spawner(void *arg)
{
    (void)arg;
    for (;;) {
        if (sem_wait(&need) != 0)
            continue; /* EINTR */
        (void)spawn_reader();
    }
    return NULL;
}

/* Ranges winmem itself is zapping (MEM_RESET): their events are winmem's, not a free behind
 * its back, and Windows runs no callback for them.  A slot's end is 0 when free, UINTPTR_MAX
 * while being filled. */
#define QUIET 32
static struct {
    _Atomic uintptr_t start, end;
} quiet[QUIET];
static atomic_int nquiet;

int wm_os_uffdmon_quiet_begin(uintptr_t start, uintptr_t end)
{
    if (!atomic_load(&started))
        return -1;
    for (int i = 0; i < QUIET; i++) {
        uintptr_t free_slot = 0;
        if (atomic_compare_exchange_strong(&quiet[i].end, &free_slot, UINTPTR_MAX)) {
            atomic_store(&quiet[i].start, start);
            atomic_store(&quiet[i].end, end);
            atomic_fetch_add(&nquiet, 1);
            return i;
        }
    }
    return -1; /* all taken: the callbacks run, which is only more than needed */
}

void wm_os_uffdmon_quiet_end(int slot)
{
    if (slot < 0)
        return;
    atomic_fetch_sub(&nquiet, 1);
    atomic_store(&quiet[slot].end, 0);
}

/* The event's range lies in one that winmem is zapping itself.  Such a call waits for the
 * event to be read, so its slot is still there when the reader asks. */
static bool quieted(uintptr_t start, uintptr_t end)
{
    if (!atomic_load(&nquiet))
        return false;
    for (int i = 0; i < QUIET; i++) {
        uintptr_t e = atomic_load(&quiet[i].end);
        if (e != 0 && e != UINTPTR_MAX && atomic_load(&quiet[i].start) <= start && end <= e)
            return true;
    }
    return false;
}

static void dispatch(const struct uffd_msg *m)
{
    switch (m->event) {
    case UFFD_EVENT_UNMAP:
        handler(WM_UFFDMON_UNMAP, (uintptr_t)m->arg.remove.start, (uintptr_t)m->arg.remove.end, 0);
        break;
    case UFFD_EVENT_REMOVE:
        if (quieted((uintptr_t)m->arg.remove.start, (uintptr_t)m->arg.remove.end))
            break;
        handler(WM_UFFDMON_REMOVE, (uintptr_t)m->arg.remove.start, (uintptr_t)m->arg.remove.end, 0);
        break;
    case UFFD_EVENT_REMAP:
        handler(WM_UFFDMON_REMAP, (uintptr_t)m->arg.remap.from,
                (uintptr_t)(m->arg.remap.from + m->arg.remap.len), (uintptr_t)m->arg.remap.to);
        break;
    default:
        break; /* no fault is ever delivered: nothing is write-protected or missing-tracked */
    }
}

/* The stack a handler will use, present before the first event: a page fault between a read
 * and its handler would widen the window by microseconds. */
__attribute__((noinline)) static void prefault_stack(void)
{
    volatile char touch[PREFAULT];
    for (size_t i = 0; i < sizeof(touch); i += 4096)
        touch[i] = 0;
}

static void *reader(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct sched_param sp = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };

    /* Refused without CAP_SYS_NICE or an RLIMIT_RTPRIO: then the readers run as others do. */
    atomic_store(&boosted, pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0);
    prefault_stack();
    for (;;) {
        struct uffd_msg m;

        /* Blocking: the kernel wakes every waiting reader, one gets the message, the others
         * sleep again without coming back here.  Waking only one (epoll's EPOLLEXCLUSIVE) was
         * tried and lost more races: 14 to 29 stale hits in a million operations of
         * examples/regcache --behind against 0 or 1, the woken real-time readers holding the
         * CPUs for the moment the thread whose event was read needs to get going. */
        if (read(fd, &m, sizeof(m)) != (ssize_t)sizeof(m)) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break;
        }
        if (atomic_fetch_sub(&waiting, 1) == 1)
            sem_post(&need);
        dispatch(&m);
        atomic_fetch_add(&events_read, 1);
        if (atomic_load(&waiting) >= SPARES)
            return NULL;
        atomic_fetch_add(&waiting, 1);
    }
    atomic_fetch_sub(&waiting, 1);
    return NULL;
}

/* Events do not depend on where a fault came from: a user-mode-only descriptor does. */
static int open_fd(unsigned long long features, int *out)
{
    int fd = wm_os_uffd_new(O_CLOEXEC, features, EVENTS);

    if (fd < 0)
        return fd;
    *out = fd;
    return 0;
}

int wm_os_uffdmon_start(wm_os_uffdmon_fn fn)
{
    int fd, rc;

    if (mfd >= 0)
        return 0;
    /* Before Linux 6.7 there is no asynchronous write-protect: anonymous and shared memory
     * only.  (A refused UFFDIO_API leaves a descriptor unusable, so each try opens one.) */
    rc = open_fd(EVENTS | UFFD_FEATURE_WP_ASYNC, &fd);
    if (rc != 0 && rc != -EPERM && rc != -ENOSYS)
        rc = open_fd(EVENTS, &fd);
    if (rc != 0)
        return rc;
    if (sem_init(&need, 0, 0) != 0) {
        close(fd);
        return -ENOMEM;
    }
    handler = fn;
    mfd = fd;
    if ((rc = start_thread(spawner)) != 0 || (rc = spawn_reader()) != 0) {
        /* A spawner already started waits for ever on a semaphore nobody posts. */
        mfd = -1;
        close(fd);
        return rc;
    }
    for (int i = 1; i < READERS; i++)
        (void)spawn_reader(); /* spares: one is enough to run, a reader starts more when needed */
    atomic_store(&started, true);
    return 0;
}

int wm_os_uffdmon_register(uintptr_t start, uintptr_t end)
{
    struct uffdio_register reg = {
        .range = { .start = start, .len = end - start },
        .mode = UFFDIO_REGISTER_MODE_WP,
    };

    if (mfd < 0)
        return -EBADF;
    return wm_os_sys.ioctl(mfd, UFFDIO_REGISTER, &reg) == 0 ? 0 : fail();
}

int wm_os_uffdmon_unregister(uintptr_t start, uintptr_t end)
{
    struct uffdio_range r = { .start = start, .len = end - start };

    /* Holes are skipped; a mapping registered on another descriptor (a write watch) makes the
     * kernel refuse the whole range with -EINVAL, changing nothing. */
    if (mfd < 0)
        return 0;
    return wm_os_sys.ioctl(mfd, UFFDIO_UNREGISTER, &r) == 0 ? 0 : fail();
}

unsigned long long wm_os_uffdmon_events(void)
{
    return atomic_load(&events_read);
}

int wm_os_uffdmon_boosted(void)
{
    return atomic_load(&boosted);
}

void wm_os_uffdmon_fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

void wm_os_uffdmon_fork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

/* The child has no readers, and its mappings lost their registration (the descriptor was not
 * opened with UFFD_FEATURE_EVENT_FORK, so nothing there waits for an event either): it
 * starts afresh on its next use. */
void wm_os_uffdmon_fork_child(void)
{
    if (mfd >= 0)
        close(mfd);
    mfd = -1;
    atomic_store(&started, false);
    atomic_store(&waiting, 0);
    atomic_store(&nquiet, 0);
    for (int i = 0; i < QUIET; i++)
        atomic_store(&quiet[i].end, 0);
    pthread_mutex_unlock(&lock);
}
