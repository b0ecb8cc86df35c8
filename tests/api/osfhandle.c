/*
 * _get_osfhandle / _open_osfhandle: a POSIX descriptor used as a file HANDLE (for
 * CreateFileMapping) while the caller keeps owning it, and a HANDLE handed over to a
 * descriptor.  Linux-only in what it checks (descriptors come from open/mkstemp here).
 */
#ifndef _WIN32
#define _DEFAULT_SOURCE /* mkstemp */
#endif
#include <windows.h>
#include <io.h>

#include <fcntl.h>
#include <string.h>
#ifndef _WIN32
#include <stdlib.h>
#include <unistd.h>
#endif

#include "wmtest.h"

int main(void)
{
#ifndef _WIN32
    char path[] = "/tmp/winmem-osfh-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "hello", 5) == 5);

    /* A descriptor as a HANDLE: the file calls and a mapping work through it. */
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    CHECK(h != INVALID_HANDLE_VALUE);
    /* The same handle every time, as the C runtime keeps one per descriptor. */
    for (int i = 0; i < 1000; i++)
        if ((HANDLE)_get_osfhandle(fd) != h)
            CHECK(!"a new handle for the same descriptor");
    LARGE_INTEGER size;
    CHECK(GetFileSizeEx(h, &size));
    CHECK_EQ(size.QuadPart, 5);
    HANDLE m = CreateFileMappingA(h, NULL, PAGE_READONLY, 0, 0, NULL);
    CHECK(m != NULL);
    const char *v = m ? MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0) : NULL;
    CHECK(v && memcmp(v, "hello", 5) == 0);
    if (v)
        CHECK(UnmapViewOfFile(v));
    CHECK(CloseHandle(m));
    /* Closing the HANDLE leaves the caller's descriptor open. */
    CHECK(CloseHandle(h));
    CHECK_EQ(write(fd, "!", 1), 1);
    SetLastError(0);
    CHECK_EQ(_get_osfhandle(-1), (intptr_t)INVALID_HANDLE_VALUE);
    CHECK_EQ(GetLastError(), ERROR_INVALID_HANDLE);

    /* A HANDLE handed to a descriptor: the descriptor reads the file, the HANDLE is gone. */
    HANDLE f = CreateFileA(path, GENERIC_READ, 0, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(f != INVALID_HANDLE_VALUE);
    int fd2 = _open_osfhandle((intptr_t)f, O_RDONLY);
    CHECK(fd2 >= 0);
    char buf[8] = { 0 };
    CHECK_EQ(read(fd2, buf, 6), 6);
    CHECK(memcmp(buf, "hello!", 6) == 0);
    CHECK_FAILS(CloseHandle(f), ERROR_INVALID_HANDLE);
    CHECK_EQ(_open_osfhandle((intptr_t)f, O_RDONLY), -1);
    close(fd2);
    close(fd);
    unlink(path);
#endif
    return wmt_report();
}
