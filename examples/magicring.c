/*
 * magicring - the "magic ring buffer" Windows programs build from placeholders: one
 * paging-file section mapped twice, into two adjacent halves of a split placeholder, so the
 * byte after the ring's last one is its first one again and a record that runs past the end
 * is still one contiguous piece of memory, written and read with plain memcpy.
 *
 * Steps, exactly as on Windows 10 and later:
 *   1. VirtualAlloc2(MEM_RESERVE | MEM_RESERVE_PLACEHOLDER) reserves twice the ring's size;
 *   2. VirtualFree(MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER) splits it into two placeholders;
 *   3. CreateFileMapping makes the ring's section, MapViewOfFile3(MEM_REPLACE_PLACEHOLDER)
 *      maps it into each half;
 *   4. teardown: UnmapViewOfFileEx(MEM_PRESERVE_PLACEHOLDER) gives each half back as a
 *      placeholder, VirtualFree(MEM_COALESCE_PLACEHOLDERS) joins them, MEM_RELEASE frees it.
 * No other thread can take either half in between (the placeholder holds the address space
 * throughout), which is what the older reserve / free / map-twice recipe could not promise.
 *
 * The program pushes records of random length (a header with a sequence number, a length
 * and a checksum, then the payload) and pops them behind, checking each one; it counts the
 * records that straddled the ring's end, each of which was read through one pointer.
 *
 *   magicring [records]        (default 200,000)
 */
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING ((SIZE_T)64 * 1024) /* one allocation granule: the smallest ring that can be */

struct header {
    uint32_t seq, len, sum, pad;
};

struct ring {
    char *base; /* RING bytes, and the same RING bytes again right after */
    HANDLE section;
    uint64_t head, tail; /* bytes written / read since the start */
};

static uint32_t checksum(const unsigned char *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static int ring_open(struct ring *r)
{
    char *ph = VirtualAlloc2(NULL, NULL, 2 * RING, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                             PAGE_NOACCESS, NULL, 0);
    if (!ph) {
        fprintf(stderr, "VirtualAlloc2: error %lu\n", (unsigned long)GetLastError());
        return -1;
    }
    if (!VirtualFree(ph, RING, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)) {
        fprintf(stderr, "split: error %lu\n", (unsigned long)GetLastError());
        VirtualFree(ph, 0, MEM_RELEASE);
        return -1;
    }
    r->section =
        CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)RING, NULL);
    void *v1 = r->section ? MapViewOfFile3(r->section, NULL, ph, 0, RING, MEM_REPLACE_PLACEHOLDER,
                                           PAGE_READWRITE, NULL, 0)
                          : NULL;
    void *v2 = v1 ? MapViewOfFile3(r->section, NULL, ph + RING, 0, RING, MEM_REPLACE_PLACEHOLDER,
                                   PAGE_READWRITE, NULL, 0)
                  : NULL;
    if (!v2) {
        fprintf(stderr, "mapping the ring: error %lu\n", (unsigned long)GetLastError());
        if (v1)
            UnmapViewOfFileEx(v1, MEM_PRESERVE_PLACEHOLDER);
        if (r->section)
            CloseHandle(r->section);
        VirtualFree(ph, 0, MEM_RELEASE);
        VirtualFree(ph + RING, 0, MEM_RELEASE);
        return -1;
    }
    r->base = ph;
    r->head = r->tail = 0;
    return 0;
}

static int ring_close(struct ring *r)
{
    int ok = UnmapViewOfFileEx(r->base, MEM_PRESERVE_PLACEHOLDER) &&
             UnmapViewOfFileEx(r->base + RING, MEM_PRESERVE_PLACEHOLDER) &&
             VirtualFree(r->base, 2 * RING, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS) &&
             VirtualFree(r->base, 0, MEM_RELEASE) && CloseHandle(r->section);
    MEMORY_BASIC_INFORMATION m;
    /* Nothing left behind: the address space is free again. */
    if (ok &&
        (!VirtualQuery(r->base, &m, sizeof m) || m.State != MEM_FREE || m.RegionSize < 2 * RING))
        ok = 0;
    return ok ? 0 : -1;
}

/* Where the next n bytes go: always one contiguous piece, whatever the offset. */
static char *ring_reserve(struct ring *r, size_t n)
{
    if (RING - (r->head - r->tail) < n)
        return NULL;
    return r->base + r->head % RING;
}

int main(int argc, char **argv)
{
    unsigned long records = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
    static unsigned char payload[RING / 16];
    struct ring r;
    uint32_t next_in = 0, next_out = 0;
    unsigned long wrapped = 0;
    uint64_t rng = 0x9e3779b97f4a7c15ull;

    if (ring_open(&r))
        return 1;
    printf("ring of %lu KiB at %p, mirrored at %p\n", (unsigned long)(RING / 1024), (void *)r.base,
           (void *)(r.base + RING));
    while (next_out < records) {
        /* Push while there is room (and records left), then pop a few. */
        while (next_in < records) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            uint32_t len = (uint32_t)(rng % sizeof payload);
            for (uint32_t i = 0; i < len; i++)
                payload[i] = (unsigned char)(next_in * 31 + i);
            struct header h = { next_in, len, checksum(payload, len), 0 };
            char *at = ring_reserve(&r, sizeof h + len);
            if (!at)
                break;
            memcpy(at, &h, sizeof h);
            memcpy(at + sizeof h, payload, len);
            r.head += sizeof h + len;
            next_in++;
        }
        for (int k = 0; k < 3 && r.tail < r.head; k++) {
            const char *at = r.base + r.tail % RING;
            struct header h;
            memcpy(&h, at, sizeof h);
            if (h.seq != next_out || h.len >= sizeof payload ||
                checksum((const unsigned char *)at + sizeof h, h.len) != h.sum) {
                fprintf(stderr, "record %u is corrupt\n", next_out);
                return 1;
            }
            if (r.tail % RING + sizeof h + h.len > RING)
                wrapped++; /* straddled the end, read in one piece all the same */
            r.tail += sizeof h + h.len;
            next_out++;
        }
    }
    printf("%lu records checked, %lu of them across the ring's end, %llu bytes through\n", records,
           wrapped, (unsigned long long)r.head);
    if (ring_close(&r)) {
        fprintf(stderr, "teardown: error %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    if (records > 1000 && wrapped == 0) {
        fprintf(stderr, "no record wrapped: the check proved nothing\n");
        return 1;
    }
    return 0;
}
