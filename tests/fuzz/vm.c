/*
 * Fuzz driver: each input is a little program of virtual-memory calls (reserve, commit,
 * decommit, protect, release, lock, unlock, reset, query, map and unmap a view of a section,
 * write a page, secure and unsecure a range, read and reset write watches; placeholders made,
 * split, coalesced, replaced by private memory or a view and given back; the NT release of part
 * of an allocation) on up to eight
 * reservations and views, and heap calls (HeapAlloc / HeapReAlloc / HeapFree / HeapValidate /
 * HeapWalk on one growable or fixed heap per input, large blocks secured now and then, every
 * block's contents checked), with valid and invalid arguments mixed.  A secure memory cache
 * callback, switched on and off by the input, unsecures what a refused free or protection change
 * overlaps.  After every call:
 *   - the model's invariants hold (wm_space_check: order, runs, summaries, the base hash);
 *   - a call that failed changed nothing (every region of the reservation it aimed at, as
 *     VirtualQuery reports them, is the same before and after);
 *   - GetWriteWatch on a MEM_WRITE_WATCH reservation returns exactly the pages written since
 *     the last reset (a reference mask kept here), and fails on any other;
 * and at the end of the input the kernel's /proc/self/maps agrees with VirtualQuery on the
 * access of every page of every reservation.
 *
 * Built with -fsanitize=fuzzer (WINMEM_FUZZ=ON, clang) it is a libFuzzer target; otherwise
 * its main() replays a fixed number of pseudo-random programs, so the same checks run in
 * every test configuration (label fuzz).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wmtest.h"
#include "../api/apitest.h" /* at_snap: the "a failed call changed nothing" snapshots */
#include "windows.h"
#include "ntddk.h"
#include "mm/mm.h"
#include "rtl/heap.h" /* wm_heapvm_owner: keep the VM calls off the heap's memory */

#define MAXRES 8
#define MAXPAGES 16

static const DWORD prots[] = {
    PAGE_NOACCESS,
    PAGE_READONLY,
    PAGE_READWRITE,
    PAGE_EXECUTE,
    PAGE_EXECUTE_READ,
    PAGE_EXECUTE_READWRITE,
    PAGE_READWRITE | PAGE_GUARD,
    PAGE_READONLY | PAGE_NOCACHE,
    PAGE_WRITECOPY,
    0,
    PAGE_READONLY | PAGE_READWRITE,
    PAGE_NOACCESS | PAGE_GUARD,
    PAGE_EXECUTE_READ | PAGE_TARGETS_INVALID,
    0x800,
};
#define NPROTS (sizeof(prots) / sizeof(prots[0]))

struct res {
    BYTE *base;
    unsigned pages;
    BOOL view;        /* a MapViewOfFile view, released by UnmapViewOfFile */
    BOOL watched;     /* MEM_WRITE_WATCH */
    BOOL ph;          /* a placeholder */
    BOOL replaced;    /* made by replacing a placeholder: MEM_PRESERVE_PLACEHOLDER gives it back */
    uint32_t written; /* pages written since the last reset (watched only) */
};

/* Views of the one section an input uses: every access a view can ask for, some refused. */
static const DWORD view_access[] = {
    FILE_MAP_READ,
    FILE_MAP_WRITE,
    FILE_MAP_COPY,
    FILE_MAP_ALL_ACCESS | FILE_MAP_EXECUTE,
    FILE_MAP_READ | FILE_MAP_EXECUTE,
    FILE_MAP_COPY | FILE_MAP_EXECUTE,
    0,
};
#define NACCESS (sizeof(view_access) / sizeof(view_access[0]))

struct cursor {
    const uint8_t *p;
    size_t n;
};

/* Secured ranges, and the callback that drops the ones a refused operation overlaps. */
#define MAXSEC 8
static struct {
    HANDLE h;
    BYTE *base;
    SIZE_T len;
} secured[MAXSEC];
static unsigned nsecured;
static int cache_on; /* the callback drops overlapping ranges (else it declines) */

