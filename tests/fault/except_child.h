/*
 * except_child.h - run one exception case in a fork()ed child and look at how it ended: the
 * wait status and everything it wrote to stderr.  The child sets RLIMIT_CORE (0 unless the
 * case asks for core dumps: winmem dies by the signal instead of exiting when core dumps are
 * enabled) and an alarm before anything else, so a hang ends as SIGALRM.  The parent never
 * calls winmem, so every child starts with no signal handler of winmem's installed.
 * Include after defining _GNU_SOURCE.
 */
#ifndef EXCEPT_CHILD_H
#define EXCEPT_CHILD_H

#include <windows.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wmtest.h"

struct child {
    int status;
    char err[8192];
};

enum { CORE_OFF = 0, CORE_ON = 1 };

/* Run fn in a child; 0 on success, -1 when the harness itself failed. */
static inline int run_child(void (*fn)(void), int core, unsigned timeout, struct child *c)
{
    int fds[2];

    memset(c, 0, sizeof(*c));
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct rlimit rl = { 0, 0 };
        if (core == CORE_ON) {
            getrlimit(RLIMIT_CORE, &rl);
            rl.rlim_cur = rl.rlim_max;
        }
        if (setrlimit(RLIMIT_CORE, &rl) != 0)
            _exit(120);
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        alarm(timeout);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fds[0], c->err + n, sizeof(c->err) - 1 - n);
        if (r > 0 && n + (size_t)r < sizeof(c->err) - 1) {
            n += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0)
            n += (size_t)r; /* full: stop collecting, the child may block on the pipe */
        break;
    }
    c->err[n] = 0;
    close(fds[0]);
    while (waitpid(pid, &c->status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static inline void describe(const struct child *c, char *buf, size_t len)
{
    if (WIFEXITED(c->status))
        snprintf(buf, len, "exit status %d (0x%x)", WEXITSTATUS(c->status), WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(buf, len, "signal %d%s", WTERMSIG(c->status),
                 WTERMSIG(c->status) == SIGALRM ? " (timed out)" : "");
    else
        snprintf(buf, len, "status 0x%x", c->status);
}

/* The child ended with exit status want. */
#define CHECK_EXIT(c, want)                                                                \
    do {                                                                                   \
        if (WIFEXITED((c).status) && WEXITSTATUS((c).status) == (want)) {                  \
            wmt_passed++;                                                                  \
        } else {                                                                           \
            char wmt_d[64];                                                                \
            describe(&(c), wmt_d, sizeof(wmt_d));                                          \
            WMT_FAIL("child: %s, expected exit status %d; its stderr:\n%s", wmt_d, (want), \
                     (c).err);                                                             \
        }                                                                                  \
    } while (0)

/* The child was killed by signal want. */
#define CHECK_SIGNAL(c, want)                                                                   \
    do {                                                                                        \
        if (WIFSIGNALED((c).status) && WTERMSIG((c).status) == (want)) {                        \
            wmt_passed++;                                                                       \
        } else {                                                                                \
            char wmt_d[64];                                                                     \
            describe(&(c), wmt_d, sizeof(wmt_d));                                               \
            WMT_FAIL("child: %s, expected signal %d; its stderr:\n%s", wmt_d, (want), (c).err); \
        }                                                                                       \
    } while (0)

/* The child's stderr starts with / contains s. */
#define CHECK_ERR_STARTS(c, s)                                                        \
    do {                                                                              \
        if (strncmp((c).err, (s), strlen(s)) == 0)                                    \
            wmt_passed++;                                                             \
        else                                                                          \
            WMT_FAIL("child's stderr does not start with \"%s\":\n%s", (s), (c).err); \
    } while (0)
#define CHECK_ERR_HAS(c, s)                                             \
    do {                                                                \
        if (strstr((c).err, (s)))                                       \
            wmt_passed++;                                               \
        else                                                            \
            WMT_FAIL("child's stderr lacks \"%s\":\n%s", (s), (c).err); \
    } while (0)

/* ThreadSanitizer runs every signal handler with all signals blocked, so a fault inside a
 * handler cannot nest under it (the kernel kills the process at once).  Cases that nest
 * faults are skipped there, with a line saying so. */
#if defined(__SANITIZE_THREAD__)
#define EXCEPT_CHILD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EXCEPT_CHILD_TSAN 1
#endif
#endif
#ifndef EXCEPT_CHILD_TSAN
#define EXCEPT_CHILD_TSAN 0
#endif

static inline int can_nest(const char *name)
{
    if (EXCEPT_CHILD_TSAN)
        fprintf(stderr, "%s: skipped under ThreadSanitizer (it blocks nested signals)\n", name);
    return !EXCEPT_CHILD_TSAN;
}

/* Run a case; false (counted as a failure) when the harness itself failed. */
static inline int run_case(const char *name, void (*fn)(void), int core, unsigned timeout,
                           struct child *c)
{
    if (run_child(fn, core, timeout, c) == 0)
        return 1;
    WMT_FAIL("could not run %s in a child: %s", name, strerror(errno));
    return 0;
}

/* Async-signal-safe: a fixed line on stderr (handlers report through it). */
static inline void say(const char *s)
{
    ssize_t ignored = write(STDERR_FILENO, s, strlen(s));
    (void)ignored;
}

/* One committed page of winmem memory with protection prot (its contents zero). */
static inline volatile int *page_with(DWORD prot)
{
    return VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, prot);
}

/* An address nobody has mapped: a page mapped and unmapped again. */
static inline volatile int *unmapped(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || munmap(p, 4096) != 0)
        _exit(121);
    return p;
}

/* A vectored handler that itself reads NULL, every time: a program whose handler faults
 * forever, which winmem must end with its report once the nesting limit is reached. */
static int *volatile null_pointer;

/* Not instrumented: the NULL dereference is the point, and must reach the MMU. */
__attribute__((noinline, no_sanitize("undefined"))) static int read_null(void)
{
    return *null_pointer;
}

static inline LONG CALLBACK faulting_handler(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    return read_null() ? EXCEPTION_CONTINUE_EXECUTION : EXCEPTION_CONTINUE_SEARCH;
}

static inline void fault_in_handler(void)
{
    volatile int *p = page_with(PAGE_NOACCESS);
    if (!p || !AddVectoredExceptionHandler(1, faulting_handler))
        _exit(122);
    (void)p[0];
    say("resumed\n");
}

#endif
