/*
 * file.c - file and shared-memory system calls for sections and CreateFile: memfd for
 * pagefile-backed sections, POSIX shared memory for named ones (with flock to know when the
 * last process lets go of a name), and the plain file calls.  Same contract as os.c: 0 or a
 * negative errno (or a descriptor >= 0); ftruncate, fstat and flock go through wm_os_sys so
 * tests can make a section's sizing and name locking fail.
 */
#include "os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#include "vm/vm.h"

static int ret(int r)
{
    return r < 0 ? -errno : r;
}

int wm_os_memfd(void)
{
    return ret(memfd_create("winmem-section", MFD_CLOEXEC));
}

int wm_os_shm_open(const char *name, bool create, bool *created)
{
    int fd = -1;

    *created = false;
    if (create) {
        fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            *created = true;
            return fd;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return ret(shm_open(name, O_RDWR | O_CLOEXEC, 0));
}

int wm_os_shm_secure(int fd)
{
    /* Exactly owner read-write, whatever the umask made of the mode at creation. */
    return ret(fchmod(fd, 0600));
}

int wm_os_shm_check(int fd)
{
    struct stat st;
    if (wm_os_sys.fstat(fd, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0600)
        return -EACCES;
    return 0;
}

int wm_os_shm_list(const char *prefix, int (*fn)(void *ctx, const char *name), void *ctx)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    size_t n = strlen(prefix);
    int rc = 0;

    if (!d)
        return -errno;
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, n) == 0)
            rc = fn(ctx, e->d_name);
    closedir(d);
    return rc;
}

unsigned wm_os_euid(void)
{
    return (unsigned)geteuid();
}

int wm_os_shm_unlink(const char *name)
{
    return ret(shm_unlink(name));
}

int wm_os_unlink(const char *path)
{
    return ret(unlink(path));
}

int wm_os_file_open(const char *path, unsigned how)
{
    bool rd = how & WM_OPEN_READ, wr = how & (WM_OPEN_WRITE | WM_OPEN_APPEND);
    int flags = (rd && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY) | O_CLOEXEC;

    if (how & WM_OPEN_APPEND)
        flags |= O_APPEND;
    if (how & WM_OPEN_CREATE)
        flags |= O_CREAT;
    if (how & WM_OPEN_EXCL)
        flags |= O_EXCL;
    if (how & WM_OPEN_TRUNC)
        flags |= O_TRUNC;
    return ret(open(path, flags, 0666));
}

int wm_os_file_read(int fd, void *buf, size_t len, int64_t off, size_t *done)
{
    ssize_t n;

    do
        n = off < 0 ? read(fd, buf, len) : pread(fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    *done = (size_t)n;
    return 0;
}

int wm_os_file_write(int fd, const void *buf, size_t len, int64_t off, size_t *done)
{
    const char *p = buf;
    size_t total = 0;

    /* All of it, as a synchronous write on Windows completes: short writes go on. */
    while (total < len) {
        ssize_t n = off < 0 ? write(fd, p + total, len - total)
                            : pwrite(fd, p + total, len - total, (off_t)off + (off_t)total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *done = total;
            return n < 0 ? -errno : -EIO;
        }
        total += (size_t)n;
    }
    *done = total;
    return 0;
}

int wm_os_file_stat(int fd, struct wm_os_stat *out)
{
    struct stat st;
    if (wm_os_sys.fstat(fd, &st) != 0)
        return -errno;
    out->size = (uint64_t)st.st_size;
    out->allocated = (uint64_t)st.st_blocks * 512;
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    out->links = (uint32_t)st.st_nlink;
    out->dir = S_ISDIR(st.st_mode);
    return 0;
}

bool wm_os_path_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int wm_os_fd_mode(int fd, bool *rd, bool *wr)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    *rd = (fl & O_ACCMODE) != O_WRONLY;
    *wr = (fl & O_ACCMODE) != O_RDONLY;
    return 0;
}

int wm_os_fd_path(int fd, char *buf, size_t len)
{
    char link[32];
    int n = snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    if (n < 0 || (size_t)n >= sizeof(link) || len == 0)
        return -EINVAL;
    ssize_t got = readlink(link, buf, len - 1);
    if (got < 0)
        return -errno;
    buf[got] = 0;
    return 0;
}

int wm_os_close(int fd)
{
    return ret(close(fd));
}

int wm_os_dup(int fd)
{
    return ret(fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

int wm_os_file_size(int fd, uint64_t *size)
{
    struct stat st;
    if (wm_os_sys.fstat(fd, &st) != 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int wm_os_truncate(int fd, uint64_t size)
{
    return ret(wm_os_sys.ftruncate(fd, (off_t)size));
}

int wm_os_seek(int fd, int64_t off, int whence, uint64_t *pos)
{
    static const int how[] = { SEEK_SET, SEEK_CUR, SEEK_END };
    off_t r = lseek(fd, (off_t)off, how[whence]);
    if (r < 0)
        return -errno;
    *pos = (uint64_t)r;
    return 0;
}

int wm_os_fsync(int fd)
{
    return ret(fsync(fd));
}

int wm_os_flock(int fd, int op)
{
    return ret(wm_os_sys.flock(fd, op));
}

int wm_os_map_file(uintptr_t addr, size_t len, unsigned acc, int fd, uint64_t off, bool shared,
                   bool replace)
{
    int prot = ((acc & WM_ACC_R) ? PROT_READ : 0) | ((acc & WM_ACC_W) ? PROT_WRITE : 0) |
               ((acc & WM_ACC_X) ? PROT_EXEC : 0);
    /* replace: MAP_FIXED over address space the caller already holds (its own reservation);
     * otherwise MAP_FIXED_NOREPLACE, which never takes memory someone else holds. */
    int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | (replace ? MAP_FIXED : MAP_FIXED_NOREPLACE);
    void *p = wm_os_sys.mmap((void *)addr, len, prot, flags, fd, (off_t)off);
    if (p == MAP_FAILED)
        return -errno;
    if ((uintptr_t)p != addr) { /* kernels before 4.17 take NOREPLACE as a hint */
        wm_os_sys.munmap(p, len);
        return -EEXIST;
    }
    return 0;
}

int wm_os_msync(uintptr_t addr, size_t len)
{
    return ret(msync((void *)addr, len, MS_SYNC));
}
