/*
 * mapping_durability.c - file mappings across processes (Linux):
 *  - a child writes through a view of a file, flushes it (FlushViewOfFile + FlushFileBuffers),
 *    tells the parent through a pipe and is SIGKILLed: the parent finds the data with read(2);
 *  - a named paging-file section shared with other processes, each a fresh exec of this
 *    program (so its winmem state is its own, not a fork's copy): OpenFileMapping sees what
 *    the parent wrote and writes back; CreateFileMapping of the same name reports
 *    ERROR_ALREADY_EXISTS and the existing size; the name goes when the last handle in any
 *    process closes, and a killed creator leaves no name behind.
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#define SECTION_PAGES 3
static const char parent_msg[] = "written by the parent";
static const char child_msg[] = "written by the child";

/* ---- child programs, run as "<self> <mode> <name>" ---------------------------------------- */

/* "open": OpenFileMapping, check the parent's data, write back. */
static int child_open(const char *name)
{
    HANDLE m = OpenFileMappingA(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);
    if (!m) {
        fprintf(stderr, "OpenFileMappingA: %lu\n", (unsigned long)GetLastError());
        return 10;
    }
    char *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    if (!v)
        return 11;
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(v, &mbi, sizeof(mbi)) != sizeof(mbi) ||
        mbi.RegionSize != SECTION_PAGES * 4096 || mbi.Type != MEM_MAPPED)
        return 12;
    if (strcmp(v, parent_msg) != 0) {
        fprintf(stderr, "child read \"%.40s\"\n", v);
        return 13;
    }
    strcpy(v + 4096, child_msg);
    return UnmapViewOfFile(v) && CloseHandle(m) ? 0 : 14;
}

/* "create": CreateFileMapping of the existing name, asking for a bigger size. */
static int child_create(const char *name)
{
    SetLastError(0xdeadbeef);
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x100000, name);
    if (!m)
        return 20;
    if (GetLastError() != ERROR_ALREADY_EXISTS) {
        fprintf(stderr, "last error %lu\n", (unsigned long)GetLastError());
        return 21;
    }
    char *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    MEMORY_BASIC_INFORMATION mbi;
    if (!v || VirtualQuery(v, &mbi, sizeof(mbi)) != sizeof(mbi))
        return 22;
    if (mbi.RegionSize != SECTION_PAGES * 4096) {
        fprintf(stderr, "view size 0x%zx\n", (size_t)mbi.RegionSize);
        return 23;
    }
    if (strcmp(v, parent_msg) != 0)
        return 24;
    strcpy(v + 2 * 4096, child_msg);
    return 0; /* exiting closes the handle and the view */
}

/* "missing": the name is gone. */
static int child_missing(const char *name)
{
    SetLastError(0xdeadbeef);
    HANDLE m = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    if (m)
        return 30;
    if (GetLastError() != ERROR_FILE_NOT_FOUND) {
        fprintf(stderr, "last error %lu\n", (unsigned long)GetLastError());
        return 31;
    }
    return 0;
}

/* "hang": create the name, write to it, say so on stdout, wait to be killed. */
static int child_hang(const char *name)
{
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
    char *v = m ? MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    if (!v || GetLastError() != 0)
        return 40;
    strcpy(v, child_msg);
    if (write(STDOUT_FILENO, "r", 1) != 1)
        return 41;
    for (;;)
        pause();
}

/* ---- the parent --------------------------------------------------------------------------- */

static const char *child_mode, *child_name;

static void exec_child(void)
{
    execl("/proc/self/exe", "mapping_durability", child_mode, child_name, (char *)NULL);
    _exit(127);
}

static void run_exec(const char *mode, const char *name, struct child *c)
{
    child_mode = mode;
    child_name = name;
    run_case(mode, exec_child, CORE_OFF, 30, c);
}

/* Fork fn with stdout on a pipe; wait for one byte from it, then SIGKILL the child. */
static int kill_after_ready(void (*fn)(void), int *status)
{
    int fds[2];
    char b;
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDOUT_FILENO);
        alarm(30);
        fn();
        _exit(99);
    }
    close(fds[1]);
    ssize_t n;
    while ((n = read(fds[0], &b, 1)) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return n == 1 ? 0 : -1;
}

static char dur_path[200];

