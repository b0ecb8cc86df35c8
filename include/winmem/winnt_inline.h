/*
 * winnt_inline.h - the parts of the SDK's winnt.h that are code, not declarations: the
 * Interlocked* family, MemoryBarrier / YieldProcessor, and the Rtl*Memory macros (with
 * <string.h>, which the SDK's winnt.h brings in for them); and winnt.h's generic-text types
 * (TCHAR, LPTSTR, TEXT), which <tchar.h> builds on.  Nothing here is exported from the
 * library: as on Windows, these compile into the caller (there they are compiler intrinsics;
 * here the GCC/Clang __atomic builtins).
 *
 * Naming and return values follow Microsoft's pages ("Interlocked Variable Access"): the
 * Increment / Decrement / Add forms return the new value; Exchange, CompareExchange,
 * ExchangeAdd, And, Or and Xor return the old one.  The Acquire / Release / NoFence forms
 * differ only in memory order; the plain ones are full barriers.  The SDK puts the order before
 * the width in most names (InterlockedIncrementAcquire64) and after it for And, Or and Xor
 * (InterlockedAnd64Acquire); so does this file.
 */
#ifndef WINMEM_WINNT_INLINE_H
#define WINMEM_WINNT_INLINE_H

#include <string.h>

#include "windef.h"

#ifndef FORCEINLINE
#define FORCEINLINE static inline __attribute__((always_inline))
#endif

/* ---- generic text: char unless UNICODE, then WCHAR (16-bit, u"..." literals) ----------- */

#ifdef UNICODE
typedef WCHAR TCHAR, *PTCHAR, *LPTSTR, *PTSTR;
typedef const WCHAR *LPCTSTR, *PCTSTR;
#define __TEXT(quote) u##quote
#else
typedef char TCHAR, *PTCHAR, *LPTSTR, *PTSTR;
typedef const char *LPCTSTR, *PCTSTR;
#define __TEXT(quote) quote
#endif
#define TEXT(quote) __TEXT(quote)

/* ---- Rtl*Memory (winnt.h) and their winbase-level names (minwinbase.h) ----------------- */

#define RtlEqualMemory(Destination, Source, Length) (!memcmp((Destination), (Source), (Length)))
#define RtlMoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define RtlCopyMemory(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define RtlFillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define RtlZeroMemory(Destination, Length) memset((Destination), 0, (Length))

/* A store the compiler may not drop as dead (the point of SecureZeroMemory: wiping secrets
 * in a buffer that is about to go out of scope).  Returns ptr, as the SDK's does. */
FORCEINLINE PVOID RtlSecureZeroMemory(PVOID ptr, SIZE_T cnt)
{
    volatile char *p = (volatile char *)ptr;
    while (cnt--)
        *p++ = 0;
    return ptr;
}

#define MoveMemory RtlMoveMemory
#define CopyMemory RtlCopyMemory
#define FillMemory RtlFillMemory
#define ZeroMemory RtlZeroMemory
#define SecureZeroMemory RtlSecureZeroMemory
#define EqualMemory RtlEqualMemory

/* ---- barriers ----------------------------------------------------------------------------- */

/* A full hardware memory barrier (loads and stores on both sides stay there).  gcc's
 * ThreadSanitizer refuses a fence (-Wtsan); there a sequentially consistent read-modify-write
 * of a stack variable gives the same barrier on the hardware (x86-64's own MemoryBarrier is a
 * locked instruction too). */
#if defined(__SANITIZE_THREAD__) && !defined(__clang__)
static __inline void wm_memory_barrier_(void)
{
    int word = 0;
    __atomic_fetch_or(&word, 0, __ATOMIC_SEQ_CST);
}
#define MemoryBarrier() wm_memory_barrier_()
#else
#define MemoryBarrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
/* Only the compiler may not move memory accesses across it. */
#define _ReadWriteBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define _ReadBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define _WriteBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
/* The spin-wait hint (PAUSE on x86-64, YIELD on ARM64). */
#if defined(__x86_64__) || defined(__i386__)
#define YieldProcessor() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define YieldProcessor() __asm__ __volatile__("yield" ::: "memory")
#else
#define YieldProcessor() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

