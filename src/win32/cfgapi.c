/*
 * cfgapi.c - Control Flow Guard at the Win32 level: SetProcessValidCallTargets,
 * GetProcessMitigationPolicy(ProcessControlFlowGuardPolicy), and the opt-in check
 * wm_guard_check_icall / __guard_check_icall_fptr (winmem_cfg.h) with its fast fail.  The
 * bitmap and the rules for it are mm/cfg.c's.
 */
#include "win32.h"

#include "winmem_cfg.h"

#include "except/except.h"
#include "mm/mm.h"

WINMEM_API BOOL WINAPI SetProcessValidCallTargets(HANDLE process, PVOID addr, SIZE_T size,
                                                  ULONG count, PCFG_CALL_TARGET_INFO info)
{
    return wm_win32_status(wm_cfg_set_targets(process, addr, size, count, info));
}

/* CFG counts as enabled when the call-target bitmap exists (it is reserved on this first
 * question), though only wm_guard_check_icall ever enforces it: the image opt-in Windows
 * goes by does not exist for ELF code. */
WINMEM_API BOOL WINAPI GetProcessMitigationPolicy(HANDLE process, PROCESS_MITIGATION_POLICY policy,
                                                  PVOID buffer, SIZE_T length)
{
    NTSTATUS st = wm_vmstate_check_process(process);

    if (st)
        return wm_win32_status(st);
    if ((unsigned)policy >= MaxProcessMitigationPolicy)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    if (policy != ProcessControlFlowGuardPolicy)
        return wm_win32_error(ERROR_NOT_SUPPORTED);
    if (!buffer || length != sizeof(PROCESS_MITIGATION_CONTROL_FLOW_GUARD_POLICY))
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    PROCESS_MITIGATION_CONTROL_FLOW_GUARD_POLICY out = { .Flags = 0 };
    out.EnableControlFlowGuard = wm_cfg_enabled();
    return wm_win32_status(wm_os_copy(buffer, &out, sizeof(out)) ? STATUS_ACCESS_VIOLATION
                                                                 : STATUS_SUCCESS);
}

static char *put_hex(char *p, uintptr_t v)
{
    static const char hex[] = "0123456789abcdef";
    *p++ = '0';
    *p++ = 'x';
    for (int i = 2 * (int)sizeof(v) - 1; i >= 0; i--)
        *p++ = hex[(v >> (i * 4)) & 0xf];
    return p;
}

/* __fastfail(FAST_FAIL_GUARD_ICALL_CHECK_FAILURE): no handler runs (vectored, filter or a
 * debugger's chained signal handler), the process ends with STATUS_STACK_BUFFER_OVERRUN. */
static _Noreturn void fail_fast(uintptr_t target, void *at)
{
    static char why[128];
    static const char head[] =
        "STATUS_STACK_BUFFER_OVERRUN: fast fail FAST_FAIL_GUARD_ICALL_CHECK_FAILURE, call target ";
    EXCEPTION_RECORD rec = {
        .ExceptionCode = STATUS_STACK_BUFFER_OVERRUN,
        .ExceptionFlags = EXCEPTION_NONCONTINUABLE,
        .ExceptionAddress = at,
        .NumberParameters = 1,
        .ExceptionInformation = { FAST_FAIL_GUARD_ICALL_CHECK_FAILURE },
    };
    char *p = why;

    for (const char *s = head; *s; s++)
        *p++ = *s;
    p = put_hex(p, target);
    *p = 0;
    wm_dispatch_terminate_sigsafe(&rec, 0, why);
}

WINMEM_API void wm_guard_check_icall(const void *target)
{
    if (!wm_cfg_valid_sigsafe((uintptr_t)target))
        fail_fast((uintptr_t)target, __builtin_return_address(0));
}

WINMEM_API void (*const __guard_check_icall_fptr)(const void *target) = wm_guard_check_icall;
