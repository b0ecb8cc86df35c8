/*
 * uffd.c - the kernel side of fast write watches: a userfaultfd in asynchronous write-protect
 * mode (UFFD_FEATURE_WP_ASYNC, Linux 6.7) and the PAGEMAP_SCAN ioctl on /proc/self/pagemap.
 *
 * A registered page that is write-protected has its protection lifted by the kernel itself on
 * the first write, by the program or by the kernel on its behalf (read(2) into it), with no
 * signal and no message on the descriptor; PAGEMAP_SCAN lists the pages no longer protected
 * and protects them again in the same call.  Fresh pages start unpopulated (no page table
 * entry), which PAGEMAP_SCAN does not count as written, so a new range needs no protecting.
 * The policy (when to scan, what the results mean) is mm/watch.c's.  The uapi constants are
 * spelled out for building against older kernel headers.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* <linux/fs.h> PAGEMAP_SCAN, Linux 6.7 */
struct wm_page_region {
    uint64_t start, end, categories;
};
struct wm_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define WM_PAGE_IS_WRITTEN (1u << 1)
#define WM_PAGE_IS_PRESENT (1u << 3)
#define WM_PAGE_IS_SWAPPED (1u << 4)
#define WM_PAGE_IS_PFNZERO (1u << 5)
#define WM_PM_SCAN_WP_MATCHING (1u << 0)
#define WM_PM_SCAN_CHECK_WPASYNC (1u << 1)
#define WM_PAGEMAP_SCAN _IOWR('f', 16, struct wm_pm_scan_arg)

static int uffd = -1, pagemap = -1;
static pid_t owner; /* the process the descriptors' address space is */

static int fail(void)
{
    return errno ? -errno : -EINVAL;
}

static int open_fds(void);

/* The descriptors of this process: after fork() the inherited ones still name the parent's
 * address space, so the child opens its own (its inherited watched ranges are then not
 * registered: scans there fail until mm/watch.c registers them again). */
static bool mine(void)
{
    if (uffd < 0)
        return false;
    if ((pid_t)syscall(SYS_getpid) == owner)
        return true;
    close(uffd);
    close(pagemap);
    uffd = pagemap = -1;
    return open_fds() == 0;
}

int wm_os_uffd_watch(uintptr_t addr, size_t len)
{
    struct uffdio_register reg = {
        .range = { .start = addr, .len = len },
        .mode = UFFDIO_REGISTER_MODE_WP,
    };

    if (!mine())
        return -ECHILD;
    /* A written huge page would report all 512 of its pages: watched memory stays small. */
    if (wm_os_sys.madvise((void *)addr, len, MADV_NOHUGEPAGE) != 0)
        return fail();
    return wm_os_sys.ioctl(uffd, UFFDIO_REGISTER, &reg) == 0 ? 0 : fail();
}

int wm_os_uffd_scan(uintptr_t start, uintptr_t end, bool rearm, size_t max_pages,
                    void (*fn)(void *ctx, uintptr_t s, uintptr_t e), void *ctx, uintptr_t *stop)
{
    struct wm_page_region vec[64];
    size_t left = max_pages;

    if (!mine())
        return -ECHILD;
    while (start < end) {
        /* Written means: a page is there (present or swapped; an empty entry also lacks the
         * write-protect bit, but nothing was written to it), it lacks the write-protect bit,
         * and it is not the shared zero page (a read of a never-written page maps that). */
        struct wm_pm_scan_arg arg = {
            .size = sizeof(arg),
            .flags = WM_PM_SCAN_CHECK_WPASYNC | (rearm ? WM_PM_SCAN_WP_MATCHING : 0),
            .start = start,
            .end = end,
            .vec = (uintptr_t)vec,
            .vec_len = sizeof(vec) / sizeof(vec[0]),
            .max_pages = left,
            .category_inverted = WM_PAGE_IS_PFNZERO,
            .category_mask = WM_PAGE_IS_WRITTEN | WM_PAGE_IS_PFNZERO,
            .category_anyof_mask = WM_PAGE_IS_PRESENT | WM_PAGE_IS_SWAPPED,
            .return_mask = WM_PAGE_IS_WRITTEN,
        };
        int n = wm_os_sys.ioctl(pagemap, WM_PAGEMAP_SCAN, &arg);
        if (n < 0)
            return fail();
        for (int i = 0; i < n; i++) {
            fn(ctx, (uintptr_t)vec[i].start, (uintptr_t)vec[i].end);
            if (max_pages)
                left -= (size_t)(vec[i].end - vec[i].start) / wm_os_page_size();
        }
        if (arg.walk_end <= start)
            return -EIO;
        start = (uintptr_t)arg.walk_end;
        if (max_pages && !left)
            break; /* the kernel stopped (and re-armed) exactly after max_pages */
    }
    if (stop)
        *stop = start < end ? start : end;
    return 0;
}

