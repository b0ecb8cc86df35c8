/*
 * guardbuf - a buffer that grows itself through guard pages, as Windows thread stacks do:
 * only the pages in use are committed, and the page after them is a PAGE_GUARD page.  The
 * first touch of the guard page raises STATUS_GUARD_PAGE_VIOLATION (once: the guard is gone
 * by the time the handler runs); the vectored handler commits one more page behind it as the
 * new guard page and continues, and the touch completes.  The code that fills the buffer
 * never checks its size.  Unchanged Windows code.
 */
#include <windows.h>

#include <stdio.h>

#define MAX_SIZE ((SIZE_T)64 << 20)

static BYTE *buf;
static SIZE_T page, committed; /* bytes committed, guard page included */
static unsigned grown;

static LONG CALLBACK grow(EXCEPTION_POINTERS *ep)
{
    const EXCEPTION_RECORD *rec = ep->ExceptionRecord;
    BYTE *at = (BYTE *)rec->ExceptionInformation[1];

    if (rec->ExceptionCode != STATUS_GUARD_PAGE_VIOLATION || at < buf || at >= buf + MAX_SIZE)
        return EXCEPTION_CONTINUE_SEARCH;
    /* The touched page is now plain PAGE_READWRITE; make the next one the new guard. */
    if (committed + page <= MAX_SIZE &&
        VirtualAlloc(buf + committed, page, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD)) {
        committed += page;
        grown++;
    }
    return EXCEPTION_CONTINUE_EXECUTION;
}

int main(void)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION mbi;

    GetSystemInfo(&si);
    page = si.dwPageSize;
    AddVectoredExceptionHandler(1, grow);
    buf = VirtualAlloc(NULL, MAX_SIZE, MEM_RESERVE, PAGE_READWRITE);
    if (!buf || !VirtualAlloc(buf, page, MEM_COMMIT, PAGE_READWRITE) ||
        !VirtualAlloc(buf + page, page, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD)) {
        printf("setup failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    committed = 2 * page;

    /* Write 1 MiB of data as if the buffer had no end. */
    SIZE_T n = (SIZE_T)1 << 20;
    for (SIZE_T i = 0; i < n; i++)
        buf[i] = (BYTE)i;

    unsigned long sum = 0;
    for (SIZE_T i = 0; i < n; i++)
        sum += buf[i];
    VirtualQuery(buf, &mbi, sizeof(mbi));
    printf("wrote %zu bytes; the buffer grew %u times, one guard page at a time\n", (size_t)n,
           grown);
    printf("committed %zu bytes: %zu read-write, then ", (size_t)committed, (size_t)mbi.RegionSize);
    VirtualQuery(buf + mbi.RegionSize, &mbi, sizeof(mbi));
    printf("%zu byte%s of PAGE_READWRITE|PAGE_GUARD (Protect 0x%lx), then reserved\n",
           (size_t)mbi.RegionSize, mbi.RegionSize == 1 ? "" : "s", (unsigned long)mbi.Protect);
    printf("checksum %lu (expected %lu)\n", sum, (unsigned long)(n / 256) * (255 * 256 / 2));
    return VirtualFree(buf, 0, MEM_RELEASE) ? 0 : 1;
}
