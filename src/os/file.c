/*
 * file.c - file and shared-memory system calls for sections and CreateFile: memfd for
 * pagefile-backed sections, POSIX shared memory for named ones (with flock to know when the
 * last process lets go of a name), and the plain file calls.  Same contract as os.c: 0 or a
 * negative errno (or a descriptor >= 0); ftruncate, fstat and flock go through wm_os_sys so
 * tests can make a section's sizing and name locking fail.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#include "../vm/vm.h"

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

int wm_os_shm_unlink(const char *name)
{
    return ret(shm_unlink(name));
}

int wm_os_open(const char *path, int flags, int mode)
{
    return ret(open(path, flags | O_CLOEXEC, mode));
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

int wm_os_is_directory(int fd, bool *dir)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    *dir = S_ISDIR(st.st_mode);
    return 0;
}

int wm_os_truncate(int fd, uint64_t size)
{
    return ret(wm_os_sys.ftruncate(fd, (off_t)size));
}

int wm_os_seek(int fd, int64_t off, int whence, uint64_t *pos)
{
    off_t r = lseek(fd, (off_t)off, whence);
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
