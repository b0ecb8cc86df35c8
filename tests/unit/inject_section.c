/*
 * Fault injection into section creation through the wm_os_sys table: when Linux refuses to
 * size, measure or lock a section's object (or to give a descriptor), CreateFileMapping and
 * OpenFileMapping fail with Windows' error and leave nothing behind: no descriptor, no name
 * in /dev/shm, no entry in the name table (the name opens afterwards as it should), no
 * growth of a file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

static int fail_errno;
static int fail_nth; /* fail the nth call from now (1: the next one); 0: none */

static bool fail_now(void)
{
    if (fail_nth == 0 || --fail_nth != 0)
        return false;
    errno = fail_errno;
    return true;
}

static int bad_ftruncate(int fd, off_t len)
{
    return fail_now() ? -1 : wm_os_sys_default.ftruncate(fd, len);
}

static int bad_fstat(int fd, struct stat *st)
{
    return fail_now() ? -1 : wm_os_sys_default.fstat(fd, st);
}

static int bad_flock(int fd, int op)
{
    return fail_now() ? -1 : wm_os_sys_default.flock(fd, op);
}

static int count_dir(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' && strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static char name[100], shm[140];
static int fds;

/* A create that must fail with err, leaving no descriptor and no name. */
static void create_fails(DWORD err, int line)
{
    SetLastError(0xdeadbeef);
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 8192, name);
    DWORD e = GetLastError();
    wm_os_sys = wm_os_sys_default;
    fail_nth = 0;
    if (h || e != err)
        WMT_FAIL("line %d: create: %p, last error %lu, expected %lu", line, (void *)h,
                 (unsigned long)e, (unsigned long)err);
    else
        wmt_passed++;
    if (h)
        CloseHandle(h);
    CHECK_EQ(count_dir("/proc/self/fd", ""), fds);
    CHECK_EQ(count_dir("/dev/shm", shm + 1), 0);
}

/* The name works normally afterwards: created fresh, found by name, gone after closing. */
static void name_still_works(void)
{
    SetLastError(0xdeadbeef);
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 8192, name);
    CHECK(h != NULL && GetLastError() == 0);
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    CHECK(o != NULL);
    CHECK(h && CloseHandle(h));
    CHECK(o && CloseHandle(o));
    CHECK_EQ(count_dir("/dev/shm", shm + 1), 0);
    CHECK_EQ(count_dir("/proc/self/fd", ""), fds);
}

int main(void)
{
    char path[200];

    snprintf(name, sizeof(name), "winmem-inject-%lu", (unsigned long)getpid());
    snprintf(shm, sizeof(shm), "/winmem-%u-L-%s", (unsigned)geteuid(), name);
    fds = count_dir("/proc/self/fd", "");
    name_still_works(); /* warm up the handle table and the name table */
    REQUIRE(fds > 2);

    /* Sizing a new object fails: ENOMEM. */
    wm_os_sys.ftruncate = bad_ftruncate;
    fail_errno = ENOMEM, fail_nth = 1;
    create_fails(ERROR_NOT_ENOUGH_MEMORY, __LINE__);
    name_still_works();

    /* Taking the name's shared lock fails. */
    wm_os_sys.flock = bad_flock;
    fail_errno = ENOLCK, fail_nth = 1;
    create_fails(ERROR_NO_SYSTEM_RESOURCES, __LINE__);
    name_still_works();

    /* Another process holds the name (a child that made it, 12 KiB, and waits); measuring
     * the object fails, for a create and for an open. */
    int go[2], ready[2];
    REQUIRE(pipe(go) == 0 && pipe(ready) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        char c = 0;
        close(go[1]), close(ready[0]); /* so the parent closing go[1] is an end of file here */
        HANDLE mine =
            CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 12288, name);
        if (write(ready[1], &c, 1) != 1 || !mine)
            _exit(1);
        ssize_t r = read(go[0], &c, 1); /* until the parent is done */
        _exit(r < 0);
    }
    char c;
    close(go[0]), close(ready[1]);
    fds += 2; /* go[1] and ready[0] stay open until the child is let go */
    REQUIRE(read(ready[0], &c, 1) == 1);
    wm_os_sys.fstat = bad_fstat;
    fail_errno = EIO, fail_nth = 1;
    SetLastError(0xdeadbeef);
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 8192, name);
    DWORD e = GetLastError();
    CHECK(h == NULL && e != 0 && e != ERROR_ALREADY_EXISTS);
    wm_os_sys.fstat = bad_fstat;
    fail_nth = 1;
    SetLastError(0xdeadbeef);
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    e = GetLastError();
    wm_os_sys = wm_os_sys_default;
    CHECK(o == NULL && e != 0);
    CHECK_EQ(count_dir("/proc/self/fd", ""), fds);
    /* Nothing half-made was remembered: the other holder's object, at its size. */
    h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 8192, name);
    CHECK(h != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    char *v = h ? MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0) : NULL;
    MEMORY_BASIC_INFORMATION m;
    CHECK(v && VirtualQuery(v, &m, sizeof(m)) == sizeof(m) && m.RegionSize == 12288);
    CHECK(v && UnmapViewOfFile(v));
    CHECK(h && CloseHandle(h));
    CHECK_EQ(count_dir("/dev/shm", shm + 1), 1); /* the other holder keeps it */
    /* The other process ends without closing its handle: the name is stale. */
    close(go[1]);
    int status;
    CHECK_EQ(waitpid(child, &status, 0), child);
    close(ready[0]);
    fds -= 2;
    CHECK_FAILS(OpenFileMappingA(FILE_MAP_READ, FALSE, name), ERROR_FILE_NOT_FOUND);
    CHECK_EQ(count_dir("/dev/shm", shm + 1), 0); /* found stale and removed */
    name_still_works();

    /* A file section that would grow its file, but no descriptor is left for the section:
     * the file keeps its size. */
    snprintf(path, sizeof(path), "/tmp/winmem-inject-%lu", (unsigned long)getpid());
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    REQUIRE(f != INVALID_HANDLE_VALUE);
    LARGE_INTEGER size;
    REQUIRE(SetFilePointerEx(f, (LARGE_INTEGER){ .QuadPart = 4096 }, NULL, FILE_BEGIN) &&
            SetEndOfFile(f));
    struct rlimit rl, tight;
    REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    tight = rl;
    tight.rlim_cur = (rlim_t)count_dir("/proc/self/fd", "") + 1; /* + the directory's own */
    /* Fill what is left below the limit, so the section's dup finds none. */
    int spare[8], nspare = 0;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &tight) == 0);
    while (nspare < 8 && (spare[nspare] = dup(0)) >= 0)
        nspare++;
    CHECK_FAILS(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 8192, NULL),
                ERROR_NO_SYSTEM_RESOURCES);
    while (nspare > 0)
        close(spare[--nspare]);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(GetFileSizeEx(f, &size) && size.QuadPart == 4096);
    CloseHandle(f);
    unlink(path);
    return wmt_report();
}
