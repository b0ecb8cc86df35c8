/*
 * processthreadsapi.c - the calling thread: GetCurrentThreadId, GetCurrentProcessorNumber,
 * SwitchToThread, and thread-local storage (TlsAlloc, TlsGetValue, TlsSetValue, TlsFree) over
 * ps/tls.c.  (The pseudo handles and GetCurrentProcessId are in sysinfoapi.c.)
 */
#include "win32.h"

#include "ps/ps.h"

WINMEM_API DWORD WINAPI GetCurrentThreadId(VOID)
{
    return wm_sched_thread_id();
}

WINMEM_API DWORD WINAPI GetCurrentProcessorNumber(VOID)
{
    return wm_sched_processor();
}

/* SwitchToThread: Linux does not say whether another thread ran, so this always reports
 * that one could have (nonzero). */
WINMEM_API BOOL WINAPI SwitchToThread(VOID)
{
    wm_sched_yield();
    return TRUE;
}

/* TlsAlloc: the lowest free index, its value NULL in every thread; TLS_OUT_OF_INDEXES with
 * ERROR_NO_MORE_ITEMS once all 1088 are taken. */
WINMEM_API DWORD WINAPI TlsAlloc(VOID)
{
    uint32_t index;
    if (wm_tls_alloc(false, NULL, &index) != STATUS_SUCCESS) {
        wm_win32_error(ERROR_NO_MORE_ITEMS);
        return TLS_OUT_OF_INDEXES;
    }
    return index;
}

/* TlsGetValue: on success the last error is ERROR_SUCCESS, so a stored NULL can be told from
 * a failure, as Microsoft documents. */
WINMEM_API LPVOID WINAPI TlsGetValue(DWORD index)
{
    void *value = NULL;
    NTSTATUS st = wm_tls_get(false, index, &value);
    if (st == STATUS_SUCCESS)
        wm_win32_error(ERROR_SUCCESS);
    else
        wm_win32_status(st);
    return value;
}

WINMEM_API BOOL WINAPI TlsSetValue(DWORD index, LPVOID value)
{
    return wm_win32_status(wm_tls_set(false, index, value));
}

WINMEM_API BOOL WINAPI TlsFree(DWORD index)
{
    return wm_win32_status(wm_tls_free(false, index));
}
