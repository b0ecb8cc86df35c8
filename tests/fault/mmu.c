/*
 * Fault: protections are enforced by the MMU.  For every base protection (and PAGE_GUARD),
 * a child process reads, writes or executes the page; the parent checks that the child was
 * killed by SIGSEGV exactly when Windows raises an access violation, and exited normally
 * otherwise.  One child per case, so a fault never takes the test runner down.
 */
#include <windows.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wmtest.h"

enum { READ, WRITE, EXEC };
static const char *const op_name[] = { "read", "write", "execute" };

/* 1 when the access faulted in a child, 0 when it completed, -1 on a harness error. */
static int faults(DWORD prot, int op)
{
    unsigned char *p = VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    DWORD old;

    if (!p)
        return -1;
    p[0] = 0xc3; /* x86-64 "ret", so executing the page returns at once */
    if (!VirtualProtect(p, 4096, prot, &old))
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Die of the fault itself, even when a sanitizer has a SIGSEGV handler installed. */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        if (op == READ)
            (void)*(volatile unsigned char *)p;
        else if (op == WRITE)
            *(volatile unsigned char *)p = 1;
        else
            ((void (*)(void))(void *)p)();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    VirtualFree(p, 0, MEM_RELEASE);
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS))
        return 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    return -1;
}

struct expect {
    DWORD prot;
    int read, write, exec; /* 1 = access violation on Windows, -1 = hardware dependent */
};

static const struct expect table[] = {
    { PAGE_NOACCESS, 1, 1, 1 },
    { PAGE_READONLY, 0, 1, 1 },
    { PAGE_READWRITE, 0, 0, 1 },
    /* x86-64 cannot make a page executable but unreadable without protection keys, and
     * Windows documents no read fault for PAGE_EXECUTE: reading is not checked. */
    { PAGE_EXECUTE, -1, 1, 0 },
    { PAGE_EXECUTE_READ, 0, 1, 0 },
    { PAGE_EXECUTE_READWRITE, 0, 0, 0 },
    { PAGE_READWRITE | PAGE_GUARD, 1, 1, 1 },
    { PAGE_EXECUTE_READ | PAGE_GUARD, 1, 1, 1 },
};

int main(void)
{
#if !defined(__x86_64__)
    printf("execute cases need x86-64 machine code; skipping them\n");
#endif
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const int want[3] = { table[i].read, table[i].write, table[i].exec };
        for (int op = READ; op <= EXEC; op++) {
#if !defined(__x86_64__)
            if (op == EXEC)
                continue;
#endif
            if (want[op] < 0)
                continue;
            int got = faults(table[i].prot, op);
            if (got == want[op])
                wmt_passed++;
            else
                WMT_FAIL("protection 0x%lx, %s: faulted=%d, Windows faults=%d",
                         (unsigned long)table[i].prot, op_name[op], got, want[op]);
        }
    }
    return wmt_report();
}
