/*
 * heaps - a private heap per subsystem, the way Windows programs keep one part's allocations
 * apart from another's: a "parser" heap of many small nodes, freed all at once with
 * HeapDestroy instead of node by node, and a "cache" heap of larger buffers, one of them a
 * large block.  HeapWalk prints each heap's regions, blocks and uncommitted ranges, and
 * HeapValidate checks it.  Unchanged Windows code; on Linux it builds against winmem.
 * Exit status 0 when every step did what Windows documents.
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

struct node {
    struct node *next;
    char word[24];
};

static void walk(const char *name, HANDLE heap)
{
    PROCESS_HEAP_ENTRY e;
    unsigned busy = 0, free_blocks = 0;
    SIZE_T busy_bytes = 0;

    printf("%s heap %p:\n", name, heap);
    memset(&e, 0, sizeof(e));
    while (HeapWalk(heap, &e)) {
        if (e.wFlags & PROCESS_HEAP_REGION) {
            printf("  region %u at %p: %lu bytes committed, %lu reserved beyond\n",
                   (unsigned)e.iRegionIndex, e.lpData, (unsigned long)e.Region.dwCommittedSize,
                   (unsigned long)e.Region.dwUnCommittedSize);
        } else if (e.wFlags & PROCESS_HEAP_UNCOMMITTED_RANGE) {
            printf("  uncommitted range at %p, %lu bytes\n", e.lpData, (unsigned long)e.cbData);
        } else if (e.wFlags & PROCESS_HEAP_ENTRY_BUSY) {
            busy++;
            busy_bytes += e.cbData;
            if (busy <= 4 || e.cbData >= 0x10000) /* a few, and every big one */
                printf("  busy block at %p: %lu bytes (+%u overhead)%s\n", e.lpData,
                       (unsigned long)e.cbData, (unsigned)e.cbOverhead,
                       e.iRegionIndex == 64 ? ", a large block of its own" : "");
        } else {
            free_blocks++;
        }
    }
    if (GetLastError() != ERROR_NO_MORE_ITEMS)
        printf("  HeapWalk stopped with error %lu\n", (unsigned long)GetLastError());
    printf("  %u busy blocks (%lu bytes), %u free blocks\n", busy, (unsigned long)busy_bytes,
           free_blocks);
}

int main(void)
{
    static const char *const words[] = { "alpha", "beta", "gamma", "delta", "epsilon" };
    HANDLE parser = HeapCreate(0, 0, 0);           /* growable */
    HANDLE cache = HeapCreate(0, 0x10000, 0);      /* growable, 64 KiB committed at once */
    HANDLE scratch = HeapCreate(0, 0, 256 * 1024); /* fixed: runs out instead of growing */
    if (!parser || !cache || !scratch) {
        printf("HeapCreate failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }

    /* the parser: a list of small nodes */
    struct node *list = NULL;
    for (int i = 0; i < 1000; i++) {
        struct node *n = HeapAlloc(parser, HEAP_ZERO_MEMORY, sizeof(*n));
        if (!n)
            return 1;
        strcpy(n->word, words[i % 5]);
        n->next = list;
        list = n;
    }

    /* the cache: a few buffers, one of them large, one grown in place when it can be */
    char *small = HeapAlloc(cache, 0, 3000);
    char *big = HeapAlloc(cache, HEAP_ZERO_MEMORY, 2 * 1024 * 1024);
    if (!small || !big)
        return 1;
    memset(small, 'x', 3000);
    char *grown = HeapReAlloc(cache, HEAP_ZERO_MEMORY, small, 6000);
    if (!grown || grown[2999] != 'x' || grown[5999] != 0)
        return 1;
    printf("cache: a 3000-byte buffer grown to %lu bytes (%s)\n",
           (unsigned long)HeapSize(cache, 0, grown), grown == small ? "in place" : "moved");

    /* the fixed heap runs out, and says so */
    int n = 0;
    while (HeapAlloc(scratch, 0, 10000))
        n++;
    printf("scratch: %d blocks of 10000 bytes fit in a fixed 256 KiB heap, then error %lu\n", n,
           (unsigned long)GetLastError());

    walk("parser", parser);
    walk("cache", cache);
    if (!HeapValidate(parser, 0, NULL) || !HeapValidate(cache, 0, NULL))
        return 1;

    /* the parser's nodes go all at once, with their heap */
    if (!HeapDestroy(parser) || !HeapFree(cache, 0, big) || !HeapFree(cache, 0, grown))
        return 1;
    printf("cache: largest free block after HeapCompact: %lu bytes\n",
           (unsigned long)HeapCompact(cache, 0));
    HeapDestroy(cache);
    HeapDestroy(scratch);

    DWORD nheaps = GetProcessHeaps(0, NULL);
    printf("heaps left in the process: %lu (the process heap %p first)\n", (unsigned long)nheaps,
           GetProcessHeap());
    return 0;
}
