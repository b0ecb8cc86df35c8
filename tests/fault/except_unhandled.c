/*
 * Fault: how an unhandled exception ends the process.  With no handler, an access violation
 * ends it with exit status 5 (the low byte of 0xC0000005) and one "winmem: unhandled
 * exception" line on stderr; a guard page touch with 1; RaiseException with the code's low
 * byte, or 255 when that is 0.  A top-level filter returning EXCEPTION_EXECUTE_HANDLER (or
 * CONTINUE_SEARCH: default handling) ends it the same way, after running.  With core dumps
 * enabled the process dies by the signal instead.  One child per case (except_child.h).
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

static void av_read_noaccess(void)
{
    volatile int *p = page_with(PAGE_NOACCESS);
    if (!p)
        _exit(122);
    (void)p[3];
    say("resumed after an unhandled access violation\n");
}

static void av_write_unmapped(void)
{
    if (!VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE))
        _exit(122);               /* installs winmem's handlers */
    volatile int *p = unmapped(); /* last: nothing may map the address again before the touch */
    p[1] = 1;
    say("resumed after an unhandled access violation\n");
}

static void guard_read(void)
{
    volatile int *p = page_with(PAGE_READWRITE | PAGE_GUARD);
    if (!p)
        _exit(122);
    (void)p[0];
    say("resumed after an unhandled guard page violation\n");
}

static void raise_e0000001(void)
{
    RaiseException(0xE0000001u, 0, 0, NULL);
    say("RaiseException returned\n");
}

static void raise_e0000100(void)
{
    RaiseException(0xE0000100u, 0, 0, NULL);
    say("RaiseException returned\n");
}

static LONG WINAPI filter_execute(EXCEPTION_POINTERS *ep)
{
    say(ep->ExceptionRecord->ExceptionCode == 0xE0000042u ? "filter saw 0xe0000042\n"
        : ep->ExceptionRecord->ExceptionCode == EXCEPTION_ACCESS_VIOLATION
            ? "filter saw an access violation\n"
            : "filter saw another code\n");
    return EXCEPTION_EXECUTE_HANDLER;
}

static LONG WINAPI filter_search(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    say("filter ran\n");
    return EXCEPTION_CONTINUE_SEARCH;
}

static void filter_execute_raise(void)
{
    SetUnhandledExceptionFilter(filter_execute);
    RaiseException(0xE0000042u, 0, 0, NULL);
    say("RaiseException returned\n");
}

static void filter_execute_fault(void)
{
    volatile int *p = page_with(PAGE_NOACCESS);
    if (!p)
        _exit(122);
    SetUnhandledExceptionFilter(filter_execute);
    p[0] = 1;
    say("resumed after the filter said EXECUTE_HANDLER\n");
}

static void filter_search_raise(void)
{
    SetUnhandledExceptionFilter(filter_search);
    RaiseException(0xE0000043u, 0, 0, NULL);
    say("RaiseException returned\n");
}

/* A vectored handler that declines changes nothing. */
static LONG CALLBACK decline(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    say("handler declined\n");
    return EXCEPTION_CONTINUE_SEARCH;
}

static void declined_fault(void)
{
    volatile int *p = page_with(PAGE_READONLY);
    if (!p || !AddVectoredExceptionHandler(1, decline))
        _exit(122);
    p[0] = 1;
    say("resumed after a declined access violation\n");
}

/* Core dumps enabled: winmem keeps them working by dying of the signal itself.  The child
 * works in a scratch directory so a core file lands there and is removed. */
static char scratch[64];

static void av_with_core(void)
{
    if (chdir(scratch) != 0)
        _exit(123);
    av_write_unmapped();
}

static void raise_with_core(void)
{
    if (chdir(scratch) != 0)
        _exit(123);
    raise_e0000001();
}

static void clean_scratch(void)
{
    DIR *d = opendir(scratch);
    struct dirent *e;
    char path[512];

    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof(path), "%s/%s", scratch, e->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    rmdir(scratch);
}

int main(void)
{
    struct child c;

    if (run_case("av_read_noaccess", av_read_noaccess, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 5);
        CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xc0000005");
    }
    if (run_case("av_write_unmapped", av_write_unmapped, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 5);
        CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xc0000005");
    }
    if (run_case("guard_read", guard_read, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 1);
        CHECK_ERR_STARTS(c, "winmem: unhandled exception 0x80000001");
    }
    if (run_case("raise_e0000001", raise_e0000001, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 1);
        CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xe0000001");
    }
    if (run_case("raise_e0000100", raise_e0000100, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 255); /* a low byte of 0 must not read as success */
        CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xe0000100");
    }
    if (run_case("filter_execute_raise", filter_execute_raise, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 0x42);
        CHECK_ERR_STARTS(c, "filter saw 0xe0000042\n");
    }
    if (run_case("filter_execute_fault", filter_execute_fault, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 5);
        CHECK_ERR_STARTS(c, "filter saw an access violation\n");
    }
    if (run_case("filter_search_raise", filter_search_raise, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 0x43);
        CHECK_ERR_STARTS(c, "filter ran\n");
    }
    if (run_case("declined_fault", declined_fault, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 5);
        CHECK_ERR_STARTS(c, "handler declined\nwinmem: unhandled exception 0xc0000005");
    }

    strcpy(scratch, "/tmp/winmem-core-XXXXXX");
    if (!mkdtemp(scratch)) {
        WMT_FAIL("mkdtemp: %s", strerror(errno));
    } else {
        struct rlimit rl;
        if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_max == 0) {
            printf("core dumps cannot be enabled here (hard limit 0): skipping 2 cases\n");
        } else {
            if (run_case("av_with_core", av_with_core, CORE_ON, 60, &c)) {
                CHECK_SIGNAL(c, SIGSEGV);
                CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xc0000005");
            }
            if (run_case("raise_with_core", raise_with_core, CORE_ON, 60, &c)) {
                CHECK_SIGNAL(c, SIGABRT); /* a software exception has no signal of its own */
                CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xe0000001");
            }
        }
        clean_scratch();
    }
    return wmt_report();
}
