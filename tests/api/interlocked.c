/*
 * interlocked.c - the inline parts of winnt.h as the SDK declares them: the Interlocked*
 * family (what each returns, in every width and memory order), MemoryBarrier and
 * YieldProcessor, the ZeroMemory / CopyMemory / MoveMemory / FillMemory / SecureZeroMemory
 * macros and their Rtl forms (memset and memcpy come with <windows.h>), and the headers a port
 * includes unconditionally: <tchar.h> (the ANSI mapping) and <winapifamily.h>.  Plain Win32
 * C: also builds with mingw-w64.
 */
#include <windows.h>
#include <winapifamily.h>
#include <tchar.h>

#include "wmtest.h"

#if !WINAPI_FAMILY_PARTITION(WINAPI_PARTITION_DESKTOP)
#error "a desktop program must see the desktop partition"
#endif

static void test_32(void)
{
    LONG volatile v = 5;

    CHECK_EQ(InterlockedIncrement(&v), 6);
    CHECK_EQ(InterlockedDecrement(&v), 5);
    CHECK_EQ(InterlockedExchange(&v, 9), 5);
    CHECK_EQ(v, 9);
    CHECK_EQ(InterlockedExchangeAdd(&v, 3), 9);
    CHECK_EQ(v, 12);
    CHECK_EQ(InterlockedAdd(&v, -2), 10);
    /* Compare-exchange returns the old value whether or not it stored. */
    CHECK_EQ(InterlockedCompareExchange(&v, 20, 7), 10);
    CHECK_EQ(v, 10);
    CHECK_EQ(InterlockedCompareExchange(&v, 20, 10), 10);
    CHECK_EQ(v, 20);
    CHECK_EQ(InterlockedAnd(&v, 0x14), 20);
    CHECK_EQ(v, 0x14);
    CHECK_EQ(InterlockedOr(&v, 0x3), 0x14);
    CHECK_EQ(v, 0x17);
    CHECK_EQ(InterlockedXor(&v, 0x5), 0x17);
    CHECK_EQ(v, 0x12);
    /* Signed: decrementing past zero gives -1, as LONG is 32-bit on both systems. */
    v = 0;
    CHECK_EQ(InterlockedDecrement(&v), (LONG)-1);
    CHECK_EQ(sizeof(v), 4);
    v = 0x7fffffff;
    CHECK_EQ(InterlockedIncrement(&v), (LONG)0x80000000);

    v = 1;
    CHECK_EQ(InterlockedIncrementAcquire(&v), 2);
    CHECK_EQ(InterlockedIncrementRelease(&v), 3);
    CHECK_EQ(InterlockedDecrementAcquire(&v), 2);
    CHECK_EQ(InterlockedDecrementRelease(&v), 1);
    CHECK_EQ(InterlockedCompareExchangeAcquire(&v, 4, 1), 1);
    CHECK_EQ(InterlockedCompareExchangeRelease(&v, 5, 4), 4);
    CHECK_EQ(v, 5);
#ifndef _WIN32 /* mingw-w64 declares these for ARM only */
    CHECK_EQ(InterlockedOrAcquire(&v, 2), 5);
    CHECK_EQ(InterlockedAndRelease(&v, 6), 7);
    CHECK_EQ(InterlockedXorAcquire(&v, 6), 6);
    CHECK_EQ(v, 0);
    CHECK_EQ(InterlockedIncrementNoFence(&v), 1);
    CHECK_EQ(InterlockedExchangeAddNoFence(&v, 4), 1);
    CHECK_EQ(InterlockedCompareExchangeNoFence(&v, 0, 5), 5);
    CHECK_EQ(v, 0);
#endif
}

static void test_64(void)
{
    LONG64 volatile v = (LONG64)1 << 40;

    CHECK_EQ(InterlockedIncrement64(&v), ((LONG64)1 << 40) + 1);
    CHECK_EQ(InterlockedDecrement64(&v), (LONG64)1 << 40);
    CHECK_EQ(InterlockedExchange64(&v, 7), (LONG64)1 << 40);
    CHECK_EQ(InterlockedExchangeAdd64(&v, (LONG64)1 << 33), 7);
    CHECK_EQ(InterlockedAdd64(&v, 1), ((LONG64)1 << 33) + 8);
    CHECK_EQ(InterlockedCompareExchange64(&v, 3, ((LONG64)1 << 33) + 8), ((LONG64)1 << 33) + 8);
    CHECK_EQ(v, 3);
    CHECK_EQ(InterlockedAnd64(&v, 1), 3);
    CHECK_EQ(InterlockedOr64(&v, (LONG64)1 << 50), 1);
    CHECK_EQ(InterlockedXor64(&v, 1), ((LONG64)1 << 50) + 1);
    CHECK_EQ(v, (LONG64)1 << 50);
    CHECK_EQ(InterlockedCompareExchangeAcquire64(&v, 0, (LONG64)1 << 50), (LONG64)1 << 50);
    CHECK_EQ(InterlockedCompareExchangeRelease64(&v, 2, 0), 0);
    CHECK_EQ(InterlockedExchangeAcquire64(&v, 9), 2);
#ifndef _WIN32
    CHECK_EQ(InterlockedAnd64Acquire(&v, 8), 9);
    CHECK_EQ(InterlockedOr64Release(&v, 1), 8);
    CHECK_EQ(InterlockedXor64Acquire(&v, 9), 9);
    CHECK_EQ(v, 0);
#endif
}

