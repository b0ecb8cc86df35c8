/*
 * profileapi.c - QueryPerformanceCounter / QueryPerformanceFrequency and the tick counts of
 * sysinfoapi.h (GetTickCount, GetTickCount64): one clock since boot (ps/sched.c), counting
 * time suspended as Windows' do.
 */
#include "win32.h"

#include "ps/ps.h"

/* Never fails on Windows XP and later; the output pointer is written unchecked, as there. */
WINMEM_API BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER *count)
{
    count->QuadPart = (LONGLONG)wm_sched_counter();
    return TRUE;
}

/* 10 MHz, fixed at boot, as Windows 10 and later report. */
WINMEM_API BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER *freq)
{
    freq->QuadPart = WM_SCHED_COUNTER_HZ;
    return TRUE;
}

WINMEM_API DWORD WINAPI GetTickCount(VOID)
{
    return (DWORD)wm_sched_ms();
}

WINMEM_API ULONGLONG WINAPI GetTickCount64(VOID)
{
    return wm_sched_ms();
}
