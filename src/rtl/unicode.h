/*
 * unicode.h - the run-time library's string conversions (src/rtl/unicode.c).  Pure
 * functions: no allocation, no system calls, usable from any layer.
 */
#ifndef WM_RTL_UNICODE_H
#define WM_RTL_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "windef.h"

/* n UTF-16 units -> NUL-terminated UTF-8; false when malformed or it does not fit. */
bool wm_rtl_utf16_to_utf8(const WCHAR *w, size_t n, char *out, size_t outlen);
/* NUL-terminated UTF-8 -> NUL-terminated UTF-16, returning the length in units, or -1 when
 * malformed or it does not fit. */
long wm_rtl_utf8_to_utf16(const char *s, WCHAR *out, size_t outlen);
/* Length of a NUL-terminated UTF-16 string, in units. */
size_t wm_rtl_wcslen(const WCHAR *w);

#endif
