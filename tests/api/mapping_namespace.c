/*
 * mapping_namespace.c - the named-object namespace under hostile conditions: a name another
 * user (or a careless one) put in /dev/shm first is refused, never adopted; another process
 * polling OpenFileMapping never removes a live name; names left by a process that crashed are
 * reclaimed; another process's section keeps its protection; names of any length work, and
 * one too long fails instead of aliasing another; a size that wraps fails.  Linux-only (it
 * looks at /dev/shm and forks), so it does nothing on Windows.
 */
#ifndef _WIN32
#define _DEFAULT_SOURCE /* kill, usleep, uid_t under -std=c11 */
#endif
#include "apitest.h"

#ifndef _WIN32
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char shm_prefix[64];

static void shm_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "/dev/shm/winmem-%u-L-%s", (unsigned)geteuid(), name);
}

static bool shm_exists(const char *name)
{
    char p[300];
    shm_path(p, sizeof(p), name);
    return access(p, F_OK) == 0;
}

static int wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- crash leftovers (first: this process has not used the namespace yet) ------------------ */

static void test_crash_leftovers(void)
{
    char name[80];
    snprintf(name, sizeof(name), "ns-crash-%d", (int)getpid());
    pid_t pid = fork();
    REQUIRE_VOID(pid >= 0);
    if (pid == 0) {
        HANDLE h =
            CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 << 20, name);
        if (!h)
            _exit(1);
        kill(getpid(), SIGKILL); /* ends without closing anything */
        _exit(2);
    }
    CHECK_EQ(wait_child(pid), 128 + SIGKILL);
    CHECK(shm_exists(name)); /* the kernel released its lock; the name stays for now */
    /* The next process to use the namespace (here: this one, for another name) reclaims it. */
    HANDLE other = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096,
                                      "ns-crash-unrelated");
    CHECK(other != NULL);
    CHECK(!shm_exists(name));
    if (other)
        CloseHandle(other);
}

/* ---- squatters ----------------------------------------------------------------------------- */

static void squat(const char *name, mode_t mode, uid_t uid)
{
    char p[300];
    shm_path(p, sizeof(p), name);
    pid_t pid = fork();
    REQUIRE_VOID(pid >= 0);
    if (pid == 0) {
        if (uid != geteuid() && setuid(uid) != 0)
            _exit(3);
        int fd = open(p, O_RDWR | O_CREAT | O_EXCL, mode);
        if (fd < 0 || fchmod(fd, mode) != 0 || ftruncate(fd, 8192) != 0 ||
            write(fd, "planted", 7) != 7)
            _exit(4);
        _exit(0);
    }
    CHECK_EQ(wait_child(pid), 0);
}

static void squatter_refused(const char *name)
{
    char p[300];
    struct stat before, after;
    shm_path(p, sizeof(p), name);
    REQUIRE_VOID(stat(p, &before) == 0);
    CHECK_FAILS(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name),
                ERROR_ACCESS_DENIED);
    CHECK_FAILS(OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name), ERROR_ACCESS_DENIED);
    /* Left as it was: not adopted, not removed, not written. */
    CHECK(stat(p, &after) == 0 && after.st_ino == before.st_ino &&
          after.st_size == before.st_size && after.st_mtime == before.st_mtime);
    unlink(p);
}

static void test_squatters(void)
{
    char name[80];
    /* This user's own file, but not as winmem makes them (mode 0666). */
    snprintf(name, sizeof(name), "ns-squat-mode-%d", (int)getpid());
    squat(name, 0666, geteuid());
    squatter_refused(name);
    /* Another user's file under our name: needs root to make one. */
    if (geteuid() != 0) {
        fprintf(stderr, "mapping_namespace: not root, so the other-user case is skipped\n");
        return;
    }
    snprintf(name, sizeof(name), "ns-squat-user-%d", (int)getpid());
    squat(name, 0666, 65534);
    squatter_refused(name);
}

/* ---- a poller in another process never removes a live name ---------------------------------- */

