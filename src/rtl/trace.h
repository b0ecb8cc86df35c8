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
 * tracespec.c's table, under the function's name.
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

/* One traced function: its name, family, result kind and arguments (tracespec.c's table). */
struct wm_trace_spec {
    const char *name;
    unsigned family;
    const char *result; /* a result kind, see tracespec.c */
    const char *args;   /* "name:kind name:kind ..." */
};

#define WM_TRACE_MAX_ARGS 12

/* The call under way on a thread: its arguments as integers, and what in/out pointers held
 * before it ran.  One per thread (trace.c keeps it), since only the outermost call is traced. */
struct wm_trace_call {
    const struct wm_trace_spec *spec;
    uint64_t arg[WM_TRACE_MAX_ARGS];
    uint64_t before[WM_TRACE_MAX_ARGS];
    DWORD last_error;
};

/* Traced calls under way on this thread: 0 or 1 (a call made inside a traced call runs
 * untraced).  initial-exec: the hook and the signal handler read it without a call. */
extern __thread unsigned wm_trace_depth __attribute__((tls_model("initial-exec")));
/* The traced call under way on this thread. */
extern __thread struct wm_trace_call wm_trace_current __attribute__((tls_model("initial-exec")));

/* Start the thread's outermost traced call (wm_trace_depth was 0): store its nargs arguments
 * (each a uint64_t) in wm_trace_current; the caller then runs the call and hands its result
 * to wm_trace_end, which prints the line (if its family is on) and returns the result.
 * Async-signal-safe. */
void wm_trace_begin(const struct wm_trace_spec *spec, unsigned nargs, ...);
uint64_t wm_trace_end(uint64_t result);

/* Keep the calls winmem makes on its own behalf (the process heap made at load) out of the
 * trace: _hold returns what _release puts back. */
unsigned wm_trace_hold(void);
void wm_trace_release(unsigned held);

/* The except family, from the dispatcher (except/dispatch.c), in the signal handler: all
 * async-signal-safe.  _dispatch prints the exception about to be dispatched and moves the
 * thread's traced call, if any, into *saved, so that the calls handlers make are traced (a
 * handler may leave by longjmp and never come back to the call that faulted); _outcome
 * prints who ended the dispatch and how, and puts the traced call back. */
struct wm_trace_saved {
    unsigned depth;
    bool untouched; /* the call's last error was held at trace.c's marker */
    struct wm_trace_call call;
};
void wm_trace_dispatch_sigsafe(const EXCEPTION_RECORD *rec, struct wm_trace_saved *saved);
void wm_trace_outcome_sigsafe(const EXCEPTION_RECORD *rec, LONG verdict, const char *by,
                              const void *handler, const struct wm_trace_saved *saved);

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
#define WM_TRACE_ARGS(...) WM_TRACE_CAT(WM_TRACE_A, WM_TRACE_NARGS(__VA_ARGS__))(__VA_ARGS__)
/* The arguments again, as wm_trace_begin stored them, each with its parameter's type. */
#define WM_TRACE_R(i, a) (__typeof__(a))(uintptr_t)wm_trace_current.arg[i]
#define WM_TRACE_B1(a1) WM_TRACE_R(0, a1)
#define WM_TRACE_B2(a1, a2) WM_TRACE_R(0, a1), WM_TRACE_R(1, a2)
#define WM_TRACE_B3(a1, a2, a3) WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3)
#define WM_TRACE_B4(a1, a2, a3, a4) \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4)
#define WM_TRACE_B5(a1, a2, a3, a4, a5) \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4), WM_TRACE_R(4, a5)
#define WM_TRACE_B6(a1, a2, a3, a4, a5, a6)                                                        \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4), WM_TRACE_R(4, a5), \
        WM_TRACE_R(5, a6)
#define WM_TRACE_B7(a1, a2, a3, a4, a5, a6, a7)                                                    \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4), WM_TRACE_R(4, a5), \
        WM_TRACE_R(5, a6), WM_TRACE_R(6, a7)
#define WM_TRACE_B8(a1, a2, a3, a4, a5, a6, a7, a8)                                                \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4), WM_TRACE_R(4, a5), \
        WM_TRACE_R(5, a6), WM_TRACE_R(6, a7), WM_TRACE_R(7, a8)
#define WM_TRACE_B9(a1, a2, a3, a4, a5, a6, a7, a8, a9)                                            \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4), WM_TRACE_R(4, a5), \
        WM_TRACE_R(5, a6), WM_TRACE_R(6, a7), WM_TRACE_R(7, a8), WM_TRACE_R(8, a9)
#define WM_TRACE_B10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)                                      \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4), WM_TRACE_R(4, a5), \
        WM_TRACE_R(5, a6), WM_TRACE_R(6, a7), WM_TRACE_R(7, a8), WM_TRACE_R(8, a9),                \
        WM_TRACE_R(9, a10)
#define WM_TRACE_B11(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11)                                 \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4), WM_TRACE_R(4, a5), \
        WM_TRACE_R(5, a6), WM_TRACE_R(6, a7), WM_TRACE_R(7, a8), WM_TRACE_R(8, a9),                \
        WM_TRACE_R(9, a10), WM_TRACE_R(10, a11)
#define WM_TRACE_B12(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12)                            \
    WM_TRACE_R(0, a1), WM_TRACE_R(1, a2), WM_TRACE_R(2, a3), WM_TRACE_R(3, a4), WM_TRACE_R(4, a5), \
        WM_TRACE_R(5, a6), WM_TRACE_R(6, a7), WM_TRACE_R(7, a8), WM_TRACE_R(8, a9),                \
        WM_TRACE_R(9, a10), WM_TRACE_R(10, a11), WM_TRACE_R(11, a12)
#define WM_TRACE_RELOAD(...) WM_TRACE_CAT(WM_TRACE_B, WM_TRACE_NARGS(__VA_ARGS__))(__VA_ARGS__)

/* The one line an entry point adds (fn's own parameters, in order).  The recursive call runs
 * the body untraced, on the arguments wm_trace_begin stored: nothing in the entry point
 * outlives a call on the traced path, so the compiler saves no registers for it and the
 * untraced path's code stays what it was, plus one load and one branch.  __typeof__ gives
 * the result back its type. */
#define WM_TRACE(fn, ...)                                                 \
    do {                                                                  \
        if (__builtin_expect(wm_trace_mask != 0, 0) && !wm_trace_depth) { \
            extern const struct wm_trace_spec wm_trace_##fn;              \
            wm_trace_begin(&wm_trace_##fn, WM_TRACE_NARGS(__VA_ARGS__),   \
                           WM_TRACE_ARGS(__VA_ARGS__));                   \
            return (__typeof__(fn(__VA_ARGS__)))wm_trace_end(             \
                WM_TRACE_U64(fn(WM_TRACE_RELOAD(__VA_ARGS__))));          \
        }                                                                 \
    } while (0)

/* The same for a function that returns nothing. */
#define WM_TRACE_VOID(fn, ...)                                            \
    do {                                                                  \
        if (__builtin_expect(wm_trace_mask != 0, 0) && !wm_trace_depth) { \
            extern const struct wm_trace_spec wm_trace_##fn;              \
            wm_trace_begin(&wm_trace_##fn, WM_TRACE_NARGS(__VA_ARGS__),   \
                           WM_TRACE_ARGS(__VA_ARGS__));                   \
            fn(WM_TRACE_RELOAD(__VA_ARGS__));                             \
            wm_trace_end(0);                                              \
            return;                                                       \
        }                                                                 \
    } while (0)

#endif
