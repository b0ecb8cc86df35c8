/*
 * tls.c - thread- and fiber-local storage as Windows keeps it: TlsAlloc hands out the lowest
 * free index, TlsGetValue sets the last error to ERROR_SUCCESS when it succeeds (so a stored
 * NULL can be told from a failure), values are per thread, a freed index reads NULL in every
 * thread when handed out again; FlsAlloc's callback runs for a thread's non-NULL value when
 * the thread exits and for every thread's value at FlsFree, never for NULL.  The thread
 * helpers use CreateThread on Windows and pthreads on Linux (winmem starts no threads).
 * Plain Win32 C otherwise: also builds with mingw-w64.
 */
#include "apitest.h"

#ifdef _WIN32
typedef HANDLE thread_t;
static DWORD WINAPI thread_entry(LPVOID arg)
{
    ((void (*)(void))arg)();
    return 0;
}
static void run_thread(void (*fn)(void))
{
    HANDLE h = CreateThread(NULL, 0, thread_entry, (LPVOID)fn, 0, NULL);
    WaitForSingleObject(h, INFINITE);
    CloseHandle(h);
}
#else
#include <pthread.h>
static void *thread_entry(void *arg)
{
    void (*fn)(void);
    memcpy(&fn, &arg, sizeof(fn));
    fn();
    return NULL;
}
static void run_thread(void (*fn)(void))
{
    pthread_t t;
    void *arg;
    memcpy(&arg, &fn, sizeof(arg));
    pthread_create(&t, NULL, thread_entry, arg);
    pthread_join(t, NULL);
}
#endif

static DWORD tls_index, fls_index;
static int seen_callbacks;
static void *callback_values[8];

static void NTAPI fls_callback(PVOID data)
{
    if (seen_callbacks < 8)
        callback_values[seen_callbacks] = data;
    seen_callbacks++;
}

static void test_tls_errors(void)
{
    DWORD i = TlsAlloc();
    REQUIRE_VOID(i != TLS_OUT_OF_INDEXES);

    SetLastError(0xdeadbeef);
    CHECK(TlsGetValue(i) == NULL);
    CHECK_EQ(GetLastError(), ERROR_SUCCESS);
    CHECK(TlsSetValue(i, &i));
    SetLastError(0xdeadbeef);
    CHECK(TlsGetValue(i) == &i);
    CHECK_EQ(GetLastError(), ERROR_SUCCESS);
    CHECK(TlsFree(i));
    /* Out of range: every call refuses it. */
    CHECK_FAILS(TlsGetValue(1088), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(TlsSetValue(1088, &i), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(TlsFree(1088), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(TlsGetValue(TLS_OUT_OF_INDEXES), ERROR_INVALID_PARAMETER);
}

static void tls_thread(void)
{
    /* A new thread starts with NULL in every index. */
    CHECK(TlsGetValue(tls_index) == NULL);
    CHECK(TlsSetValue(tls_index, (void *)0x5678));
    CHECK(TlsGetValue(tls_index) == (void *)0x5678);
}

static void test_tls_per_thread(void)
{
    tls_index = TlsAlloc();
    REQUIRE_VOID(tls_index != TLS_OUT_OF_INDEXES);
    CHECK(TlsSetValue(tls_index, (void *)0x1234));
    run_thread(tls_thread);
    CHECK(TlsGetValue(tls_index) == (void *)0x1234);
    /* Freed and handed out again: the old value is gone in this thread too. */
    CHECK(TlsFree(tls_index));
    DWORD again = TlsAlloc();
    CHECK_EQ(again, tls_index);
    CHECK(TlsGetValue(again) == NULL);
    CHECK(TlsFree(again));
}

static void test_tls_exhaustion(void)
{
    static DWORD taken[1100];
    int n = 0;
    DWORD i;

    /* Windows has 64 + 1024 slots; the process (and its DLLs) may hold some already. */
    while (n < 1100 && (i = TlsAlloc()) != TLS_OUT_OF_INDEXES)
        taken[n++] = i;
    CHECK(n > 900 && n <= 1088);
    for (int k = 1; k < n; k++)
        CHECK(taken[k] < 1088);
    SetLastError(0xdeadbeef);
    CHECK_EQ(TlsAlloc(), TLS_OUT_OF_INDEXES);
    CHECK_EQ(GetLastError(), ERROR_NO_MORE_ITEMS);
    while (n > 0)
        TlsFree(taken[--n]);
}

static void fls_thread(void)
{
    CHECK(FlsGetValue(fls_index) == NULL);
    CHECK(FlsSetValue(fls_index, (void *)0xabc));
}

static void fls_thread_null(void)
{
    CHECK(FlsSetValue(fls_index, (void *)0xdef));
    CHECK(FlsSetValue(fls_index, NULL));
}

static void test_fls(void)
{
    fls_index = FlsAlloc(fls_callback);
    REQUIRE_VOID(fls_index != FLS_OUT_OF_INDEXES);
    SetLastError(0xdeadbeef);
    CHECK(FlsGetValue(fls_index) == NULL);

    /* A thread that exits with a value: its callback runs, with that value. */
    seen_callbacks = 0;
    run_thread(fls_thread);
    CHECK_EQ(seen_callbacks, 1);
    CHECK(callback_values[0] == (void *)0xabc);
    /* One that exits with NULL: none. */
    run_thread(fls_thread_null);
    CHECK_EQ(seen_callbacks, 1);

    /* FlsFree runs it for the value still set (here, this thread's). */
    CHECK(FlsSetValue(fls_index, (void *)0x777));
    CHECK(FlsGetValue(fls_index) == (void *)0x777);
    CHECK(FlsFree(fls_index));
    CHECK_EQ(seen_callbacks, 2);
    CHECK(callback_values[1] == (void *)0x777);
    /* A freed index is refused, and so is freeing it twice. */
    CHECK_FAILS(FlsFree(fls_index), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(FlsGetValue(FLS_OUT_OF_INDEXES), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(FlsSetValue(FLS_OUT_OF_INDEXES, &seen_callbacks), ERROR_INVALID_PARAMETER);

    /* Without a callback, a value is simply dropped. */
    DWORD plain = FlsAlloc(NULL);
    REQUIRE_VOID(plain != FLS_OUT_OF_INDEXES);
    CHECK(FlsSetValue(plain, &plain));
    CHECK(FlsGetValue(plain) == &plain);
    CHECK(FlsFree(plain));
    CHECK_EQ(seen_callbacks, 2);
}

int main(void)
{
    test_tls_errors();
    test_tls_per_thread();
    test_tls_exhaustion();
    test_fls();
    return wmt_report();
}
