/*
 * winmem_cfg.h - winmem's extension for Control Flow Guard: the check a program (or a compiler
 * pass) calls before an indirect call.  Not an SDK header: on Windows the compiler emits the
 * check itself (/guard:cf) through the image's __guard_check_icall_fptr.
 *
 * winmem keeps Windows' call-target bitmap for the executable memory it allocates
 * (PAGE_TARGETS_INVALID, PAGE_TARGETS_NO_UPDATE, SetProcessValidCallTargets), but nothing on
 * Linux consults it unless the program asks: call wm_guard_check_icall(target) (or through
 * __guard_check_icall_fptr) before calling target.  A target winmem knows to be invalid ends
 * the process as Windows does: a fast fail, STATUS_STACK_BUFFER_OVERRUN with
 * FAST_FAIL_GUARD_ICALL_CHECK_FAILURE, no exception handler runs, and the exit status is the
 * status's low byte (0x09).  Any other target returns: docs/cfg.md says which.
 */
#ifndef WINMEM_CFG_H
#define WINMEM_CFG_H

#include "winmem_export.h"

WINMEM_EXTERN_C_BEGIN

/* Return when target may be called; otherwise end the process (never returns then). */
WINMEM_API void wm_guard_check_icall(const void *target);

/* The same function through the pointer MSVC's /guard:cf code calls (read-only, as the
 * image's own pointer is on Windows). */
extern WINMEM_API void (*const __guard_check_icall_fptr)(const void *target);

WINMEM_EXTERN_C_END

#endif
