/*
 * Fault: Control Flow Guard's check.  Each case runs in a child that marks call targets
 * (VirtualAlloc with or without PAGE_TARGETS_INVALID, VirtualProtect with or without
 * PAGE_TARGETS_NO_UPDATE, SetProcessValidCallTargets, release) and then calls
 * wm_guard_check_icall; the parent checks that the child ended as Windows ends a process
 * whose CFG check fails (a fast fail: STATUS_STACK_BUFFER_OVERRUN, exit status 0x09, no
 * exception handler run) exactly when the target was invalid, and exited normally otherwise.
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <stdlib.h>

#include <winmem_cfg.h>

#define FAST_FAIL_EXIT 0x09 /* STATUS_STACK_BUFFER_OVERRUN's low byte */
#define REGION 0x10000

static unsigned char *exec_region(DWORD prot)
{
    unsigned char *p = VirtualAlloc(NULL, REGION, MEM_COMMIT | MEM_RESERVE, prot);
    if (!p)
        _exit(123);
    return p;
}

static void mark(unsigned char *p, ULONG_PTR off, ULONG_PTR flags)
{
    CFG_CALL_TARGET_INFO e = { off, flags };
    if (!SetProcessValidCallTargets(GetCurrentProcess(), p, REGION, 1, &e) ||
        e.Flags != (flags | CFG_CALL_TARGET_PROCESSED))
        _exit(124);
}

static void check(const void *target, const char *line)
{
    wm_guard_check_icall(target);
    say(line);
}

static void valid_by_default(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READWRITE);
    check(p, "first\n");
    check(p + REGION - 16, "last\n");
}

static void targets_invalid(void)
{
    check(exec_region(PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID), "passed\n");
}

static void set_valid(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READ | PAGE_TARGETS_INVALID);
    mark(p, 0x40, CFG_CALL_TARGET_VALID);
    check(p + 0x40, "marked valid: passed\n");
    check(p + 0x50, "neighbour passed\n");
}

static void set_invalid(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READ);
    mark(p, 0x20, 0);
    check(p + 0x10, "before passed\n");
    check(p + 0x30, "after passed\n");
    check(p + 0x20, "marked invalid: passed\n");
}

static void protect_no_update(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID);
    DWORD old;
    if (!VirtualProtect(p, REGION, PAGE_EXECUTE_READ | PAGE_TARGETS_NO_UPDATE, &old))
        _exit(125);
    check(p + 0x100, "passed\n");
}

static void protect_updates(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID);
    DWORD old;
    if (!VirtualProtect(p, 0x1000, PAGE_EXECUTE_READ, &old))
        _exit(125);
    check(p + 0x100, "protected page passed\n");
    check(p + 0x1000, "next page passed\n");
}

/* Protecting to a non-executable protection leaves the bits alone. */
static void protect_readwrite(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID);
    DWORD old;
    if (!VirtualProtect(p, REGION, PAGE_READWRITE, &old))
        _exit(125);
    check(p, "passed\n");
}

/* Never executable: Windows' bits say invalid, and NO_UPDATE keeps them. */
static void fresh_no_update(void)
{
    unsigned char *p = exec_region(PAGE_READWRITE);
    DWORD old;
    if (!VirtualProtect(p, REGION, PAGE_EXECUTE_READ | PAGE_TARGETS_NO_UPDATE, &old))
        _exit(125);
    check(p + 0x200, "passed\n");
}

/* The W^X flip of a JIT: executable (valid), writable, executable again with NO_UPDATE. */
static void flip_no_update(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READ);
    DWORD old;
    mark(p, 0x300, 0);
    if (!VirtualProtect(p, REGION, PAGE_READWRITE, &old) ||
        !VirtualProtect(p, REGION, PAGE_EXECUTE_READ | PAGE_TARGETS_NO_UPDATE, &old))
        _exit(125);
    check(p + 0x200, "kept valid: passed\n");
    check(p + 0x300, "kept invalid: passed\n");
}

static void commit_invalid(void)
{
    unsigned char *p = VirtualAlloc(NULL, REGION, MEM_RESERVE, PAGE_EXECUTE_READWRITE);
    if (!p || !VirtualAlloc(p, 0x1000, MEM_COMMIT, PAGE_EXECUTE_READ) ||
        !VirtualAlloc(p + 0x1000, 0x1000, MEM_COMMIT, PAGE_EXECUTE_READ | PAGE_TARGETS_INVALID))
        _exit(123);
    check(p, "committed valid: passed\n");
    check(p + 0x1000, "committed invalid: passed\n");
}

