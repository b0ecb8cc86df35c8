/*
 * winbase.c - AddSecureMemoryCacheCallback / RemoveSecureMemoryCacheCallback over the Rtl
 * registration calls (mm/secure.c).
 */
#include "win32.h"
#include "rtl/trace.h"

/* AddSecureMemoryCacheCallback: TRUE, or FALSE with ERROR_INVALID_PARAMETER for NULL. */
WINMEM_API BOOL WINAPI AddSecureMemoryCacheCallback(PSECURE_MEMORY_CACHE_CALLBACK fn)
{
    WM_TRACE(AddSecureMemoryCacheCallback, fn);
    return wm_win32_status(RtlRegisterSecureMemoryCacheCallback(fn));
}

/* RemoveSecureMemoryCacheCallback: FALSE with ERROR_INVALID_PARAMETER when fn is not
 * registered (or NULL). */
WINMEM_API BOOL WINAPI RemoveSecureMemoryCacheCallback(PSECURE_MEMORY_CACHE_CALLBACK fn)
{
    WM_TRACE(RemoveSecureMemoryCacheCallback, fn);
    return wm_win32_status(RtlDeregisterSecureMemoryCacheCallback(fn));
}