static void test_poller(void)
{
    enum { N = 300 };
    if (!wmt_descriptors_for("test_poller", N))
        return;
    static HANDLE h[N];
    char name[80];
    int stop[2];

    REQUIRE_VOID(pipe(stop) == 0);
    pid_t pid = fork();
    REQUIRE_VOID(pid >= 0);
    if (pid == 0) {
        close(stop[1]);
        fcntl(stop[0], F_SETFL, O_NONBLOCK);
        char c;
        while (read(stop[0], &c, 1) < 0) { /* until the parent closes its end */
            for (int i = 0; i < N; i++) {
                snprintf(name, sizeof(name), "ns-poll-%d-%d", (int)getppid(), i);
                HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
                if (o)
                    CloseHandle(o);
            }
        }
        _exit(0);
    }
    close(stop[0]);
    int made = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "ns-poll-%d-%d", (int)getpid(), i);
        h[i] = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
        made += h[i] != NULL;
    }
    CHECK_EQ(made, N);
    usleep(100000);
    close(stop[1]);
    CHECK_EQ(wait_child(pid), 0);
    /* Every name is still there, and another process finds each one. */
    int missing = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "ns-poll-%d-%d", (int)getpid(), i);
        missing += !shm_exists(name);
    }
    CHECK_EQ(missing, 0);
    pid = fork();
    REQUIRE_VOID(pid >= 0);
    if (pid == 0) {
        int lost = 0;
        for (int i = 0; i < N; i++) {
            snprintf(name, sizeof(name), "ns-poll-%d-%d", (int)getppid(), i);
            HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
            lost += o == NULL;
        }
        _exit(lost > 100 ? 100 : lost);
    }
    CHECK_EQ(wait_child(pid), 0);
    for (int i = 0; i < N; i++)
        if (h[i])
            CloseHandle(h[i]);
    snprintf(name, sizeof(name), "ns-poll-%d-0", (int)getpid());
    CHECK(!shm_exists(name)); /* gone with the last handle */
}

/* ---- another process's section keeps its protection and size -------------------------------- */

static void test_other_process_protection(void)
{
    char name[80];
    int ready[2], go[2];
    snprintf(name, sizeof(name), "ns-prot-%d", (int)getpid());
    REQUIRE_VOID(pipe(ready) == 0 && pipe(go) == 0);
    pid_t pid = fork();
    REQUIRE_VOID(pid >= 0);
    if (pid == 0) {
        char c = 0;
        close(ready[0]), close(go[1]);
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, 12288, name);
        if (!h || write(ready[1], &c, 1) != 1)
            _exit(1);
        _exit(read(go[0], &c, 1) < 0);
    }
    close(ready[1]), close(go[0]);
    char c;
    REQUIRE_VOID(read(ready[0], &c, 1) == 1);
    HANDLE o = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name);
    CHECK(o != NULL);
    if (o) {
        /* The creator made it read-only: no writable view, though the handle asked for all
         * access (the section's protection refuses it: STATUS_SECTION_PROTECTION). */
        CHECK_FAILS(MapViewOfFile(o, FILE_MAP_WRITE, 0, 0, 0), ERROR_INVALID_PARAMETER);
        void *v = MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0);
        MEMORY_BASIC_INFORMATION m;
        CHECK(v && VirtualQuery(v, &m, sizeof(m)) == sizeof(m) && m.RegionSize == 12288 &&
              m.Protect == PAGE_READONLY);
        if (v)
            UnmapViewOfFile(v);
        CloseHandle(o);
    }
    /* Creating it again returns that object, read-only, at its size. */
    SetLastError(0xdeadbeef);
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
    CHECK(h != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    if (h) {
        CHECK_FAILS(MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0), ERROR_ACCESS_DENIED);
        CloseHandle(h);
    }
    close(go[1]), close(ready[0]);
    CHECK_EQ(wait_child(pid), 0);
}

/* ---- names of any length -------------------------------------------------------------------- */

static WCHAR *wide_name(size_t n, const char *tail)
{
    size_t t = strlen(tail);
    WCHAR *w = malloc((n + 1) * sizeof(WCHAR));
    if (!w)
        return NULL;
    for (size_t i = 0; i < n; i++)
        w[i] = i >= n - t ? (WCHAR)tail[i - (n - t)] : (WCHAR)('a' + i % 26);
    w[n] = 0;
    return w;
}