static void test_narrow_and_pointer(void)
{
    SHORT volatile s = 1;
    int a, b;
    PVOID volatile p = &a;

    CHECK_EQ(InterlockedIncrement16(&s), 2);
    CHECK_EQ(InterlockedDecrement16(&s), 1);
    CHECK_EQ(InterlockedCompareExchange16(&s, 9, 1), 1);
    CHECK_EQ(s, 9);
#ifndef _WIN32 /* mingw-w64's import libraries lack the 8- and 16-bit and/or/xor */
    CHECK_EQ(InterlockedOr16(&s, 6), 9);
    CHECK_EQ(InterlockedAnd16(&s, 3), 15);
    CHECK_EQ(InterlockedXor16(&s, 3), 3);
    CHECK_EQ(s, 0);
    CHAR volatile c = 0x0f;
    CHECK_EQ(InterlockedAnd8(&c, 0x3c), 0x0f);
    CHECK_EQ(InterlockedOr8(&c, 0x40), 0x0c);
    CHECK_EQ(InterlockedXor8(&c, 0x4c), 0x4c);
    CHECK_EQ(c, 0);
#endif

    CHECK(InterlockedExchangePointer(&p, &b) == &a);
    CHECK(p == &b);
    CHECK(InterlockedCompareExchangePointer(&p, NULL, &a) == &b);
    CHECK(p == &b);
    CHECK(InterlockedCompareExchangePointer(&p, &a, &b) == &b);
    CHECK(p == &a);
    CHECK(InterlockedCompareExchangePointerAcquire(&p, &b, &a) == &a);
    CHECK(InterlockedCompareExchangePointerRelease(&p, NULL, &b) == &b);
    CHECK(p == NULL);

    LONG volatile bits[2] = { 0, 0 };
    CHECK_EQ(InterlockedBitTestAndSet(bits, 33), 0);
    CHECK_EQ(bits[1], 2);
    CHECK_EQ(InterlockedBitTestAndSet(bits, 33), 1);
    CHECK_EQ(InterlockedBitTestAndReset(bits, 33), 1);
    CHECK_EQ(bits[1], 0);

    MemoryBarrier();
    YieldProcessor();
}

static void test_memory(void)
{
    char a[16], b[16];

    memset(a, 'x', sizeof(a));
    ZeroMemory(a, 4);
    CHECK(a[0] == 0 && a[3] == 0 && a[4] == 'x');
    FillMemory(a, 2, 'q');
    CHECK(a[0] == 'q' && a[1] == 'q' && a[2] == 0);
    CopyMemory(b, a, sizeof(a));
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    /* Overlapping: MoveMemory is memmove. */
    memcpy(a, "0123456789", 11);
    MoveMemory(a + 2, a, 8);
    CHECK(memcmp(a, "0101234567", 10) == 0);
    CHECK(SecureZeroMemory(b, 8) == b);
    CHECK(b[0] == 0 && b[7] == 0 && b[8] == 'x');
    RtlZeroMemory(a, 3);
    RtlFillMemory(a + 3, 1, 'z');
    RtlCopyMemory(b, a, 4);
    RtlMoveMemory(b + 1, b, 3);
    CHECK(b[0] == 0 && b[3] == 0 && a[3] == 'z');
    CHECK(RtlSecureZeroMemory(a, 16) == a);
    CHECK(a[15] == 0);
}

static void test_tchar(void)
{
    /* Without _UNICODE, the ANSI mapping: _TCHAR is char and the _tcs names are str ones. */
    const _TCHAR *s = _T("port");
    TCHAR buf[8];

    CHECK_EQ(sizeof(_TCHAR), 1);
    CHECK_EQ(sizeof(TCHAR), 1);
    CHECK_EQ(_tcslen(s), 4);
    _tcscpy(buf, TEXT("ab"));
    _tcscat(buf, s);
    CHECK(_tcscmp(buf, _T("abport")) == 0);
    CHECK(_tcschr(buf, _T('p')) == buf + 2);
}

int main(void)
{
    test_32();
    test_64();
    test_narrow_and_pointer();
    test_memory();
    test_tchar();
    return wmt_report();
}
