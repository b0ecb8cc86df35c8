/*
 * mapping_names.c - many named sections at once: 10,000 read-only named sections, each then
 * found by OpenFileMappingA as that very object (its protection refuses a write view, as a
 * section merely sharing the name would not) and by a second CreateFileMappingA
 * (ERROR_ALREADY_EXISTS); once their handles close, no name is left (on Linux: none of them
 * in /dev/shm).  Each named section holds one descriptor in winmem, so on Linux the test
 * raises its soft RLIMIT_NOFILE to the hard limit, and skips when even that is too low.
 */
#include "apitest.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef _WIN32
#include <dirent.h>
#include <unistd.h>
#endif

#define COUNT 10000

static int count_names(const char *prefix)
{
#ifndef _WIN32
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
#else
    (void)prefix;
    return 0;
#endif
}

int main(void)
{
    static HANDLE m[COUNT];
    char name[100], prefix[100];
    int bad_create = 0, bad_open = 0, bad_again = 0;
    unsigned long pid = (unsigned long)GetCurrentProcessId();

    at_init();
    if (!wmt_descriptors_for("the names", COUNT))
        return wmt_report();
#ifndef _WIN32
    snprintf(prefix, sizeof(prefix), "winmem-%u-L-winmem-names-%lu-", (unsigned)geteuid(), pid);
#endif

    for (int i = 0; i < COUNT; i++) {
        snprintf(name, sizeof(name), "winmem-names-%lu-%d", pid, i);
        SetLastError(0xdeadbeef);
        m[i] = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, (DWORD)PAGE, name);
        if ((!m[i] || GetLastError() != 0) && bad_create++ < 5)
            WMT_FAIL("create %d: %p, last error %lu", i, (void *)m[i],
                     (unsigned long)GetLastError());
    }
    CHECK_EQ(bad_create, 0);
#ifndef _WIN32
    CHECK_EQ(count_names(prefix), COUNT);
#endif

    /* Every one is found while its handle is open, as the object it is. */
    for (int i = 0; i < COUNT; i++) {
        snprintf(name, sizeof(name), "winmem-names-%lu-%d", pid, i);
        HANDLE o = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name);
        void *w = o ? MapViewOfFile(o, FILE_MAP_WRITE, 0, 0, 0) : NULL;
        if ((!o || w) && bad_open++ < 5)
            WMT_FAIL("open %d: %p, write view %p (last error %lu)", i, (void *)o, w,
                     (unsigned long)GetLastError());
        if (w)
            UnmapViewOfFile(w);
        if (o)
            CloseHandle(o);
        if (i % 7 == 0) {
            SetLastError(0xdeadbeef);
            HANDLE again =
                CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, (DWORD)PAGE, name);
            if ((!again || GetLastError() != ERROR_ALREADY_EXISTS) && bad_again++ < 5)
                WMT_FAIL("create %d again: %p, last error %lu", i, (void *)again,
                         (unsigned long)GetLastError());
            if (again)
                CloseHandle(again);
        }
    }
    CHECK_EQ(bad_open, 0);
    CHECK_EQ(bad_again, 0);

    for (int i = 0; i < COUNT; i++)
        if (m[i])
            CloseHandle(m[i]);
    CHECK_EQ(count_names(prefix), 0);
    for (int i = 0; i < COUNT; i += 997) {
        snprintf(name, sizeof(name), "winmem-names-%lu-%d", pid, i);
        CHECK_FAILS(OpenFileMappingA(FILE_MAP_READ, FALSE, name), ERROR_FILE_NOT_FOUND);
    }
    return wmt_report();
}
