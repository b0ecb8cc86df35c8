/*
 * synchapi.c - Sleep and SleepEx.  winmem queues no APCs, so an alertable sleep is an
 * ordinary one and never returns WAIT_IO_COMPLETION.
 */
#include "win32.h"

#include "ps/ps.h"

/* Sleep: Sleep(0) gives up the rest of the time slice; INFINITE never returns. */
WINMEM_API VOID WINAPI Sleep(DWORD ms)
{
    wm_sched_delay(ms);
}

WINMEM_API DWORD WINAPI SleepEx(DWORD ms, BOOL alertable)
{
    (void)alertable;
    wm_sched_delay(ms);
    return 0;
}
