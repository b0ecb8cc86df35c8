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
 * event is queued.  So the reading thread runs the handler as soon as it has the message, and
 * one more reader is always waiting: a handler that waits for a thread which is itself
 * waiting for its event to be read (a lock held across a munmap) cannot stop the monitor.
 * Readers are created with every signal blocked and never touch the VM lock themselves.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define EVENTS (UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_REMAP)
/* Readers kept waiting at most (more are created while handlers run, and leave after). */
#define SPARE_READERS 2

static int mfd = -1;
static wm_os_uffdmon_fn handler;
/* Under lock: readers alive and readers waiting for an event. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int readers, waiting;
static unsigned long long events_read;

static int fail(void)
{
    return errno ? -errno : -EINVAL;
}

static void *reader(void *arg);

/* Under lock. */
static int spawn_locked(void)
{
    pthread_attr_t a;
    pthread_t t;
    sigset_t all, old;
    int rc;

    if (pthread_attr_init(&a) != 0)
        return -ENOMEM;
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 << 10);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t, &a, reader, (void *)(intptr_t)mfd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
    if (rc != 0)
        return -rc;
    readers++;
    waiting++;
    return 0;
}

static void dispatch(const struct uffd_msg *m)
{
    switch (m->event) {
    case UFFD_EVENT_UNMAP:
        handler(WM_UFFDMON_UNMAP, (uintptr_t)m->arg.remove.start, (uintptr_t)m->arg.remove.end, 0);
        break;
    case UFFD_EVENT_REMOVE:
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

static void *reader(void *arg)
{
    int fd = (int)(intptr_t)arg;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        struct uffd_msg m;

        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            break;
        /* Non-blocking: every waiting reader wakes, one gets the message. */
        if (read(fd, &m, sizeof(m)) != (ssize_t)sizeof(m)) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            break;
        }
        pthread_mutex_lock(&lock);
        events_read++;
        if (--waiting == 0)
            (void)spawn_locked(); /* failing that, the handler runs all the same */
        pthread_mutex_unlock(&lock);
        dispatch(&m);
        pthread_mutex_lock(&lock);
        if (waiting >= SPARE_READERS) {
            readers--;
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        waiting++;
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    readers--;
    waiting--;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int wm_os_uffdmon_start(wm_os_uffdmon_fn fn)
{
    int fd, rc;
    struct uffdio_api api = { .api = UFFD_API, .features = EVENTS | UFFD_FEATURE_WP_ASYNC };

    if (mfd >= 0)
        return 0;
    /* User-mode-only descriptors need no privilege even with vm.unprivileged_userfaultfd=0,
     * and events do not depend on where a fault came from. */
    fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0)
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail();
    if (wm_os_sys.ioctl(fd, UFFDIO_API, &api) != 0) {
        /* Before Linux 6.7: no asynchronous write-protect, anonymous and shared memory only.
         * A refused UFFDIO_API leaves the descriptor unusable, so open another. */
        close(fd);
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
        if (fd < 0)
            fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
        api = (struct uffdio_api){ .api = UFFD_API, .features = EVENTS };
        if (fd < 0)
            return fail();
        if (wm_os_sys.ioctl(fd, UFFDIO_API, &api) != 0) {
            rc = fail();
            close(fd);
            return rc;
        }
    }
    if ((api.features & EVENTS) != EVENTS) {
        close(fd);
        return -ENOSYS;
    }
    handler = fn;
    mfd = fd;
    pthread_mutex_lock(&lock);
    rc = 0;
    for (int i = 0; i < SPARE_READERS && rc == 0; i++)
        rc = spawn_locked();
    if (rc != 0 && readers == 0) {
        pthread_mutex_unlock(&lock);
        mfd = -1;
        close(fd);
        return rc;
    }
    pthread_mutex_unlock(&lock);
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

void wm_os_uffdmon_unregister(uintptr_t start, uintptr_t end)
{
    struct uffdio_range r = { .start = start, .len = end - start };

    /* Holes, and mappings registered elsewhere (write watches), are left as they are. */
    if (mfd >= 0)
        (void)wm_os_sys.ioctl(mfd, UFFDIO_UNREGISTER, &r);
}

unsigned long long wm_os_uffdmon_events(void)
{
    pthread_mutex_lock(&lock);
    unsigned long long n = events_read;
    pthread_mutex_unlock(&lock);
    return n;
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
    readers = waiting = 0;
    pthread_mutex_unlock(&lock);
}