static void unsecure(unsigned i)
{
    MmUnsecureVirtualMemory(secured[i].h);
    secured[i] = secured[--nsecured];
}

static BOOLEAN CALLBACK cache_callback(PVOID addr, SIZE_T range)
{
    BOOLEAN any = FALSE;
    if (!cache_on)
        return FALSE;
    for (unsigned i = 0; i < nsecured;) {
        if (secured[i].base < (BYTE *)addr + range &&
            (BYTE *)addr < secured[i].base + secured[i].len) {
            unsecure(i);
            any = TRUE;
        } else {
            i++;
        }
    }
    return any;
}

/* The input's heap and its live blocks, each filled with one byte value. */
#define MAXHB 16
static HANDLE fheap;
static struct {
    BYTE *p;
    SIZE_T size;
    BYTE fill;
} hb[MAXHB];
static unsigned nhb;

/* True when [p, p+len] touches memory of a heap: the VM calls leave that alone (a program
 * that VirtualFrees its heap's pages breaks it on Windows too). */
static int touches_heap(const BYTE *p, SIZE_T len)
{
    for (uintptr_t g = (uintptr_t)p & ~(uintptr_t)0xffff; g <= (uintptr_t)p + len; g += 0x10000)
        if (wm_heapvm_owner(g))
            return 1;
    return 0;
}

static int hb_intact(unsigned i)
{
    for (SIZE_T j = 0; j < hb[i].size; j++)
        if (hb[i].p[j] != hb[i].fill)
            return 0;
    return 1;
}

static unsigned take(struct cursor *c)
{
    if (!c->n)
        return 0;
    c->n--;
    return *c->p++;
}

static size_t pagesz;

/* rs[k] becomes the pieces [0, a) [a, b) [b, pages) of itself that are not empty (a <= b);
 * the caller made sure rs has room.  Returns the new count. */
static unsigned cut(struct res *rs, unsigned nres, unsigned k, unsigned a, unsigned b)
{
    struct res whole = rs[k];
    unsigned bounds[4] = { 0, a, b, whole.pages }, n = 0;
    for (unsigned i = 0; i < 3; i++) {
        if (bounds[i + 1] == bounds[i])
            continue;
        struct res piece = whole;
        piece.base = whole.base + bounds[i] * pagesz;
        piece.pages = bounds[i + 1] - bounds[i];
        rs[n++ ? nres++ : k] = piece;
    }
    return nres;
}

/* The entry whose range holds p, or -1. */
static int res_at(const struct res *rs, unsigned nres, const BYTE *p)
{
    for (unsigned j = 0; j < nres; j++)
        if (p >= rs[j].base && p < rs[j].base + rs[j].pages * pagesz)
            return (int)j;
    return -1;
}

static void fail(const char *what)
{
    fprintf(stderr, "fuzz check failed: %s\n", what);
    abort();
}

