/*
 * errhandlingapi.c - the per-thread last-error value and the one helper that sets it from
 * an NTSTATUS; vectored exception handling and RaiseException over except/.
 */
#include "win32.h"

#include "except/except.h"

/* Windows keeps the last error in the thread environment block: one per thread. */
static _Thread_local DWORD last_error;

WINMEM_API DWORD WINAPI GetLastError(VOID)
{
    return last_error;
}

WINMEM_API VOID WINAPI SetLastError(DWORD code)
{
    last_error = code;
}

BOOL wm_win32_error(DWORD err)
{
    last_error = err;
    return err == ERROR_SUCCESS;
}

bool wm_win32_utf8(const WCHAR *w, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *w; w++) {
        uint32_t c = *w;
        if (c >= 0xd800 && c < 0xdc00) { /* a surrogate pair */
            if (w[1] < 0xdc00 || w[1] >= 0xe000)
                return false;
            c = 0x10000 + ((c - 0xd800) << 10) + (uint32_t)(w[1] - 0xdc00);
            w++;
        } else if (c >= 0xdc00 && c < 0xe000) {
            return false;
        }
        unsigned char b[4];
        size_t n;
        if (c < 0x80)
            b[0] = (unsigned char)c, n = 1;
        else if (c < 0x800)
            b[0] = (unsigned char)(0xc0 | c >> 6), b[1] = (unsigned char)(0x80 | (c & 0x3f)), n = 2;
        else if (c < 0x10000)
            b[0] = (unsigned char)(0xe0 | c >> 12),
            b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)),
            b[2] = (unsigned char)(0x80 | (c & 0x3f)), n = 3;
        else
            b[0] = (unsigned char)(0xf0 | c >> 18),
            b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f)),
            b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)),
            b[3] = (unsigned char)(0x80 | (c & 0x3f)), n = 4;
        if (o + n + 1 > outlen)
            return false;
        for (size_t i = 0; i < n; i++)
            out[o++] = (char)b[i];
    }
    out[o] = 0;
    return true;
}

long wm_win32_utf16(const char *s, WCHAR *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        uint32_t c;
        int more;
        if (*p < 0x80)
            c = *p, more = 0;
        else if ((*p & 0xe0) == 0xc0)
            c = *p & 0x1f, more = 1;
        else if ((*p & 0xf0) == 0xe0)
            c = *p & 0x0f, more = 2;
        else if ((*p & 0xf8) == 0xf0)
            c = *p & 0x07, more = 3;
        else
            return -1;
        p++;
        for (; more; more--, p++) {
            if ((*p & 0xc0) != 0x80)
                return -1;
            c = c << 6 | (*p & 0x3f);
        }
        if (c >= 0x10000) {
            if (o + 3 > outlen)
                return -1;
            c -= 0x10000;
            out[o++] = (WCHAR)(0xd800 + (c >> 10));
            out[o++] = (WCHAR)(0xdc00 + (c & 0x3ff));
        } else {
            if (o + 2 > outlen)
                return -1;
            out[o++] = (WCHAR)c;
        }
    }
    out[o] = 0;
    return (long)o;
}

BOOL wm_win32_status(NTSTATUS status)
{
    if (status == STATUS_SUCCESS)
        return TRUE;
    last_error = RtlNtStatusToDosError(status);
    return FALSE;
}

/* AddVectoredExceptionHandler: First != 0 puts the handler before every other. */
WINMEM_API PVOID WINAPI AddVectoredExceptionHandler(ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    wm_signal_init();
    return wm_handlers_add(WM_VEH, first, fn);
}

WINMEM_API ULONG WINAPI RemoveVectoredExceptionHandler(PVOID handle)
{
    return wm_handlers_remove(WM_VEH, handle);
}

/* AddVectoredContinueHandler: called after a handler or filter continues execution. */
WINMEM_API PVOID WINAPI AddVectoredContinueHandler(ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    wm_signal_init();
    return wm_handlers_add(WM_VCH, first, fn);
}

WINMEM_API ULONG WINAPI RemoveVectoredContinueHandler(PVOID handle)
{
    return wm_handlers_remove(WM_VCH, handle);
}

/* SetUnhandledExceptionFilter: the last word before an exception ends the process. */
WINMEM_API LPTOP_LEVEL_EXCEPTION_FILTER WINAPI
SetUnhandledExceptionFilter(LPTOP_LEVEL_EXCEPTION_FILTER filter)
{
    wm_signal_init();
    return wm_dispatch_set_filter(filter);
}

/* UnhandledExceptionFilter: the top-level filter's verdict, or EXCEPTION_EXECUTE_HANDLER (no
 * debugger gets a second chance here). */
WINMEM_API LONG WINAPI UnhandledExceptionFilter(struct _EXCEPTION_POINTERS *ep)
{
    return wm_dispatch_unhandled_filter(ep);
}

/* RaiseException: a software exception; returns if a handler continues it.  The exception
 * address is inside RaiseException, as on Windows (where RtlRaiseException records its
 * caller, RaiseException). */
WINMEM_API VOID WINAPI RaiseException(DWORD code, DWORD flags, DWORD nargs, const ULONG_PTR *args)
{
    wm_signal_init();
    wm_raise(code, flags, nargs, args);
    __asm__ volatile("" ::: "memory"); /* no tail call: wm_raise must return in here */
}
