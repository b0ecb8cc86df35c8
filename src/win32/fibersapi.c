/*
 * fibersapi.c - fiber-local storage (FlsAlloc, FlsGetValue, FlsSetValue, FlsFree) over
 * ps/tls.c: each thread is one fiber; the callback runs for a thread's non-NULL value when
 * the thread exits and, on the freeing thread, for every thread's value at FlsFree.
 */
#include "win32.h"

#include "ps/ps.h"

WINMEM_API DWORD WINAPI FlsAlloc(PFLS_CALLBACK_FUNCTION callback)
{
    uint32_t index;
    if (wm_tls_alloc(true, callback, &index) != STATUS_SUCCESS) {
        wm_win32_error(ERROR_NO_MORE_ITEMS);
        return FLS_OUT_OF_INDEXES;
    }
    return index;
}

WINMEM_API PVOID WINAPI FlsGetValue(DWORD index)
{
    void *value = NULL;
    NTSTATUS st = wm_tls_get(true, index, &value);
    if (st == STATUS_SUCCESS)
        wm_win32_error(ERROR_SUCCESS);
    else
        wm_win32_status(st);
    return value;
}

WINMEM_API BOOL WINAPI FlsSetValue(DWORD index, PVOID value)
{
    return wm_win32_status(wm_tls_set(true, index, value));
}

WINMEM_API BOOL WINAPI FlsFree(DWORD index)
{
    return wm_win32_status(wm_tls_free(true, index));
}