static void released(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID);
    if (!VirtualFree(p, 0, MEM_RELEASE))
        _exit(126);
    check(p, "released: passed\n");
}

static int own_function(void)
{
    return 1;
}

/* Code winmem did not allocate, the heap, the stack and NULL are not winmem's to judge. */
static void not_tracked(void)
{
    int local = 0;
    void *heap = malloc(64);
    (void)exec_region(PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID);
    check((const void *)(uintptr_t)own_function, "own code\n");
    check((const void *)(uintptr_t)malloc, "libc\n");
    check(heap, "heap\n");
    check(&local, "stack\n");
    check(NULL, "NULL\n");
    free(heap);
}

static LONG CALLBACK handler(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    say("vectored handler ran\n");
    return EXCEPTION_CONTINUE_SEARCH;
}

static LONG WINAPI filter(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    say("filter ran\n");
    return EXCEPTION_CONTINUE_SEARCH;
}

static void handlers_skipped(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID);
    if (!AddVectoredExceptionHandler(1, handler))
        _exit(127);
    SetUnhandledExceptionFilter(filter);
    check(p, "passed\n");
}

static void through_fptr(void)
{
    unsigned char *p = exec_region(PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID);
    __guard_check_icall_fptr(p + 0x800);
    say("passed\n");
}

static void cfg_state(void)
{
    PROCESS_MITIGATION_CONTROL_FLOW_GUARD_POLICY pol;
    if (!GetProcessMitigationPolicy(GetCurrentProcess(), ProcessControlFlowGuardPolicy, &pol,
                                    sizeof(pol)))
        _exit(2);
    _exit(pol.EnableControlFlowGuard ? 0 : 1);
}

struct fcase {
    const char *name;
    void (*fn)(void);
    int fails;        /* ends in a fast fail */
    const char *last; /* the last line it writes before (or instead of) that */
};

static const struct fcase cases[] = {
    { "valid_by_default", valid_by_default, 0, "last\n" },
    { "targets_invalid", targets_invalid, 1, NULL },
    { "set_valid", set_valid, 1, "marked valid: passed\n" },
    { "set_invalid", set_invalid, 1, "after passed\n" },
    { "protect_no_update", protect_no_update, 1, NULL },
    { "protect_updates", protect_updates, 1, "protected page passed\n" },
    { "protect_readwrite", protect_readwrite, 1, NULL },
    { "fresh_no_update", fresh_no_update, 1, NULL },
    { "flip_no_update", flip_no_update, 1, "kept valid: passed\n" },
    { "commit_invalid", commit_invalid, 1, "committed valid: passed\n" },
    { "released", released, 0, "released: passed\n" },
    { "not_tracked", not_tracked, 0, "NULL\n" },
    { "handlers_skipped", handlers_skipped, 1, NULL },
    { "through_fptr", through_fptr, 1, NULL },
};

int main(void)
{
    struct child c;

    if (!run_case("cfg_state", cfg_state, CORE_OFF, 20, &c))
        return wmt_report();
    if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 1) {
        printf("CFG is off in this process (no room for the call-target bitmap): skipping\n");
        return wmt_report();
    }
    CHECK_EXIT(c, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct fcase *f = &cases[i];
        if (!run_case(f->name, f->fn, CORE_OFF, 20, &c))
            continue;
        fprintf(stderr, "case %s\n", f->name);
        CHECK_EXIT(c, f->fails ? FAST_FAIL_EXIT : 0);
        if (f->last)
            CHECK_ERR_HAS(c, f->last);
        if (f->fails) {
            CHECK_ERR_HAS(c, "0xc0000409");
            CHECK_ERR_HAS(c, "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE");
            CHECK(!strstr(c.err, "\npassed\n") && strncmp(c.err, "passed\n", 7) != 0);
            CHECK(!strstr(c.err, "handler ran") && !strstr(c.err, "filter ran"));
            CHECK(!strstr(c.err, "neighbour passed") && !strstr(c.err, "marked invalid: passed") &&
                  !strstr(c.err, "next page passed") && !strstr(c.err, "committed invalid") &&
                  !strstr(c.err, "kept invalid"));
        }
    }
    return wmt_report();
}