/* The kernel's access of every page agrees with what VirtualQuery says. */
static void check_kernel(const struct res *rs, unsigned nres)
{
    static char buf[1 << 16];
    FILE *f = fopen("/proc/self/maps", "r");
    size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[len] = 0;
    for (unsigned k = 0; k < nres; k++) {
        for (unsigned i = 0; i < rs[k].pages; i++) {
            uintptr_t a = (uintptr_t)rs[k].base + i * pagesz;
            MEMORY_BASIC_INFORMATION m;
            if (VirtualQuery((void *)a, &m, sizeof(m)) != sizeof(m))
                fail("VirtualQuery of a live page");
            unsigned want = 0;
            /* The write-watch fallback maps clean pages without write access. */
            int armed =
                rs[k].watched && wm_watch_mode == WM_WATCH_FALLBACK && !(rs[k].written >> i & 1);
            if (m.State == MEM_COMMIT && !(m.Protect & PAGE_GUARD)) {
                switch (m.Protect & 0xff) {
                case PAGE_READONLY:
                case PAGE_WRITECOPY: /* read-only until the first write copies the page */
                    want = 1;
                    break;
                case PAGE_READWRITE:
                    want = 3;
                    break;
                case PAGE_EXECUTE:
                    want = 4;
                    break;
                case PAGE_EXECUTE_READ:
                case PAGE_EXECUTE_WRITECOPY:
                    want = 5;
                    break;
                case PAGE_EXECUTE_READWRITE:
                    want = 7;
                    break;
                }
            }
            if (armed)
                want &= ~2u;
            unsigned got = 99;
            for (char *line = buf; line && *line; line = strchr(line, '\n'), line += !!line) {
                unsigned long s, e;
                char perms[5];
                if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && a >= s && a < e) {
                    got = (perms[0] == 'r') | (perms[1] == 'w') << 1 | (perms[2] == 'x') << 2;
                    break;
                }
            }
            if (got != want) {
                fprintf(stderr,
                        "page %p (page %u of %p, %u pages): kernel %u, VirtualQuery state %lx "
                        "protect %lx base %p size %zx; maps %zu bytes\n",
                        (void *)a, i, (void *)rs[k].base, rs[k].pages, got, (unsigned long)m.State,
                        (unsigned long)m.Protect, m.BaseAddress, (size_t)m.RegionSize, len);
                fail("kernel access differs from VirtualQuery");
            }
        }
    }
}