static void test_long_names(void)
{
    /* 1,000 ASCII characters, and 121 with 100 CJK ones: created, found by another
     * process, the same object. */
    WCHAR *longw = wide_name(1000, "-long");
    WCHAR cjk[230];
    for (int i = 0; i < 121; i++)
        cjk[i] = (WCHAR)('A' + i % 26);
    for (int i = 0; i < 100; i++)
        cjk[121 + i] = (WCHAR)(0x4e00 + i);
    cjk[221] = 0;
    REQUIRE_VOID(longw != NULL);
    const WCHAR *names[2] = { longw, cjk };
    for (int k = 0; k < 2; k++) {
        SetLastError(0xdeadbeef);
        HANDLE h =
            CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, names[k]);
        CHECK(h != NULL && GetLastError() == 0);
        char *v = h ? MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0) : NULL;
        if (v)
            v[0] = (char)('x' + k);
        pid_t pid = fork();
        REQUIRE_VOID(pid >= 0);
        if (pid == 0) {
            HANDLE o = OpenFileMappingW(FILE_MAP_READ, FALSE, names[k]);
            char *r = o ? MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0) : NULL;
            _exit(r && r[0] == (char)('x' + k) ? 0 : 1);
        }
        CHECK_EQ(wait_child(pid), 0);
        if (v)
            UnmapViewOfFile(v);
        if (h)
            CloseHandle(h);
    }
    free(longw);

    /* Longer than a UNICODE_STRING holds: refused, never taken for the name it would wrap
     * to (its last few characters) nor made nameless. */
    HANDLE tail = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, "abc");
    CHECK(tail != NULL);
    WCHAR *wrap = wide_name(32768 + 3, "abc"), *exact = wide_name(32768, "xyz");
    REQUIRE_VOID(wrap && exact);
    CHECK_FAILS(CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, wrap),
                ERROR_FILENAME_EXCED_RANGE);
    CHECK_FAILS(OpenFileMappingW(FILE_MAP_READ, FALSE, wrap), ERROR_FILENAME_EXCED_RANGE);
    CHECK_FAILS(CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, exact),
                ERROR_FILENAME_EXCED_RANGE);
    /* The longest a UNICODE_STRING holds works. */
    exact[32767] = 0;
    HANDLE big = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, exact);
    CHECK(big != NULL);
    HANDLE again = OpenFileMappingW(FILE_MAP_READ, FALSE, exact);
    CHECK(again != NULL);
    if (again)
        CloseHandle(again);
    if (big)
        CloseHandle(big);
    free(wrap);
    free(exact);
    if (tail)
        CloseHandle(tail);
    /* The A forms take MAX_PATH characters. */
    char a[400];
    memset(a, 'q', sizeof(a) - 1);
    a[sizeof(a) - 1] = 0;
    CHECK_FAILS(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, a),
                ERROR_FILENAME_EXCED_RANGE);
    a[MAX_PATH] = 0;
    HANDLE ok = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, a);
    CHECK(ok != NULL);
    if (ok)
        CloseHandle(ok);
}

/* fork() while another thread creates and closes named sections: the child can use names. */
static atomic_int stop_naming;

static void *naming(void *arg)
{
    char name[64];
    snprintf(name, sizeof(name), "ns-fork-%d", (int)getpid());
    (void)arg;
    while (!atomic_load(&stop_naming)) {
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
        HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
        if (o)
            CloseHandle(o);
        if (h)
            CloseHandle(h);
    }
    return NULL;
}

static void test_fork_while_naming(void)
{
    pthread_t t;
    REQUIRE_VOID(pthread_create(&t, NULL, naming, NULL) == 0);
    int bad = 0;
    for (int i = 0; i < 100; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10);
            HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096,
                                          "ns-fork-child");
            HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, "ns-fork-child");
            _exit(h && o && CloseHandle(o) && CloseHandle(h) ? 0 : 1);
        }
        bad += pid < 0 || wait_child(pid) != 0;
    }
    atomic_store(&stop_naming, 1);
    pthread_join(t, NULL);
    CHECK_EQ(bad, 0);
}

/* A forked child that closes its inherited handle, and exits normally (atexit runs), does
 * not take the name away from the parent that still holds it. */
static void test_fork_child_lets_go(void)
{
    char name[64];
    snprintf(name, sizeof(name), "ns-inherit-%d", (int)getpid());
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
    REQUIRE_VOID(h != NULL);
    pid_t pid = fork();
    REQUIRE_VOID(pid >= 0);
    if (pid == 0) {
        CloseHandle(h);
        exit(0);
    }
    CHECK_EQ(wait_child(pid), 0);
    CHECK(shm_exists(name)); /* the parent still holds it */
    CHECK(CloseHandle(h));
    CHECK(!shm_exists(name));
}

static void test_sizes(void)
{
    CHECK_FAILS(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0xffffffff,
                                   0xffffffff, NULL),
                ERROR_NOT_ENOUGH_MEMORY);
    CHECK_FAILS(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0xffffffff,
                                   0xffffffff, "ns-size"),
                ERROR_NOT_ENOUGH_MEMORY);
    CHECK(!shm_exists("ns-size"));
}
#endif

int main(void)
{
#ifndef _WIN32
    snprintf(shm_prefix, sizeof(shm_prefix), "winmem-%u-", (unsigned)geteuid());
    test_crash_leftovers(); /* first: before this process has used the namespace */
    at_init();
    test_squatters();
    test_poller();
    test_other_process_protection();
    test_long_names();
    test_sizes();
    test_fork_while_naming();
    test_fork_child_lets_go();
#endif
    return wmt_report();
}
