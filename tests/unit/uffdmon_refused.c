/*
 * uffdmon_refused.c - where userfaultfd is refused (the UFFDIO_API ioctl fails with EPERM
 * through the wm_os_sys table, as a seccomp filter would make it), secured memory keeps
 * Windows' protocol: MmSecureVirtualMemory still secures, the first one says so on stderr
 * exactly once, a raw munmap behind the API neither waits nor runs a callback, and one
 * through the C library still runs the callbacks first (that needs no userfaultfd);
 * WINMEM_SECURE_MONITOR=require makes the secure fail instead, and =off says nothing and
 * runs no callback.  Each case runs in a child (the monitor's state is decided once per
 * process).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wmtest.h"
#include "windows.h"
#include "ntddk.h"
#include "mm/mm.h"

static int (*real_ioctl)(int, unsigned long, void *);

static int refusing_ioctl(int fd, unsigned long req, void *arg)
{
    if (req == UFFDIO_API) {
        errno = EPERM;
        return -1;
    }
    return real_ioctl(fd, req, arg);
}

static volatile int calls;

static BOOLEAN CALLBACK count(PVOID addr, SIZE_T size)
{
    (void)addr, (void)size;
    calls++;
    return FALSE;
}

/* In a child: the monitor refused, env as given; stderr goes to `err`.  Exit status: 0 when
 * every expectation held, else the number of the first that did not. */
static int child(const char *env, int err)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (env)
        setenv("WINMEM_SECURE_MONITOR", env, 1);
    dup2(err, 2);
    real_ioctl = wm_os_sys.ioctl;
    wm_os_sys.ioctl = refusing_ioctl;
    alarm(10); /* a munmap waiting for a monitor that is not there would hang */
    if (!AddSecureMemoryCacheCallback(count))
        return 1;
    char *p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 2;
    HANDLE a = MmSecureVirtualMemory(p, 2 * page, PAGE_READWRITE);
    HANDLE b = MmSecureVirtualMemory(p + 2 * page, 2 * page, PAGE_READWRITE);
    if (env && strcmp(env, "require") == 0)
        return a || b ? 3 : 0;
    if (!a || !b)
        return 4;
    if (syscall(SYS_munmap, p, 2 * page) != 0)
        return 5;
    usleep(50000);
    if (calls != 0)
        return 6;
    if (munmap(p + 2 * page, 2 * page) != 0)
        return 7;
    return calls == (env && strcmp(env, "off") == 0 ? 0 : 1) ? 0 : 8;
}

/* Runs the case; the lines it wrote to stderr come back in `lines`. */
static int run(const char *env, int *lines)
{
    char path[] = "/tmp/winmem-uffdmon-XXXXXX";
    int fd = mkstemp(path);
    char buf[4096];
    int st = 0;

    if (fd < 0)
        return -1;
    unlink(path);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child(env, fd));
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    *lines = 0;
    for (char *q = buf; (q = strstr(q, "winmem: secured memory is not watched")); q++)
        ++*lines;
    if (n > 0 && *lines)
        fputs(buf, stdout); /* what a user sees */
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

int main(void)
{
    int lines = -1;

    CHECK_EQ(run(NULL, &lines), 0);
    CHECK_EQ(lines, 1); /* once, for two secures */
    CHECK_EQ(run("require", &lines), 0);
    CHECK_EQ(lines, 1);
    CHECK_EQ(run("off", &lines), 0);
    CHECK_EQ(lines, 0);
    return wmt_report();
}
