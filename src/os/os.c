/*
 * os.c - memory system calls behind the wm_os_sys table, and machine facts.
 *
 * The one place winmem asks Linux to change a mapping.  Every wrapper is a thin translation
 * of WM_ACC_* bits to PROT_* plus the flags Windows semantics need (MAP_NORESERVE so a
 * reservation is not charged against memory; MAP_FIXED_NOREPLACE so a chosen address never
 * clobbers memory winmem does not own).
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm/vm.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define REAL_CALLS                                                                          \
    {                                                                                       \
        .mmap = wm_os_own_mmap, .munmap = wm_os_own_munmap, .mprotect = mprotect,           \
        .madvise = wm_os_own_madvise, .mlock = mlock, .mlock2 = mlock2, .munlock = munlock, \
        .mincore = mincore, .ftruncate = ftruncate, .fstat = fstat, .flock = flock,         \
        .ioctl = sys_ioctl,                                                                 \
    }

/* ioctl is variadic; the table's entry takes the one pointer argument winmem passes. */
static int sys_ioctl(int fd, unsigned long req, void *arg)
{
    return ioctl(fd, req, arg);
}

const struct wm_os_sys wm_os_sys_default = REAL_CALLS;
struct wm_os_sys wm_os_sys = REAL_CALLS;

static int prot_of(unsigned acc)
{
    return ((acc & WM_ACC_R) ? PROT_READ : 0) | ((acc & WM_ACC_W) ? PROT_WRITE : 0) |
           ((acc & WM_ACC_X) ? PROT_EXEC : 0);
}

static int fail(void)
{
    return errno ? -errno : -EINVAL;
}

/* ENOMEM from making private memory writable may be the commit charge (sysmem.c tells). */
static int write_failed(unsigned acc)
{
    int rc = fail();
    return rc == -ENOMEM && (acc & WM_ACC_W) ? wm_os_write_refused() : rc;
}

size_t wm_os_page_size(void)
{
    /* Read once: the page size never changes while a process runs, and threads racing to
     * read it store the same value. */
    static _Atomic size_t page;
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);

    if (!p) {
        p = getauxval(AT_PAGESZ) ? getauxval(AT_PAGESZ) : 4096;
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}

static size_t read_size_file(const char *path)
{
    char buf[32];
    size_t v = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
        v = v * 10 + (size_t)(buf[i] - '0');
    return v;
}

size_t wm_os_large_page_size(void)
{
    /* Windows reports a large-page size whenever the processor has one; Linux offers them
     * through the hugetlb pool or transparent huge pages, whose size is in sysfs. */
    size_t thp = read_size_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    return thp ? thp : (read_size_file("/proc/sys/vm/nr_hugepages") ? 2u << 20 : 0);
}

unsigned wm_os_process_id(void)
{
    return (unsigned)getpid();
}

int wm_os_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void *wm_os_arena_chunk(size_t len)
{
    const size_t huge = 2u << 20;
    size_t span = len >= huge ? len + huge : len;
    char *p =
        wm_os_sys.mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    if (span != len) {
        /* Trim to a huge-page-aligned start so the kernel can back it with huge pages. */
        char *start = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
        if (start > p)
            wm_os_sys.munmap(p, (size_t)(start - p));
        if (p + span > start + len)
            wm_os_sys.munmap(start + len, (size_t)(p + span - (start + len)));
        p = start;
        wm_os_sys.madvise(p, len, MADV_HUGEPAGE);
    }
    return p;
}

void wm_os_arena_discard(void *block, size_t len)
{
    uintptr_t pg = wm_os_page_size();
    uintptr_t start = ((uintptr_t)block + sizeof(void *) + pg - 1) & ~(pg - 1);
    uintptr_t end = ((uintptr_t)block + len) & ~(pg - 1);

    if (end > start)
        wm_os_sys.madvise((void *)start, end - start, MADV_DONTNEED);
}

int wm_os_map(uintptr_t *addr, size_t len, unsigned acc, bool fixed)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (fixed ? MAP_FIXED_NOREPLACE : 0);
    void *p = wm_os_sys.mmap((void *)*addr, len, prot_of(acc), flags, -1, 0);

    if (p == MAP_FAILED)
        return write_failed(acc);
    if (fixed && (uintptr_t)p != *addr) {
        /* Kernels before 4.17 treat MAP_FIXED_NOREPLACE as a hint: never keep a mapping
         * somewhere the caller did not ask for. */
        wm_os_sys.munmap(p, len);
        return -EEXIST;
    }
    *addr = (uintptr_t)p;
    return 0;
}

