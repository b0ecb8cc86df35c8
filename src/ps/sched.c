/*
 * sched.c - the calling thread's clock, sleep and identity: what GetTickCount,
 * QueryPerformanceCounter, Sleep, SwitchToThread, GetCurrentThreadId and
 * GetCurrentProcessorNumber (win32/profileapi.c, synchapi.c, processthreadsapi.c) stand on.
 */
#include "ps.h"

#include "os/os.h"

uint64_t wm_sched_counter(void)
{
    return wm_os_boot_ns() / (1000000000u / WM_SCHED_COUNTER_HZ);
}

uint64_t wm_sched_ms(void)
{
    return wm_os_boot_ns() / 1000000u;
}

void wm_sched_delay(uint32_t ms)
{
    if (ms == UINT32_MAX)
        wm_os_sleep_forever();
    else if (ms == 0)
        wm_os_yield(); /* Sleep(0): give up the rest of the time slice */
    else
        wm_os_sleep_ns((uint64_t)ms * 1000000u);
}

void wm_sched_yield(void)
{
    wm_os_yield();
}

uint32_t wm_sched_thread_id(void)
{
    return wm_os_thread_id();
}

uint32_t wm_sched_processor(void)
{
    return (uint32_t)wm_os_cpu_number();
}
