/*
 * win32.h - cross-file helpers of the Win32 layer (src/win32/).
 *
 * Layer rules, stated once: win32/ checks only what is Win32-specific, calls the NT layer,
 * and is the only place that sets the last error, always through wm_win32_status.
 */
#ifndef WM_WIN32_H
#define WM_WIN32_H

#include <stdbool.h>

#include "windows.h"
#include "winternl.h"

/* errhandlingapi.c: set the last error from an NTSTATUS; returns TRUE for success. */
BOOL wm_win32_status(NTSTATUS status);
/* Set a Win32 error directly (for the few with no NTSTATUS, e.g. CREATE_NEW's
 * ERROR_FILE_EXISTS); returns FALSE unless err is ERROR_SUCCESS. */
BOOL wm_win32_error(DWORD err);

/* The exported functions by name, generated from the public headers (cmake/exports.cmake):
 * ntdll's are the NTSYSAPI declarations, kernel32's (and kernelbase's) the WINBASEAPI ones. */
struct wm_export {
    const char *name;
    void (*fn)(void);
};
extern const struct wm_export wm_exports_ntdll[], wm_exports_kernel32[];
extern const size_t wm_exports_ntdll_count, wm_exports_kernel32_count;

#endif
