/*
 * gdbtarget - what tests/map/gdb.sh debugs: a reservation with a guard page, a view of a
 * named section and a heap, then a read of the guard page.  Under gdb the read stops the
 * program at its SIGSEGV, where the helper (tools/winmem-gdb.py) describes the memory; once
 * continued, winmem raises STATUS_GUARD_PAGE_VIOLATION, the handler below resumes, and the
 * read is retried and succeeds (the guard is gone), as on Windows.
 */
#include <windows.h>

#include <stdio.h>

/* Where gdb finds them (by name, in "winmem region guard_page"). */
volatile BYTE *guard_page;
BYTE *view_base;
HANDLE the_heap;

static LONG CALLBACK on_guard(EXCEPTION_POINTERS *e)
{
    return e->ExceptionRecord->ExceptionCode == STATUS_GUARD_PAGE_VIOLATION
               ? EXCEPTION_CONTINUE_EXECUTION
               : EXCEPTION_CONTINUE_SEARCH;
}

int main(void)
{
    BYTE *res = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE, PAGE_READWRITE);
    if (!res || !VirtualAlloc(res, 0x10000, MEM_COMMIT, PAGE_READWRITE) ||
        !VirtualAlloc(res + 0x10000, 0x1000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD))
        return 2;
    guard_page = res + 0x10000;
    HANDLE s = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000,
                                  "Local\\winmem-gdb-test");
    view_base = s ? MapViewOfFile(s, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    the_heap = HeapCreate(0, 0, 0);
    if (!view_base || !the_heap || !HeapAlloc(the_heap, 0, 100))
        return 3;
    AddVectoredExceptionHandler(1, on_guard);
    BYTE v = guard_page[0]; /* the SIGSEGV gdb stops at */
    printf("guard page handled, read %u\n", v);
    return 0;
}