struct probe_hit {
    uintptr_t s, e;
    int n;
};

static void probe_fn(void *ctx, uintptr_t s, uintptr_t e)
{
    struct probe_hit *h = ctx;
    h->s = s;
    h->e = e;
    h->n++;
}

/* On a scratch mapping: a read reports nothing, a write reports its page once, and a re-armed
 * page reports nothing until written again. */
static int self_test(void)
{
    size_t page = wm_os_page_size();
    char *p =
        wm_os_sys.mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct probe_hit h = { 0, 0, 0 };
    int rc;

    if (p == MAP_FAILED)
        return fail();
    if ((rc = wm_os_uffd_watch((uintptr_t)p, 4 * page)))
        goto out;
    (void)*(volatile char *)(p + 2 * page);
    p[page + 5] = 1;
    rc = wm_os_uffd_scan((uintptr_t)p, (uintptr_t)p + 4 * page, true, 0, probe_fn, &h, NULL);
    if (!rc && (h.n != 1 || h.s != (uintptr_t)p + page || h.e != (uintptr_t)p + 2 * page))
        rc = -ENOSYS;
    h.n = 0;
    if (!rc)
        rc = wm_os_uffd_scan((uintptr_t)p, (uintptr_t)p + 4 * page, true, 0, probe_fn, &h, NULL);
    if (!rc && h.n != 0)
        rc = -ENOSYS;
    p[page + 6] = 2;
    if (!rc)
        rc = wm_os_uffd_scan((uintptr_t)p, (uintptr_t)p + 4 * page, false, 0, probe_fn, &h, NULL);
    if (!rc && h.n != 1)
        rc = -ENOSYS;
out:
    wm_os_sys.munmap(p, 4 * page);
    return rc;
}

int wm_os_uffd_new(int flags, uint64_t want, uint64_t need)
{
    struct uffdio_api api = { .api = UFFD_API, .features = want };
    int fd = (int)syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);

    if (fd < 0)
        fd = (int)syscall(SYS_userfaultfd, flags);
    if (fd < 0)
        return fail();
    if (wm_os_sys.ioctl(fd, UFFDIO_API, &api) != 0) {
        int rc = fail();
        close(fd);
        return rc;
    }
    if ((api.features & need) != need) {
        close(fd);
        return -ENOSYS;
    }
    return fd;
}

static int open_fds(void)
{
    int rc;

    /* Asynchronous write-protect never delivers a fault to the descriptor, so a user-mode-only
     * one does: kernel-mode writes (read(2)) are resolved all the same. */
    int fd = wm_os_uffd_new(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_WP_ASYNC, UFFD_FEATURE_WP_ASYNC);
    if (fd < 0)
        return fd;
    uffd = fd;
    pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap < 0) {
        rc = fail();
        close(uffd);
        uffd = -1;
        return rc;
    }
    owner = (pid_t)syscall(SYS_getpid);
    return 0;
}

int wm_os_uffd_open(void)
{
    int rc = open_fds();

    if (rc == 0 && (rc = self_test()) != 0) {
        close(pagemap);
        close(uffd);
        uffd = pagemap = -1;
    }
    return rc;
}
