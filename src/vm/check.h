/*
 * check.h - assertions in three levels, as the build chooses (CMake option WINMEM_CHECKS):
 *   0 (off, release builds): nothing is checked, nothing is compiled in;
 *   1 (cheap, the default for Debug builds): WM_ASSERT checks, such as "the VM lock is held
 *     here" and the arena's caller holding it;
 *   2 (expensive): WM_ASSERT_EXPENSIVE too, such as the whole model's invariant check after
 *     every change to it.
 * A failed check prints where and what to stderr and aborts (os/os.c, the one place it
 * needs the system: everything else in vm/ stays system-free).
 */
#ifndef WM_CHECK_H
#define WM_CHECK_H

#ifndef WM_CHECKS
#define WM_CHECKS 0
#endif

_Noreturn void wm_check_fail(const char *file, int line, const char *what);

#define WM_ASSERT(cond)                               \
    do {                                              \
        if (WM_CHECKS >= 1 && !(cond))                \
            wm_check_fail(__FILE__, __LINE__, #cond); \
    } while (0)
#define WM_ASSERT_EXPENSIVE(cond)                     \
    do {                                              \
        if (WM_CHECKS >= 2 && !(cond))                \
            wm_check_fail(__FILE__, __LINE__, #cond); \
    } while (0)

#endif