static void durable_writer(void)
{
    HANDLE f = CreateFileA(dur_path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    HANDLE m = f != INVALID_HANDLE_VALUE
                   ? CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0x20000, NULL)
                   : NULL;
    unsigned char *v = m ? MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    if (!v)
        _exit(50);
    for (size_t i = 0; i < 0x20000; i++)
        v[i] = (unsigned char)(i * 7 + 3);
    if (!FlushViewOfFile(v, 0) || !FlushFileBuffers(f))
        _exit(51);
    if (write(STDOUT_FILENO, "f", 1) != 1)
        _exit(52);
    for (;;)
        pause();
}

static void test_durability(void)
{
    int status = 0;
    snprintf(dur_path, sizeof(dur_path), "/tmp/winmem-dur-%d", (int)getpid());
    CHECK_EQ(kill_after_ready(durable_writer, &status), 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int fd = open(dur_path, O_RDONLY);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    static unsigned char buf[0x20000];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(buf) && (n = read(fd, buf + got, sizeof(buf) - got)) > 0)
        got += (size_t)n;
    close(fd);
    CHECK_EQ(got, sizeof(buf));
    size_t bad = 0;
    for (size_t i = 0; i < got; i++)
        bad += buf[i] != (unsigned char)(i * 7 + 3);
    CHECK_EQ(bad, 0);
    unlink(dur_path);
}

static char hang_name[100];
static void hang_child(void)
{
    child_mode = "hang";
    child_name = hang_name;
    exec_child();
}

static int shm_exists(const char *name)
{
    char path[200];
    struct stat st;
    snprintf(path, sizeof(path), "/dev/shm/winmem-L-%s", name);
    return stat(path, &st) == 0;
}

static void test_shared(void)
{
    char name[100];
    struct child c;
    snprintf(name, sizeof(name), "winmem-dur-%d-shared", (int)getpid());

    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                  SECTION_PAGES * 4096 - 100, name);
    REQUIRE_VOID(m != NULL);
    volatile char *v = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    char *w = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    REQUIRE_VOID(v && w);
    strcpy(w, parent_msg);

    run_exec("open", name, &c);
    CHECK_EXIT(c, 0);
    CHECK(strcmp((const char *)v + 4096, child_msg) == 0);
    run_exec("create", name, &c);
    CHECK_EXIT(c, 0);
    CHECK(strcmp((const char *)v + 2 * 4096, child_msg) == 0);

    /* The children are gone; this process still holds the name. */
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    CHECK(o != NULL);
    CloseHandle(o);
    /* Its last handle closes: the name is gone everywhere, the views stay. */
    CHECK(CloseHandle(m));
    run_exec("missing", name, &c);
    CHECK_EXIT(c, 0);
    CHECK(!shm_exists(name));
    CHECK(strcmp((const char *)v, parent_msg) == 0);
    UnmapViewOfFile((const void *)v);
    UnmapViewOfFile(w);

    /* A creator that was killed leaves no name behind. */
    int status = 0;
    snprintf(hang_name, sizeof(hang_name), "winmem-dur-%d-killed", (int)getpid());
    CHECK_EQ(kill_after_ready(hang_child, &status), 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* A dead process's name is gone: nobody holds it. */
    SetLastError(0xdeadbeef);
    HANDLE stale = OpenFileMappingA(FILE_MAP_READ, FALSE, hang_name);
    CHECK(stale == NULL);
    CHECK_EQ(GetLastError(), ERROR_FILE_NOT_FOUND);
    if (stale)
        CloseHandle(stale);
    SetLastError(0xdeadbeef);
    m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, hang_name);
    CHECK(m != NULL);
    CHECK_EQ(GetLastError(), 0);
    v = m ? MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0) : NULL;
    CHECK(v != NULL);
    /* A new object under a dead process's name starts zeroed. */
    CHECK(v != NULL && v[0] == 0);
    if (v)
        UnmapViewOfFile((const void *)v);
    if (m)
        CloseHandle(m);
    CHECK(!shm_exists(hang_name));
}

int main(int argc, char **argv)
{
    if (argc == 3) {
        if (strcmp(argv[1], "open") == 0)
            return child_open(argv[2]);
        if (strcmp(argv[1], "create") == 0)
            return child_create(argv[2]);
        if (strcmp(argv[1], "missing") == 0)
            return child_missing(argv[2]);
        if (strcmp(argv[1], "hang") == 0)
            return child_hang(argv[2]);
        return 126;
    }
    test_durability(); /* first: its child is forked before this process uses winmem */
    test_shared();
    return wmt_report();
}
