/*
 * growbuf - the classic reserve-then-commit pattern: reserve the largest size the buffer
 * may ever need (address space only), and commit pages as the data grows.  Unchanged
 * Windows code; on Linux it builds against winmem.
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

typedef struct {
    BYTE *base;
    SIZE_T reserved, committed, used;
    DWORD page;
} GROWBUF;

static BOOL growbuf_init(GROWBUF *b, SIZE_T max)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    b->page = si.dwPageSize;
    b->base = VirtualAlloc(NULL, max, MEM_RESERVE, PAGE_NOACCESS);
    b->reserved = max;
    b->committed = b->used = 0;
    return b->base != NULL;
}

/* Append len bytes, committing more pages only when the data crosses into them. */
static BOOL growbuf_append(GROWBUF *b, const void *data, SIZE_T len)
{
    if (len > b->reserved - b->used)
        return FALSE;
    SIZE_T need = b->used + len;
    if (need > b->committed) {
        SIZE_T grow = ((need - b->committed) + b->page - 1) / b->page * b->page;
        if (!VirtualAlloc(b->base + b->committed, grow, MEM_COMMIT, PAGE_READWRITE))
            return FALSE;
        b->committed += grow;
    }
    memcpy(b->base + b->used, data, len);
    b->used = need;
    return TRUE;
}

int main(void)
{
    GROWBUF b;
    MEMORY_BASIC_INFORMATION mbi;
    char line[100];

    if (!growbuf_init(&b, (SIZE_T)1 << 40)) { /* 1 TiB of address space, no memory yet */
        printf("reserve failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    printf("reserved 1 TiB at %p\n", (void *)b.base);
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(line, sizeof(line), "record %d\n", i);
        if (!growbuf_append(&b, line, (SIZE_T)n)) {
            printf("append failed: %lu\n", (unsigned long)GetLastError());
            return 1;
        }
    }
    VirtualQuery(b.base, &mbi, sizeof(mbi));
    printf("used %zu bytes, committed %zu bytes (%zu pages) of 1 TiB\n", (size_t)b.used,
           (size_t)b.committed, (size_t)(b.committed / b.page));
    printf("first region: %zu bytes %s\n", (size_t)mbi.RegionSize,
           mbi.State == MEM_COMMIT ? "MEM_COMMIT" : "?");
    VirtualQuery(b.base + b.committed, &mbi, sizeof(mbi));
    printf("then: %zu bytes %s\n", (size_t)mbi.RegionSize,
           mbi.State == MEM_RESERVE ? "MEM_RESERVE" : "?");
    printf("last record: %.*s", 13, (char *)b.base + b.used - 13);
    return VirtualFree(b.base, 0, MEM_RELEASE) ? 0 : 1;
}
