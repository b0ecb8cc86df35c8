/*
 * mapping_leaks.c - thousands of create / open / duplicate / map / unmap / close cycles of
 * file-mapping objects (paging-file and file-backed, named and unnamed, copy-on-write views,
 * refused calls) must give back everything: on Linux the number of open descriptors
 * (/proc/self/fd), of mappings (/proc/self/maps lines) and of winmem names in /dev/shm end
 * where they started.  Elsewhere (mingw-w64 under Wine or Windows) only the cycles run.
 */
#include "apitest.h"

#include <stdio.h>

#ifndef _WIN32
#include <dirent.h>
#include <unistd.h>
#endif

#define CYCLES 2000

static char path[360], empty_path[400];

static int count_entries(const char *dir, const char *prefix)
{
#ifndef _WIN32
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
#else
    (void)dir, (void)prefix;
    return 0;
#endif
}

static int count_maps(void)
{
#ifndef _WIN32
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
#else
    return 0;
#endif
}

static int failures;
#define STEP(cond)                                                                        \
    do {                                                                                  \
        if (!(cond) && failures++ < 5)                                                    \
            WMT_FAIL("cycle step %s failed (%lu)", #cond, (unsigned long)GetLastError()); \
    } while (0)

static void cycle_pagefile(int i)
{
    DWORD old;
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                  (DWORD)(PAGE * (1 + i % 3)), NULL);
    STEP(m != NULL);
    BYTE *w = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    BYTE *c = MapViewOfFile(m, FILE_MAP_COPY, 0, 0, PAGE);
    STEP(w && c);
    if (w && c) {
        w[0] = (BYTE)i;
        c[1] = 1; /* a private copy */
        STEP(VirtualProtect(w, PAGE, PAGE_WRITECOPY, &old));
        w[2] = 2; /* a private copy inside a shared view */
    }
    HANDLE d = NULL;
    STEP(DuplicateHandle(GetCurrentProcess(), m, GetCurrentProcess(), &d, FILE_MAP_READ, FALSE, 0));
    /* Refused calls. */
    STEP(MapViewOfFile(m, FILE_MAP_WRITE, 0, (DWORD)PAGE, 0) == NULL);
    STEP(MapViewOfFile(d, FILE_MAP_WRITE, 0, 0, 0) == NULL);
    STEP(MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 4 * PAGE) == NULL);
    /* Half the time the handles go first and the views hold the section. */
    if (i & 1) {
        STEP(CloseHandle(m) && CloseHandle(d));
        STEP(UnmapViewOfFile(w) && UnmapViewOfFile(c + 5));
    } else {
        STEP(UnmapViewOfFile(w + PAGE / 2) && UnmapViewOfFile(c));
        STEP(CloseHandle(d) && CloseHandle(m));
    }
}

static void cycle_named(int i)
{
    char name[100];
    snprintf(name, sizeof(name), "winmem-leaks-%lu-%d", (unsigned long)GetCurrentProcessId(),
             i % 7);
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 8192, name);
    STEP(m != NULL && GetLastError() == 0);
    HANDLE again = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 8192, name);
    STEP(again != NULL && GetLastError() == ERROR_ALREADY_EXISTS);
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    STEP(o != NULL);
    BYTE *v = MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0);
    BYTE *w = MapViewOfFile(again, FILE_MAP_WRITE, 0, 0, 0);
    STEP(v && w);
    if (v && w) {
        w[100] = (BYTE)(i + 1);
        STEP(v[100] == (BYTE)(i + 1));
    }
    STEP(CloseHandle(m) && CloseHandle(again) && CloseHandle(o));
    STEP(OpenFileMappingA(FILE_MAP_READ, FALSE, name) == NULL);
    STEP(UnmapViewOfFile(v) && UnmapViewOfFile(w));
}

static void cycle_file(int i)
{
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    STEP(f != INVALID_HANDLE_VALUE);
    HANDLE m = CreateFileMappingA(f, NULL, i % 2 ? PAGE_READWRITE : PAGE_WRITECOPY, 0, 0, NULL);
    STEP(m != NULL);
    BYTE *v = MapViewOfFile(m, i % 2 ? FILE_MAP_WRITE : FILE_MAP_COPY, 0, 0, 0);
    STEP(v != NULL);
    if (v) {
        v[i % 8192] = (BYTE)i;
        if (i % 2)
            STEP(FlushViewOfFile(v, 0));
    }
    /* Refused: an unaligned offset, a read-only section bigger than the file. */
    STEP(MapViewOfFile(m, FILE_MAP_READ, 0, 1, 0) == NULL);
    STEP(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0x100000, NULL) == NULL);
    if (i % 3 == 0) {
        STEP(CloseHandle(f) && CloseHandle(m));
        STEP(UnmapViewOfFile(v));
    } else {
        STEP(UnmapViewOfFile(v));
        STEP(CloseHandle(m) && CloseHandle(f));
    }
    /* A zero-length file cannot be mapped. */
    HANDLE e = CreateFileA(empty_path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    STEP(e != INVALID_HANDLE_VALUE);
    STEP(CreateFileMappingA(e, NULL, PAGE_READWRITE, 0, 0, NULL) == NULL);
    STEP(CloseHandle(e));
}

static void run_cycles(int n)
{
    for (int i = 0; i < n; i++) {
        cycle_pagefile(i);
        cycle_named(i);
        cycle_file(i);
    }
}

int main(void)
{
    at_init();
    at_tmp_path(path, sizeof(path), "leaks");
    snprintf(empty_path, sizeof(empty_path), "%s-empty", path);
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    for (int i = 0; i < 8192; i++)
        fputc(0, f);
    fclose(f);

    run_cycles(20); /* warm up: the handle table, malloc's arenas, the signal handler */
    int fds = count_entries("/proc/self/fd", ""), maps = count_maps();
    char prefix[80] = "winmem-leaks";
#ifndef _WIN32
    /* this process's names only: another copy of the suite may be running as the same user */
    snprintf(prefix, sizeof(prefix), "winmem-%u-L-winmem-leaks-%lu-", (unsigned)geteuid(),
             (unsigned long)GetCurrentProcessId());
#endif
    int names = count_entries("/dev/shm", prefix);
#ifndef _WIN32
    CHECK(fds > 2 && maps > 10); /* the counters work */
#endif
    run_cycles(CYCLES);
    CHECK_EQ(failures, 0);
    CHECK_EQ(count_entries("/proc/self/fd", ""), fds);
    /* A little slack for the C library's own mappings; a leak would be thousands. */
    int grown = count_maps() - maps;
    CHECK(grown <= 2);
    if (grown > 2)
        fprintf(stderr, "/proc/self/maps grew by %d lines\n", grown);
    CHECK_EQ(count_entries("/dev/shm", prefix), names);
    CHECK_EQ(names, 0);
    remove(path);
    remove(empty_path);
    return wmt_report();
}