int wm_os_map_large(uintptr_t *addr, size_t len, unsigned acc, size_t large)
{
    int prot = prot_of(acc);
    int fixed = *addr ? MAP_FIXED_NOREPLACE : 0;
    void *p =
        wm_os_sys.mmap((void *)*addr, len, prot,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE | fixed, -1, 0);

    if (p != MAP_FAILED && ((uintptr_t)p & (large - 1)) == 0 && (!fixed || (uintptr_t)p == *addr)) {
        *addr = (uintptr_t)p;
        return 0;
    }
    if (p != MAP_FAILED)
        wm_os_sys.munmap(p, len);
    /* No hugetlb pool: transparent huge pages on a large-page-aligned range, populated now as
     * Windows commits large pages at allocation. */
    uintptr_t start = *addr;
    if (fixed) {
        int rc = wm_os_map(&start, len, acc, true);
        if (rc)
            return rc;
    } else {
        p = wm_os_sys.mmap(NULL, len + large, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return fail();
        start = ((uintptr_t)p + large - 1) & ~(uintptr_t)(large - 1);
        if (start > (uintptr_t)p)
            wm_os_sys.munmap(p, start - (uintptr_t)p);
        if ((uintptr_t)p + len + large > start + len)
            wm_os_sys.munmap((void *)(start + len), (uintptr_t)p + len + large - (start + len));
    }
    if (wm_os_sys.madvise((void *)start, len, MADV_HUGEPAGE) != 0 ||
        ((acc & WM_ACC_W) && wm_os_sys.madvise((void *)start, len, MADV_POPULATE_WRITE) != 0)) {
        int e = fail();
        wm_os_sys.munmap((void *)start, len);
        return e;
    }
    *addr = start;
    return 0;
}

int wm_os_unmap(uintptr_t addr, size_t len)
{
    return wm_os_sys.munmap((void *)addr, len) == 0 ? 0 : fail();
}

WM_HOT int wm_os_protect(uintptr_t addr, size_t len, unsigned acc)
{
    return wm_os_sys.mprotect((void *)addr, len, prot_of(acc)) == 0 ? 0 : write_failed(acc);
}

int wm_os_decommit(uintptr_t addr, size_t len)
{
    /* A fresh PROT_NONE mapping over the range drops the pages, their lock and their
     * charge at once, so a later commit reads zeros (one call instead of madvise+mprotect). */
    void *p = wm_os_sys.mmap((void *)addr, len, PROT_NONE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? fail() : 0;
}

int wm_os_zero(uintptr_t addr, size_t len)
{
    return wm_os_sys.madvise((void *)addr, len, MADV_DONTNEED) == 0 ? 0 : fail();
}

int wm_os_willneed(uintptr_t addr, size_t len)
{
    return wm_os_sys.madvise((void *)addr, len, MADV_WILLNEED) == 0 ? 0 : fail();
}

int wm_os_reset(uintptr_t addr, size_t len)
{
    /* A secured range may be registered with the monitor (uffdmon.c): this zap is winmem's own,
     * for which Windows runs no callback, and MADV_FREE leaves a page a device has pinned in
     * place, so its registration stays true. */
    int quiet = wm_os_uffdmon_quiet_begin(addr, addr + len);
    int rc = wm_os_sys.madvise((void *)addr, len, MADV_FREE) == 0 ? 0 : fail();
    wm_os_uffdmon_quiet_end(quiet);
    return rc;
}

int wm_os_resident(uintptr_t addr, size_t len, bool *all)
{
    unsigned char vec[256];
    size_t page = wm_os_page_size();

    *all = true;
    while (len) {
        size_t chunk = len / page > sizeof(vec) ? sizeof(vec) * page : len;
        if (wm_os_sys.mincore((void *)addr, chunk, vec) != 0)
            return fail();
        for (size_t i = 0; i < chunk / page; i++)
            if (!(vec[i] & 1))
                *all = false;
        addr += chunk;
        len -= chunk;
    }
    return 0;
}

void wm_os_keep(uintptr_t addr, size_t len, size_t page)
{
    /* An atomic add of zero dirties the page (cancelling MADV_FREE) without a window in
     * which another thread's store to the same word could be lost. */
    for (uintptr_t p = addr; p < addr + len; p += page)
        __atomic_fetch_add((volatile unsigned char *)p, 0, __ATOMIC_RELAXED);
}

int wm_os_lock(uintptr_t addr, size_t len)
{
    return wm_os_sys.mlock((const void *)addr, len) == 0 ? 0 : fail();
}

int wm_os_lock_no_write(uintptr_t addr, size_t len)
{
    if (wm_os_sys.mlock2((const void *)addr, len, MLOCK_ONFAULT) != 0)
        return fail();
    /* Resident now, as VirtualLock promises; a kernel without MADV_POPULATE_READ (before
     * 5.14) has no userfaultfd write-protect either, so this path does not run there. */
    if (wm_os_sys.madvise((void *)addr, len, MADV_POPULATE_READ) != 0) {
        int rc = fail();
        wm_os_sys.munlock((const void *)addr, len);
        return rc;
    }
    return 0;
}

int wm_os_unlock(uintptr_t addr, size_t len)
{
    return wm_os_sys.munlock((const void *)addr, len) == 0 ? 0 : fail();
}

_Noreturn void wm_check_fail(const char *file, int line, const char *what)
{
    /* A winmem bug: say where with plain writes (this may run in a signal handler). */
    char num[16], *p = num + sizeof(num);
    unsigned v = (unsigned)line;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    const char *parts[] = { "winmem: check failed at ", file, ":", NULL, ": ", what, "\n" };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        const char *s = parts[i] ? parts[i] : p;
        size_t n = parts[i] ? strlen(s) : (size_t)(num + sizeof(num) - p);
        ssize_t ignored = write(STDERR_FILENO, s, n);
        (void)ignored;
    }
    abort();
}
