/*
 * timing.c - the clock, sleep and identity calls ports use around their memory code:
 * GetTickCount / GetTickCount64 and QueryPerformanceCounter advance together and agree with
 * Sleep's duration; QueryPerformanceFrequency is fixed; Sleep(0), SleepEx and SwitchToThread
 * return; GetCurrentProcessId / GetCurrentThreadId are stable and the thread id differs per
 * thread; GetCurrentProcessorNumber is below the processor count.  Plain Win32 C: also
 * builds with mingw-w64.
 */
#include "apitest.h"

#ifndef _WIN32
#include <pthread.h>
#endif

static DWORD other_tid;

#ifdef _WIN32
static DWORD WINAPI record_tid(LPVOID arg)
{
    (void)arg;
    other_tid = GetCurrentThreadId();
    return 0;
}
#else
static void *record_tid(void *arg)
{
    (void)arg;
    other_tid = GetCurrentThreadId();
    return NULL;
}
#endif

static void test_clocks(void)
{
    LARGE_INTEGER f1, f2, c1, c2;

    CHECK(QueryPerformanceFrequency(&f1));
    CHECK(QueryPerformanceFrequency(&f2));
    CHECK(f1.QuadPart > 0 && f1.QuadPart == f2.QuadPart);

    ULONGLONG t1 = GetTickCount64();
    DWORD d1 = GetTickCount();
    CHECK(QueryPerformanceCounter(&c1));
    Sleep(60);
    CHECK(QueryPerformanceCounter(&c2));
    ULONGLONG t2 = GetTickCount64();
    DWORD d2 = GetTickCount();

    /* The 32-bit count is the 64-bit one's low half. */
    CHECK((DWORD)t1 - d1 < 50);
    double slept = (double)(c2.QuadPart - c1.QuadPart) / (double)f1.QuadPart;
    CHECK(slept >= 0.055 && slept < 5.0);
    /* The tick count moves in steps (Windows: 10-16 ms), so allow one step either side. */
    CHECK(t2 - t1 >= 40 && t2 - t1 < 5000);
    CHECK(d2 - d1 >= 40 && d2 - d1 < 5000);
    CHECK(t1 > 0);
}

static void test_sleep_and_yield(void)
{
    LARGE_INTEGER f, c1, c2;

    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c1);
    Sleep(0);
    CHECK_EQ(SleepEx(0, FALSE), 0);
    CHECK_EQ(SleepEx(20, TRUE), 0); /* nothing queued: the full time, then 0 */
    SwitchToThread();
    QueryPerformanceCounter(&c2);
    double took = (double)(c2.QuadPart - c1.QuadPart) / (double)f.QuadPart;
    CHECK(took >= 0.018 && took < 5.0);
}

static void test_ids(void)
{
    SYSTEM_INFO si;

    GetSystemInfo(&si);
    CHECK(GetCurrentProcessId() != 0);
    CHECK_EQ(GetCurrentProcessId(), GetCurrentProcessId());
    CHECK(GetCurrentThreadId() != 0);
    CHECK_EQ(GetCurrentThreadId(), GetCurrentThreadId());
    CHECK(GetCurrentProcessorNumber() < si.dwNumberOfProcessors);

#ifdef _WIN32
    HANDLE h = CreateThread(NULL, 0, record_tid, NULL, 0, NULL);
    WaitForSingleObject(h, INFINITE);
    CloseHandle(h);
#else
    pthread_t t;
    pthread_create(&t, NULL, record_tid, NULL);
    pthread_join(t, NULL);
#endif
    CHECK(other_tid != 0 && other_tid != GetCurrentThreadId());
}

int main(void)
{
    test_clocks();
    test_sleep_and_yield();
    test_ids();
    return wmt_report();
}