/* One heap call; a refused free or in-place reallocation must leave the block as it was. */
static void heap_op(unsigned op, unsigned first, unsigned count)
{
    if (!fheap && !(fheap = HeapCreate(0, 0, (first & 1) ? 0 : 1 << 20)))
        fail("HeapCreate");
    if (op == 16) {
        PROCESS_HEAP_ENTRY e;
        unsigned busy = 0;
        if (!HeapValidate(fheap, 0, NULL))
            fail("HeapValidate of the whole heap");
        memset(&e, 0, sizeof(e));
        while (HeapWalk(fheap, &e))
            busy += !!(e.wFlags & PROCESS_HEAP_ENTRY_BUSY);
        if (GetLastError() != ERROR_NO_MORE_ITEMS || busy != nhb)
            fail("HeapWalk does not list the live blocks");
        return;
    }
    if (nhb < MAXHB && ((count & 1) || !nhb)) {
        SIZE_T size =
            count == MAXPAGES + 1 ? 0x100000 + first * 100u : (first * 97u + count * 13u) % 3000u;
        BYTE *p = HeapAlloc(fheap, 0, size);
        if (!p) {
            if (GetLastError() != ERROR_NOT_ENOUGH_MEMORY)
                fail("HeapAlloc error");
            return;
        }
        hb[nhb].p = p;
        hb[nhb].size = size;
        hb[nhb].fill = (BYTE)(first + count + 1);
        memset(p, hb[nhb].fill, size);
        nhb++;
        /* a large block secured: freeing it runs the cache callback (cache_on decides) */
        if (size >= 0x100000 && (first & 2) && nsecured < MAXSEC) {
            HANDLE h = MmSecureVirtualMemory(p, pagesz, PAGE_READWRITE);
            if (h) {
                secured[nsecured].h = h;
                secured[nsecured].base = p;
                secured[nsecured].len = pagesz;
                nsecured++;
            }
        }
        return;
    }
    if (!nhb)
        return;
    unsigned i = first % nhb;
    if (!hb_intact(i))
        fail("a heap block lost its contents");
    if (count & 2) {
        SIZE_T ns = (first * 31u + count * 7u) % 4000u;
        DWORD fl = (count & 4) ? HEAP_REALLOC_IN_PLACE_ONLY : 0;
        BYTE *q = HeapReAlloc(fheap, fl, hb[i].p, ns);
        if (!q) {
            if (!hb_intact(i) || HeapSize(fheap, 0, hb[i].p) != hb[i].size)
                fail("a refused HeapReAlloc changed the block");
            return;
        }
        for (SIZE_T j = 0; j < ns && j < hb[i].size; j++)
            if (q[j] != hb[i].fill)
                fail("HeapReAlloc lost contents");
        hb[i].p = q;
        hb[i].size = ns;
        memset(q, hb[i].fill, ns);
        return;
    }
    if (!HeapFree(fheap, 0, hb[i].p)) {
        if (GetLastError() != ERROR_INVALID_PARAMETER || !hb_intact(i) ||
            !HeapValidate(fheap, 0, hb[i].p))
            fail("a refused HeapFree changed the block");
        return;
    }
    hb[i] = hb[--nhb];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = { data, size };
    struct res rs[MAXRES];
    unsigned nres = 0;
    struct at_snap before, after;
    MEMORY_BASIC_INFORMATION m;
    HANDLE section = NULL;

    if (!pagesz) {
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        pagesz = si.dwPageSize;
        if (!AddSecureMemoryCacheCallback(cache_callback))
            fail("AddSecureMemoryCacheCallback");
    }
    while (c.n) {
        unsigned op = take(&c) % 24, k = nres ? take(&c) % nres : 0;
        unsigned first = take(&c) % (MAXPAGES + 2), count = take(&c) % (MAXPAGES + 2);
        DWORD prot = prots[take(&c) % NPROTS];
        struct res *r = nres ? &rs[k] : NULL;
        if (r)
            at_snap(&before, r->base, r->pages * pagesz);
        BOOL ok = TRUE;
        DWORD old;

        if (op == 15 || op == 16) {
            heap_op(op, first, count);
            if (wm_space_check(&wm_vm.space, wm_vm.page))
                fail(wm_space_check(&wm_vm.space, wm_vm.page));
            continue;
        }
        if (op == 9) {
            /* Map a view of this input's section: SEC_COMMIT or SEC_RESERVE, MAXPAGES pages. */
            if (nres == MAXRES)
                continue;
            if (!section) {
                DWORD sec = (first & 1) ? SEC_RESERVE : SEC_COMMIT;
                section =
                    CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_EXECUTE_READWRITE | sec, 0,
                                       (DWORD)(MAXPAGES * pagesz), NULL);
                if (!section)
                    fail("CreateFileMapping");
            }
            SIZE_T vlen = (count % (MAXPAGES + 1)) * pagesz; /* 0: the whole section */
            BYTE *p = MapViewOfFile(section, view_access[prot % NACCESS], 0, 0, vlen);
            if (p) {
                rs[nres].base = p;
                rs[nres].pages = vlen ? (unsigned)(vlen / pagesz) : MAXPAGES;
                rs[nres].view = TRUE;
                rs[nres].watched = FALSE;
                rs[nres].ph = rs[nres].replaced = FALSE;
                nres++;
            }
            if (wm_space_check(&wm_vm.space, wm_vm.page))
                fail(wm_space_check(&wm_vm.space, wm_vm.page));
            continue;
        }
        if (op == 18) {
            /* A placeholder of up to MAXPAGES pages. */
            if (nres == MAXRES)
                continue;
            unsigned pages = 1 + first % MAXPAGES;
            BYTE *p =
                VirtualAlloc2(NULL, NULL, pages * pagesz, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                              (count & 1) ? PAGE_NOACCESS : prot, NULL, 0);
            if (!p != !((count & 1) || prot == PAGE_NOACCESS))
                fail("a placeholder's protection rule");
            if (p) {
                memset(&rs[nres], 0, sizeof rs[nres]);
                rs[nres].base = p;
                rs[nres].pages = pages;
                rs[nres].ph = TRUE;
                nres++;
            }
            continue;
        }
        if (op == 0 || !r) {
            if (nres == MAXRES)
                continue;
            unsigned pages = 1 + first % MAXPAGES;
            DWORD type = (count & 1) ? MEM_RESERVE | MEM_COMMIT : MEM_RESERVE;
            if (count & 2)
                type |= MEM_WRITE_WATCH;
            BYTE *p = VirtualAlloc(NULL, pages * pagesz, type, prot);
            if (p) {
                rs[nres].base = p;
                rs[nres].pages = pages;
                rs[nres].view = FALSE;
                rs[nres].watched = (count & 2) != 0;
                rs[nres].written = 0;
                rs[nres].ph = rs[nres].replaced = FALSE;
                nres++;
            }
            continue;
        }
        BYTE *at = r->base + first * pagesz;
        SIZE_T len = count * pagesz;
        if (touches_heap(at, len) || touches_heap(r->base, 0))
            continue;
        switch (op) {
        case 1:
            ok = VirtualAlloc(at, len, MEM_COMMIT, prot) != NULL;
            break;
        case 2:
            ok = VirtualFree(at, len, MEM_DECOMMIT);
            break;
        case 3:
            ok = VirtualProtect(at, len, prot, &old);
            break;
        case 4:
        case 10: {
            /* An address past this reservation may be another one's base: forget whichever
             * reservation the release took.  VirtualFree refuses views, UnmapViewOfFile
             * anything else. */
            BYTE *target = first ? at : r->base;
            ok = op == 4 ? VirtualFree(target, 0, MEM_RELEASE) : UnmapViewOfFile(target);
            if (ok) {
                for (unsigned j = 0; j < nres; j++) {
                    if (target >= rs[j].base && target < rs[j].base + rs[j].pages * pagesz) {
                        rs[j] = rs[--nres];
                        break;
                    }
                }
                continue;
            }
            break;
        }
        case 5:
            ok = VirtualLock(at, len);
            break;
        case 6:
            ok = VirtualUnlock(at, len);
            break;
        case 7:
            ok = VirtualAlloc(at, len, MEM_RESET, PAGE_NOACCESS) != NULL;
            break;
        case 11:
            /* Write a page that VirtualQuery says is writable: a copy-on-write page becomes
             * PAGE_READWRITE (or EXECUTE_READWRITE) through the fault path, alone. */
            if (first < r->pages && VirtualQuery(at, &m, sizeof(m)) && m.State == MEM_COMMIT &&
                !(m.Protect & PAGE_GUARD) &&
                (m.Protect & (PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE |
                              PAGE_EXECUTE_WRITECOPY))) {
                DWORD was = m.Protect;
                *(volatile BYTE *)at = (BYTE)count;
                if (r->watched)
                    r->written |= 1u << first;
                if (VirtualQuery(at, &m, sizeof(m)) != sizeof(m) ||
                    m.Protect != (was == PAGE_WRITECOPY           ? PAGE_READWRITE
                                  : was == PAGE_EXECUTE_WRITECOPY ? PAGE_EXECUTE_READWRITE
                                                                  : was))
                    fail("protection after a write");
            }
            break;
        case 12: {
            if (nsecured == MAXSEC)
                break;
            HANDLE h = MmSecureVirtualMemory(at, len, (prot & 1) ? PAGE_READWRITE : PAGE_READONLY);
            if (h) {
                secured[nsecured].h = h;
                secured[nsecured].base = at;
                secured[nsecured].len = len;
                nsecured++;
            }
            break;
        }
        case 13:
            if (nsecured)
                unsecure(first % nsecured);
            break;
        case 14:
            cache_on = !(first & 1);
            break;
        case 17: {
            /* The reservation's written pages, exactly, in order; reset when asked. */
            void *pages[MAXPAGES];
            ULONG_PTR n = MAXPAGES;
            DWORD g, flags = (first & 1) ? WRITE_WATCH_FLAG_RESET : 0;
            UINT rc = GetWriteWatch(flags, r->base, r->pages * pagesz, pages, &n, &g);
            if (!r->watched) {
                if (rc == 0 || GetLastError() != ERROR_INVALID_PARAMETER)
                    fail("GetWriteWatch on memory that is not watched");
                ok = FALSE;
                break;
            }
            if (rc != 0)
                fail("GetWriteWatch failed");
            uint32_t got = 0;
            for (ULONG_PTR i = 0; i < n; i++) {
                unsigned pg = (unsigned)(((BYTE *)pages[i] - r->base) / pagesz);
                if (i && pages[i] <= pages[i - 1])
                    fail("GetWriteWatch out of order");
                got |= 1u << pg;
            }
            if (got != r->written) {
                fprintf(stderr, "written %#x, GetWriteWatch %#x\n", r->written, got);
                fail("GetWriteWatch differs from the pages written");
            }
            if (flags)
                r->written = 0;
            break;
        }
        case 19:
            /* Split: [first, first+count) of a placeholder becomes one of its own. */
            if (nres + 2 > MAXRES)
                break;
            ok = VirtualFree(at, len, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER);
            if (ok) {
                /* The address may lie past this entry, in another. */
                int j = res_at(rs, nres, at);
                if (j < 0)
                    fail("MEM_PRESERVE_PLACEHOLDER outside every allocation");
                first -= (unsigned)((rs[j].base - r->base) / (SSIZE_T)pagesz);
                k = (unsigned)j;
                r = &rs[j];
            }
            if (ok && !r->ph && !r->replaced)
                fail("MEM_PRESERVE_PLACEHOLDER on an ordinary allocation");
            if (ok && r->ph) {
                nres = cut(rs, nres, k, first, first + count);
                continue;
            }
            if (ok) {
                /* A replacement given back whole. */
                if (first || count != r->pages || r->view)
                    fail("MEM_PRESERVE_PLACEHOLDER of part of an allocation");
                r->ph = TRUE;
                r->replaced = r->watched = FALSE;
                r->written = 0;
                continue;
            }
            break;
        case 20: {
            /* Coalesce count pages of placeholders from this one's base. */
            ok = VirtualFree(r->base, len, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS);
            if (!ok)
                break;
            if (!r->ph || count <= r->pages)
                fail("a coalesce that should have been refused");
            BYTE *end = r->base + len;
            for (BYTE *q = r->base + r->pages * pagesz; q < end;) {
                int j = res_at(rs, nres, q);
                if (j < 0 || !rs[j].ph || rs[j].base != q)
                    fail("a coalesce over something not a placeholder");
                q += rs[j].pages * pagesz;
                rs[j] = rs[--nres];
                if (r == &rs[nres])
                    r = &rs[j]; /* moved */
            }
            r->pages = count;
            continue;
        }
        case 21: {
            /* Replace a whole placeholder: private memory (reserved or committed, watched or
             * not), or a view of the section. */
            ok = FALSE;
            if (first & 1) {
                if (!section)
                    break;
                BYTE *v = MapViewOfFile3(section, GetCurrentProcess(), r->base, 0,
                                         r->pages * pagesz, MEM_REPLACE_PLACEHOLDER,
                                         (prot == PAGE_READONLY) ? PAGE_READONLY : PAGE_READWRITE,
                                         NULL, 0);
                ok = v != NULL;
                if (ok) {
                    if (v != r->base || !r->ph)
                        fail("a view replaced something else");
                    r->ph = FALSE;
                    r->replaced = r->view = TRUE;
                    continue;
                }
                break;
            }
            DWORD type = MEM_RESERVE | MEM_REPLACE_PLACEHOLDER | ((count & 1) ? MEM_COMMIT : 0) |
                         ((count & 2) ? MEM_WRITE_WATCH : 0);
            BYTE *p = VirtualAlloc2(NULL, r->base, r->pages * pagesz, type, prot, NULL, 0);
            ok = p != NULL;
            if (ok) {
                if (p != r->base || !r->ph)
                    fail("a replacement of something else");
                r->ph = FALSE;
                r->replaced = TRUE;
                r->watched = (count & 2) != 0;
                r->written = 0;
                continue;
            }
            break;
        }
        case 22:
            /* A view that replaced a placeholder given back. */
            ok = UnmapViewOfFile2(GetCurrentProcess(), r->base, MEM_PRESERVE_PLACEHOLDER);
            if (ok) {
                if (!r->view || !r->replaced)
                    fail("MEM_PRESERVE_PLACEHOLDER unmapped a view no placeholder was");
                r->ph = TRUE;
                r->view = r->replaced = FALSE;
                continue;
            }
            break;
        case 23: {
            /* NtFreeVirtualMemory releasing part of an allocation (cut in three before the
             * middle is forgotten: room for two more entries). */
            if (nres + 2 > MAXRES)
                break;
            PVOID b = at;
            SIZE_T sz = len;
            ok = NtFreeVirtualMemory(GetCurrentProcess(), &b, &sz, MEM_RELEASE) == STATUS_SUCCESS;
            if (!ok)
                break;
            int t = res_at(rs, nres, at);
            if (t < 0)
                fail("a partial release outside every allocation");
            first -= (unsigned)((rs[t].base - r->base) / (SSIZE_T)pagesz);
            k = (unsigned)t;
            r = &rs[t];
            if (first + count > r->pages)
                fail("a release past the allocation's end");
            if (r->view || (count == 0 && first != 0))
                fail("a partial release that should have been refused");
            if (count == 0 || (first == 0 && count == r->pages)) {
                rs[k] = rs[--nres]; /* the whole allocation */
                continue;
            }
            /* The middle goes: cut it out, then forget it. */
            unsigned had = nres;
            nres = cut(rs, nres, k, first, first + count);
            int j = res_at(rs, nres, at);
            if (j < 0 || nres < had)
                fail("partial release bookkeeping");
            rs[j] = rs[--nres];
            continue;
        }
        default:
            VirtualQuery(at, &m, sizeof(m)); /* changes nothing either way */
            break;
        }
        if (wm_space_check(&wm_vm.space, wm_vm.page))
            fail(wm_space_check(&wm_vm.space, wm_vm.page));
        /* A guard page consumed by a refused VirtualLock is Windows' documented side effect. */
        if (!ok && GetLastError() != (DWORD)STATUS_GUARD_PAGE_VIOLATION) {
            at_snap(&after, r->base, r->pages * pagesz);
            if (!at_snap_equal(&before, &after))
                fail("a failed call changed the reservation");
        }
    }
    check_kernel(rs, nres);
    while (nsecured)
        unsecure(nsecured - 1);
    cache_on = 0;
    if (fheap && !HeapDestroy(fheap))
        fail("HeapDestroy");
    fheap = NULL;
    nhb = 0;
    while (nres) {
        nres--;
        if (!(rs[nres].view ? UnmapViewOfFile(rs[nres].base)
                            : VirtualFree(rs[nres].base, 0, MEM_RELEASE)))
            fail("release at the end");
    }
    if (section && !CloseHandle(section))
        fail("CloseHandle");
    return 0;
}

#ifndef WINMEM_LIBFUZZER
/* Replay: pseudo-random programs from fixed seeds (WINMEM_FUZZ_RUNS overrides the count). */
/* Replays inputs saved by libFuzzer (crash-*, corpus files) without the fuzzer runtime. */
static int replay(int argc, char **argv)
{
    static uint8_t data[1 << 16];
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 2;
        }
        size_t n = fread(data, 1, sizeof(data), f);
        fclose(f);
        LLVMFuzzerTestOneInput(data, n);
        wmt_passed++;
    }
    return wmt_report();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return replay(argc, argv);
    const char *env = getenv("WINMEM_FUZZ_RUNS");
    unsigned runs = env ? (unsigned)strtoul(env, NULL, 0) : 3000;
    uint64_t s = 0x2545f4914f6cdd1dull;
    uint8_t buf[512];

    for (unsigned i = 0; i < runs; i++) {
        size_t n = 16 + (size_t)(s % (sizeof(buf) - 16));
        for (size_t j = 0; j < n; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            buf[j] = (uint8_t)(s >> 24);
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    wmt_passed += (int)runs; /* every run checked its invariants or aborted */
    return wmt_report();
}
#endif