/* ---- the Interlocked family -------------------------------------------------------------- */

/* One width (T, the name's width suffix W) in one memory order (the name's order suffix O). */
#define WM_INTERLOCKED_RMW(T, O, W, order)                                              \
    FORCEINLINE T InterlockedIncrement##O##W(T volatile *Addend)                        \
    {                                                                                   \
        return __atomic_add_fetch(Addend, 1, order);                                    \
    }                                                                                   \
    FORCEINLINE T InterlockedDecrement##O##W(T volatile *Addend)                        \
    {                                                                                   \
        return __atomic_sub_fetch(Addend, 1, order);                                    \
    }                                                                                   \
    FORCEINLINE T InterlockedAdd##O##W(T volatile *Addend, T Value)                     \
    {                                                                                   \
        return __atomic_add_fetch(Addend, Value, order);                                \
    }                                                                                   \
    FORCEINLINE T InterlockedExchangeAdd##O##W(T volatile *Addend, T Value)             \
    {                                                                                   \
        return __atomic_fetch_add(Addend, Value, order);                                \
    }                                                                                   \
    FORCEINLINE T InterlockedExchange##O##W(T volatile *Target, T Value)                \
    {                                                                                   \
        return __atomic_exchange_n(Target, Value, order);                               \
    }                                                                                   \
    FORCEINLINE T InterlockedCompareExchange##O##W(T volatile *Destination, T ExChange, \
                                                   T Comperand)                         \
    {                                                                                   \
        __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, order,        \
                                    order == __ATOMIC_RELEASE   ? __ATOMIC_RELAXED      \
                                    : order == __ATOMIC_ACQ_REL ? __ATOMIC_ACQUIRE      \
                                                                : order);               \
        return Comperand;                                                               \
    }                                                                                   \
    FORCEINLINE T InterlockedAnd##W##O(T volatile *Destination, T Value)                \
    {                                                                                   \
        return __atomic_fetch_and(Destination, Value, order);                           \
    }                                                                                   \
    FORCEINLINE T InterlockedOr##W##O(T volatile *Destination, T Value)                 \
    {                                                                                   \
        return __atomic_fetch_or(Destination, Value, order);                            \
    }                                                                                   \
    FORCEINLINE T InterlockedXor##W##O(T volatile *Destination, T Value)                \
    {                                                                                   \
        return __atomic_fetch_xor(Destination, Value, order);                           \
    }

WM_INTERLOCKED_RMW(LONG, , , __ATOMIC_SEQ_CST)
WM_INTERLOCKED_RMW(LONG, Acquire, , __ATOMIC_ACQUIRE)
WM_INTERLOCKED_RMW(LONG, Release, , __ATOMIC_RELEASE)
WM_INTERLOCKED_RMW(LONG, NoFence, , __ATOMIC_RELAXED)
WM_INTERLOCKED_RMW(LONG64, , 64, __ATOMIC_SEQ_CST)
WM_INTERLOCKED_RMW(LONG64, Acquire, 64, __ATOMIC_ACQUIRE)
WM_INTERLOCKED_RMW(LONG64, Release, 64, __ATOMIC_RELEASE)
WM_INTERLOCKED_RMW(LONG64, NoFence, 64, __ATOMIC_RELAXED)
#undef WM_INTERLOCKED_RMW

/* The narrow forms the SDK has (x64): 16-bit increment / decrement / compare-exchange, and
 * 8- and 16-bit exchange, and, or, xor. */
