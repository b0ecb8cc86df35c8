/*
 * handle.c - handles as Windows hands them out: duplicating the pseudo handles gives real
 * process and thread handles (the process one works wherever GetCurrentProcess() does),
 * DUPLICATE_CLOSE_SOURCE closes the source whatever else happens, and a closed handle's
 * value is the next one given.  Plain Win32 C: also builds with mingw-w64.
 */
#include "apitest.h"

static HANDLE new_mapping(void)
{
    return CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536, NULL);
}

static void test_pseudo_handles(void)
{
    HANDLE p = NULL, t = NULL;
    MEMORY_BASIC_INFORMATION mbi;

    memset(&mbi, 0, sizeof(mbi));
    CHECK(DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(), &p, 0,
                          FALSE, DUPLICATE_SAME_ACCESS));
    CHECK(p != NULL && p != GetCurrentProcess() && p != INVALID_HANDLE_VALUE);
    /* A real handle to this process does what the pseudo handle does. */
    void *a = VirtualAllocEx(p, NULL, 65536, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    CHECK(a != NULL);
    CHECK_EQ(VirtualQueryEx(p, a, &mbi, sizeof(mbi)), sizeof(mbi));
    CHECK_EQ(mbi.State, MEM_COMMIT);
    CHECK(VirtualFreeEx(p, a, 0, MEM_RELEASE));
    CHECK(CloseHandle(p));
    CHECK_FAILS(VirtualAllocEx(p, NULL, 65536, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_HANDLE);

    /* A thread handle is no process handle. */
    CHECK(DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &t, 0,
                          FALSE, DUPLICATE_SAME_ACCESS));
    CHECK(t != NULL && t != GetCurrentThread());
    CHECK_FAILS(VirtualAllocEx(t, NULL, 65536, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(t));
}

static void test_close_source(void)
{
    HANDLE m = new_mapping(), d = NULL;
    REQUIRE_VOID(m != NULL);
    /* No target process: nothing is duplicated, the source is closed. */
    CHECK(DuplicateHandle(GetCurrentProcess(), m, NULL, NULL, 0, FALSE, DUPLICATE_CLOSE_SOURCE));
    CHECK_FAILS(CloseHandle(m), ERROR_INVALID_HANDLE);

    /* A bad target process fails the call, and still the source is closed. */
    m = new_mapping();
    REQUIRE_VOID(m != NULL);
    CHECK_FAILS(DuplicateHandle(GetCurrentProcess(), m, (HANDLE)(ULONG_PTR)0x7ff0, &d, 0, FALSE,
                                DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS),
                ERROR_INVALID_HANDLE);
    CHECK_FAILS(CloseHandle(m), ERROR_INVALID_HANDLE);

    /* Without DUPLICATE_CLOSE_SOURCE a missing target process is an error, and the source
     * stays open. */
    m = new_mapping();
    REQUIRE_VOID(m != NULL);
    CHECK_FAILS(DuplicateHandle(GetCurrentProcess(), m, NULL, &d, 0, FALSE, DUPLICATE_SAME_ACCESS),
                ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(m));

    /* Duplicate and close in one: the copy lives on. */
    m = new_mapping();
    REQUIRE_VOID(m != NULL);
    CHECK(DuplicateHandle(GetCurrentProcess(), m, GetCurrentProcess(), &d, 0, FALSE,
                          DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    /* The new handle may take the closed one's value (Wine's does); if not, the old value is
     * closed. */
    if (d != m)
        CHECK_FAILS(CloseHandle(m), ERROR_INVALID_HANDLE);
    void *v = MapViewOfFile(d, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(v != NULL);
    if (v)
        CHECK(UnmapViewOfFile(v));
    CHECK(CloseHandle(d));
}

#ifndef _WIN32
/* Many handles: a closed one's value comes back first (winmem keeps a free list; Windows
 * reuses freed entries too), and tens of thousands cost no more than a few. */
static void test_many(void)
{
    enum { N = 20000 };
    static HANDLE h[N];
    HANDLE m = new_mapping();
    int made = 0;

    REQUIRE_VOID(m != NULL);
    for (int i = 0; i < N; i++)
        made += DuplicateHandle(GetCurrentProcess(), m, GetCurrentProcess(), &h[i], 0, FALSE,
                                DUPLICATE_SAME_ACCESS) != FALSE;
    CHECK_EQ(made, N);
    HANDLE mid = h[N / 2], again = NULL;
    CHECK(CloseHandle(mid));
    CHECK(DuplicateHandle(GetCurrentProcess(), m, GetCurrentProcess(), &again, 0, FALSE,
                          DUPLICATE_SAME_ACCESS));
    CHECK(again == mid);
    for (int i = 0; i < N; i++)
        CHECK(CloseHandle(h[i]));
    CHECK(CloseHandle(m));
}
#endif

int main(void)
{
    at_init();
    test_pseudo_handles();
    test_close_source();
#ifndef _WIN32
    test_many();
#endif
    return wmt_report();
}
