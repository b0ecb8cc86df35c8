/*
 * ps.h - cross-file functions of the process/thread layer (src/ps/): the calling thread's
 * identity, time and scheduling (sched.c), thread- and fiber-local storage slots (tls.c), and
 * the executable's image base (peb.c).
 * No thread is ever created here: these serve threads the program made itself.
 *
 * Layer rules, stated once: Linux is reached only through os/; failures are NTSTATUS.
 */
#ifndef WM_PS_H
#define WM_PS_H

#include <stdbool.h>
#include <stdint.h>

#include "windows.h"
#include "winternl.h"

/* ---- sched.c --------------------------------------------------------------------------- */

/* The performance counter's units per second: 10 MHz, as Windows 10 and later report. */
#define WM_SCHED_COUNTER_HZ 10000000u

/* Performance-counter ticks (100 ns) since boot. */
uint64_t wm_sched_counter(void);
/* Milliseconds since boot. */
uint64_t wm_sched_ms(void);
/* Sleep ms milliseconds; 0 yields the processor, UINT32_MAX (INFINITE) never returns. */
void wm_sched_delay(uint32_t ms);
void wm_sched_yield(void);
uint32_t wm_sched_thread_id(void);
uint32_t wm_sched_processor(void);

/* ---- tls.c ----------------------------------------------------------------------------- */

/* Thread-local slots: TLS_MINIMUM_AVAILABLE (64) plus 1024 expansion slots, as Windows has. */
#define WM_TLS_SLOTS 1088
/* Fiber-local slots (FLS_MAXIMUM_AVAILABLE); index 0 is never handed out. */
#define WM_FLS_SLOTS 4080

/* A free index (lowest first); STATUS_NO_MORE_ENTRIES when all are taken.  fls: a fiber-local
 * slot, whose callback (may be NULL) runs for each thread's non-NULL value at thread exit and
 * when the slot is freed. */
NTSTATUS wm_tls_alloc(bool fls, void (*callback)(void *), uint32_t *index);
/* Free the index: every thread's value in it becomes NULL (for fls, after the callback ran
 * for each non-NULL one).  STATUS_INVALID_PARAMETER when it is not allocated; for fls,
 * STATUS_NO_MEMORY (nothing freed) when there is no room to collect the values. */
NTSTATUS wm_tls_free(bool fls, uint32_t index);
/* The calling thread's value; STATUS_INVALID_PARAMETER for an index out of range (fls: or
 * not allocated). */
NTSTATUS wm_tls_get(bool fls, uint32_t index, void **value);
/* The same checks; STATUS_NO_MEMORY when the thread's slot table could not be made. */
NTSTATUS wm_tls_set(bool fls, uint32_t index, void *value);

/* ---- peb.c ---------------------------------------------------------------------------- */

/* Where the executable is mapped (GetModuleHandle(NULL)); NULL if unknown. */
void *wm_peb_image_base(void);

#endif
