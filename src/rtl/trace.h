/*
 * trace.h - the WINMEM_TRACE switch (trace.c): one line per API call, naming the call, its
 * arguments, its result and the last error, for the families WINMEM_TRACE lists.
 *
 * An API entry point opts in with one line at the top of its body:
 *
 *     WM_TRACE(VirtualAllocEx, process, addr, size, type, prot);
 *
 * When tracing is off that line is one load of a global written once at start and a branch
 * predicted not taken.  When it is on, the outermost traced call on a thread runs itself
 * again with tracing held off (so the wrappers it goes through, VirtualAlloc -> VirtualAllocEx
 * -> NtAllocateVirtualMemory, and the heap's own page calls print nothing) and then prints
 * one line.  What each argument is (a protection, a size, a handle...) is said once, in
 * trace.c's table, under the function's name.
 *
 * Separate from rtl.h so that an entry point's file needs only this small header.
 */
#ifndef WM_TRACE_H
#define WM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "windows.h"

/* The families, as WINMEM_TRACE spells them: virtual, section, except, secure, heap. */
enum {
    WM_TRACE_VIRTUAL = 1,
    WM_TRACE_SECTION = 2,
    WM_TRACE_EXCEPT = 4,
    WM_TRACE_SECURE = 8,
    WM_TRACE_HEAP = 16,
};

/* The families switched on; written once, by a constructor, before any call can read it. */
extern unsigned wm_trace_mask;

/* One traced function: its name, family, result kind and arguments (trace.c's table). */
struct wm_trace_spec {
    const char *name;
    unsigned family;
    const char *result; /* a result kind, see trace.c */
    const char *args;   /* "name:kind name:kind ..." */
};

#define WM_TRACE_MAX_ARGS 12

/* A call under way: its arguments as integers, and what in/out pointers held before. */
struct wm_trace_call {
    const struct wm_trace_spec *spec;
    uint64_t arg[WM_TRACE_MAX_ARGS];
    uint64_t before[WM_TRACE_MAX_ARGS];
    DWORD last_error;
};

/* True when this call is the thread's outermost traced one: then the caller runs the call and
 * hands its result to wm_trace_end, which prints the line (if its family is on) and returns
 * the result.  Async-signal-safe. */
bool wm_trace_begin(struct wm_trace_call *c, const struct wm_trace_spec *spec,
                    const uint64_t *argv);
uint64_t wm_trace_end(struct wm_trace_call *c, uint64_t result);

/* Keep the calls winmem makes on its own behalf (the process heap made at load) out of the
 * trace: _hold returns what _release puts back. */
unsigned wm_trace_hold(void);
void wm_trace_release(unsigned held);

/* The except family, from the dispatcher (except/dispatch.c), in the signal handler: all
 * async-signal-safe.  _dispatch prints the exception about to be dispatched and returns the
 * thread's traced-call depth, which it clears so that the calls handlers make are traced
 * (a handler may leave by longjmp and never come back to the call that faulted);
 * _outcome prints who ended the dispatch and how and puts the depth back. */
unsigned wm_trace_dispatch_sigsafe(const EXCEPTION_RECORD *rec);
void wm_trace_outcome_sigsafe(const EXCEPTION_RECORD *rec, LONG verdict, const char *by,
                              const void *handler, unsigned depth);

/* The secure family: one call of a secure memory cache callback (mm/secure.c). */
void wm_trace_callback(const void *fn, const void *addr, SIZE_T size, BOOLEAN result);

/* Name tables generated from the public headers (cmake/tracenames.cmake). */
struct wm_trace_name {
    uint32_t value;
    const char *name;
};
extern const struct wm_trace_name wm_trace_status_names[], wm_trace_error_names[];
extern const size_t wm_trace_status_count, wm_trace_error_count;

/* ---- the entry-point hook ------------------------------------------------------------------ */

#define WM_TRACE_U64(x) ((uint64_t)(uintptr_t)(x))
#define WM_TRACE_CAT_(a, b) a##b
#define WM_TRACE_CAT(a, b) WM_TRACE_CAT_(a, b)
#define WM_TRACE_NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, n, ...) n
#define WM_TRACE_NARGS(...) WM_TRACE_NARGS_(__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define WM_TRACE_A1(a) WM_TRACE_U64(a)
#define WM_TRACE_A2(a, ...) WM_TRACE_U64(a), WM_TRACE_A1(__VA_ARGS__)
#define WM_TRACE_A3(a, ...) WM_TRACE_U64(a), WM_TRACE_A2(__VA_ARGS__)
#define WM_TRACE_A4(a, ...) WM_TRACE_U64(a), WM_TRACE_A3(__VA_ARGS__)
#define WM_TRACE_A5(a, ...) WM_TRACE_U64(a), WM_TRACE_A4(__VA_ARGS__)
#define WM_TRACE_A6(a, ...) WM_TRACE_U64(a), WM_TRACE_A5(__VA_ARGS__)
#define WM_TRACE_A7(a, ...) WM_TRACE_U64(a), WM_TRACE_A6(__VA_ARGS__)
#define WM_TRACE_A8(a, ...) WM_TRACE_U64(a), WM_TRACE_A7(__VA_ARGS__)
#define WM_TRACE_A9(a, ...) WM_TRACE_U64(a), WM_TRACE_A8(__VA_ARGS__)
#define WM_TRACE_A10(a, ...) WM_TRACE_U64(a), WM_TRACE_A9(__VA_ARGS__)
#define WM_TRACE_A11(a, ...) WM_TRACE_U64(a), WM_TRACE_A10(__VA_ARGS__)
#define WM_TRACE_A12(a, ...) WM_TRACE_U64(a), WM_TRACE_A11(__VA_ARGS__)
#define WM_TRACE_ARGV(...) \
    ((const uint64_t[]){ WM_TRACE_CAT(WM_TRACE_A, WM_TRACE_NARGS(__VA_ARGS__))(__VA_ARGS__) })

/* The one line an entry point adds (fn's own parameters, in order).  The recursive call runs
 * the body untraced; __typeof__ gives the result back its type. */
#define WM_TRACE(fn, ...)                                                                        \
    do {                                                                                         \
        if (__builtin_expect(wm_trace_mask != 0, 0)) {                                           \
            extern const struct wm_trace_spec wm_trace_##fn;                                     \
            struct wm_trace_call wm_tc_;                                                         \
            if (wm_trace_begin(&wm_tc_, &wm_trace_##fn, WM_TRACE_ARGV(__VA_ARGS__)))             \
                return (__typeof__(fn(__VA_ARGS__)))wm_trace_end(&wm_tc_,                        \
                                                                 WM_TRACE_U64(fn(__VA_ARGS__))); \
        }                                                                                        \
    } while (0)

/* The same for a function that returns nothing. */
#define WM_TRACE_VOID(fn, ...)                                                         \
    do {                                                                               \
        if (__builtin_expect(wm_trace_mask != 0, 0)) {                                 \
            extern const struct wm_trace_spec wm_trace_##fn;                           \
            struct wm_trace_call wm_tc_;                                               \
            if (wm_trace_begin(&wm_tc_, &wm_trace_##fn, WM_TRACE_ARGV(__VA_ARGS__))) { \
                fn(__VA_ARGS__);                                                       \
                wm_trace_end(&wm_tc_, 0);                                              \
                return;                                                                \
            }                                                                          \
        }                                                                              \
    } while (0)

#endif