FORCEINLINE SHORT InterlockedIncrement16(SHORT volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
FORCEINLINE SHORT InterlockedDecrement16(SHORT volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
FORCEINLINE SHORT InterlockedCompareExchange16(SHORT volatile *Destination, SHORT ExChange,
                                               SHORT Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;
}
FORCEINLINE CHAR InterlockedExchange8(CHAR volatile *Target, CHAR Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
FORCEINLINE SHORT InterlockedExchange16(SHORT volatile *Target, SHORT Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
#define WM_INTERLOCKED_NARROW(T, W, O, order)                            \
    FORCEINLINE T InterlockedAnd##W##O(T volatile *Destination, T Value) \
    {                                                                    \
        return __atomic_fetch_and(Destination, Value, order);            \
    }                                                                    \
    FORCEINLINE T InterlockedOr##W##O(T volatile *Destination, T Value)  \
    {                                                                    \
        return __atomic_fetch_or(Destination, Value, order);             \
    }                                                                    \
    FORCEINLINE T InterlockedXor##W##O(T volatile *Destination, T Value) \
    {                                                                    \
        return __atomic_fetch_xor(Destination, Value, order);            \
    }
WM_INTERLOCKED_NARROW(CHAR, 8, , __ATOMIC_SEQ_CST)
WM_INTERLOCKED_NARROW(CHAR, 8, Acquire, __ATOMIC_ACQUIRE)
WM_INTERLOCKED_NARROW(CHAR, 8, Release, __ATOMIC_RELEASE)
WM_INTERLOCKED_NARROW(CHAR, 8, NoFence, __ATOMIC_RELAXED)
WM_INTERLOCKED_NARROW(SHORT, 16, , __ATOMIC_SEQ_CST)
WM_INTERLOCKED_NARROW(SHORT, 16, Acquire, __ATOMIC_ACQUIRE)
WM_INTERLOCKED_NARROW(SHORT, 16, Release, __ATOMIC_RELEASE)
WM_INTERLOCKED_NARROW(SHORT, 16, NoFence, __ATOMIC_RELAXED)
#undef WM_INTERLOCKED_NARROW

/* Pointers: exchange and compare-exchange, in each order. */
#define WM_INTERLOCKED_POINTER(O, order)                                                    \
    FORCEINLINE PVOID InterlockedExchangePointer##O(PVOID volatile *Target, PVOID Value)    \
    {                                                                                       \
        return __atomic_exchange_n(Target, Value, order);                                   \
    }                                                                                       \
    FORCEINLINE PVOID InterlockedCompareExchangePointer##O(PVOID volatile *Destination,     \
                                                           PVOID ExChange, PVOID Comperand) \
    {                                                                                       \
        __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, order,            \
                                    order == __ATOMIC_RELEASE ? __ATOMIC_RELAXED : order);  \
        return Comperand;                                                                   \
    }
WM_INTERLOCKED_POINTER(, __ATOMIC_SEQ_CST)
WM_INTERLOCKED_POINTER(Acquire, __ATOMIC_ACQUIRE)
WM_INTERLOCKED_POINTER(Release, __ATOMIC_RELEASE)
WM_INTERLOCKED_POINTER(NoFence, __ATOMIC_RELAXED)
#undef WM_INTERLOCKED_POINTER

/* Atomic bit test-and-set / reset on a LONG array: the bit's old value. */
FORCEINLINE BOOLEAN InterlockedBitTestAndSet(LONG volatile *Base, LONG Offset)
{
    LONG bit = (LONG)(1u << (Offset & 31));
    return (__atomic_fetch_or(Base + (Offset >> 5), bit, __ATOMIC_SEQ_CST) & bit) != 0;
}
FORCEINLINE BOOLEAN InterlockedBitTestAndReset(LONG volatile *Base, LONG Offset)
{
    LONG bit = (LONG)(1u << (Offset & 31));
    return (__atomic_fetch_and(Base + (Offset >> 5), ~bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

/* The SDK's names for the SIZE_T-wide forms on 64-bit Windows. */
#define InterlockedExchangeAddSizeT(a, b) InterlockedExchangeAdd64((LONG64 volatile *)(a), (b))
#define InterlockedIncrementSizeT(a) InterlockedIncrement64((LONG64 volatile *)(a))
#define InterlockedDecrementSizeT(a) InterlockedDecrement64((LONG64 volatile *)(a))

#endif
