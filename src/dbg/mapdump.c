/*
 * mapdump.c - the text dump of the address space as winmem sees it: every reservation with
 * its runs (state, protection with PAGE_GUARD, locked and copied pages), views with their
 * section and file, write-watched pages written, secured ranges, the heaps' regions, and the
 * memory winmem did not map (stacks, libraries, malloc) from the kernel's list.  One record a
 * line, the format docs/debugging.md describes; maphtml.c draws it, tools/winmem-gdb.py reads
 * it.
 *
 * The model is read the way queries read it (mm/query.c): under the VM read lock, or, from a
 * debugger, through the sequence check with no lock at all (vmstate.c), trying again when a
 * writer ran meanwhile and saying so when one never stopped (it may be the stopped thread).
 * The kernel's list is read under the same lock, so the two sources never overlap; the heaps
 * are walked after it is dropped (their locks come before the VM lock).
 */
#include "dbg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/mm.h"
#include "rtl/heap.h"

/* ---- the sink ------------------------------------------------------------------------------ */

void wm_mapsink_put(struct wm_mapsink *s, const char *text, size_t n)
{
    if (s->grow && s->len + n + 1 > s->cap && !s->failed) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) {
            s->failed = true;
            return;
        }
        s->buf = b;
        s->cap = cap;
    }
    if (s->failed)
        return;
    if (s->len < s->cap) {
        size_t room = s->cap - s->len - 1; /* keep one byte for the terminator */
        memcpy(s->buf + s->len, text, n < room ? n : room);
        s->buf[s->len + (n < room ? n : room)] = 0;
    }
    s->len += n;
}

void wm_mapsink_printf(struct wm_mapsink *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n;
    if (len >= sizeof(line)) { /* only paths get this long: cut, but end the line */
        len = sizeof(line) - 1;
        line[len - 1] = '\n';
    }
    wm_mapsink_put(s, line, len);
}

/* ---- names --------------------------------------------------------------------------------- */

static const char *prot_text(uint32_t prot, char *buf, size_t len)
{
    static const char *const base[] = { "NOACCESS",          "READONLY",         "READWRITE",
                                        "WRITECOPY",         "EXECUTE",          "EXECUTE_READ",
                                        "EXECUTE_READWRITE", "EXECUTE_WRITECOPY" };
    static const struct {
        uint32_t bit;
        const char *name;
    } mods[] = { { PAGE_GUARD, "GUARD" },
                 { PAGE_NOCACHE, "NOCACHE" },
                 { PAGE_WRITECOMBINE, "WRITECOMBINE" },
                 { PAGE_TARGETS_INVALID, "TARGETS_INVALID" } };
    size_t used = 0;

    if (prot == 0)
        return "-";
    buf[0] = 0;
    uint32_t b = prot & WM_PAGE_BASE_MASK;
    if (b && !(b & (b - 1)))
        used += (size_t)snprintf(buf, len, "%s", base[__builtin_ctz(b)]);
    else if (b)
        used += (size_t)snprintf(buf, len, "0x%x", (unsigned)b);
    uint32_t rest = prot & ~(uint32_t)WM_PAGE_BASE_MASK;
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]) && used < len; i++) {
        if (rest & mods[i].bit) {
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "", mods[i].name);
            rest &= ~mods[i].bit;
        }
    }
    if (rest && used < len)
        snprintf(buf + used, len - used, "%s0x%x", used ? "|" : "", (unsigned)rest);
    return buf;
}

static const char *type_text(uint32_t type)
{
    return type == MEM_IMAGE ? "image" : type == MEM_MAPPED ? "mapped" : "private";
}

/* A path or name as one field: space, '%' and anything unprintable as %XX. */
static const char *field_text(const char *s, size_t n, char *buf, size_t len)
{
    size_t o = 0;
    if (!s || n == 0)
        return "-";
    for (size_t i = 0; i < n && s[i] && o + 4 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '%' || c >= 0x7f)
            o += (size_t)snprintf(buf + o, len - o, "%%%02X", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = 0;
    return buf;
}

/* ---- winmem's reservations ------------------------------------------------------------------ */

struct watched {
    uintptr_t base;
    size_t size;
};

struct dump {
    struct wm_mapsink *s;
    bool debugger;
    struct watched *w; /* watched regions whose written pages the kernel is asked for later */
    size_t nw, capw;
};

/* Written pages from the model's record, as ranges. */
static void written_from_bits(struct dump *d, const struct wm_region *r)
{
    const struct wm_region_ext *x = WM_LOAD(r->ext);
    if (!x)
        return;
    const uint64_t *bits = WM_LOAD(x->dirty);
    size_t pages = r->size / wm_vm.page, words = WM_LOAD(x->dirty_words);
    if (!bits || words * 64 < pages)
        return;
    for (size_t i = 0; i < pages;) {
        if (!(bits[i / 64] >> (i % 64) & 1)) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < pages && (bits[j / 64] >> (j % 64) & 1))
            j++;
        wm_mapsink_printf(d->s, "written 0x%lx 0x%lx\n", (unsigned long)(r->base + i * wm_vm.page),
                          (unsigned long)((j - i) * wm_vm.page));
        i = j;
    }
}

static void view_line(struct dump *d, const struct wm_region *r)
{
    const struct wm_region_ext *x = WM_LOAD(r->ext);
    const struct wm_section *sec = x ? WM_LOAD(x->object) : NULL;
    char path[256], name[256], f1[300], f2[300], pt[64];
    if (!sec)
        return;
    bool file = (sec->attrs & SEC_FILE) != 0;
    path[0] = 0;
    if (file && wm_os_fd_path(sec->fd, path, sizeof(path)))
        path[0] = 0;
    const char *nm = sec->name;
    snprintf(name, sizeof(name), "%s", nm ? nm : "");
    wm_mapsink_printf(d->s, "view 0x%lx 0x%lx 0x%llx %s %s %s %s\n", (unsigned long)r->base,
                      (unsigned long)r->size, (unsigned long long)x->offset,
                      prot_text(sec->prot, pt, sizeof(pt)), file ? "file" : "pagefile",
                      field_text(name, strlen(name), f1, sizeof(f1)),
                      field_text(path, strlen(path), f2, sizeof(f2)));
}

static void region_lines(struct dump *d, const struct wm_region *r)
{
    char p1[64], p2[64];
    uint16_t flags = WM_LOAD(r->flags);
    uint32_t nruns = WM_LOAD(r->nruns), cap = WM_LOAD(r->cap);
    const struct wm_run *runs = WM_LOAD(r->runs);
    if (!runs || nruns == 0 || (cap && nruns > cap)) /* a writer is half-way: skip the runs */
        nruns = 0;

    wm_mapsink_printf(
        d->s, "alloc 0x%lx 0x%lx %s %s%s%s%s%s\n", (unsigned long)r->base, (unsigned long)r->size,
        type_text(wm_region_type(r)), prot_text(r->alloc_prot, p1, sizeof(p1)),
        flags & WM_REGION_LARGE ? " large" : "", flags & WM_REGION_WATCHED ? " watched" : "",
        flags & WM_REGION_VIEW ? " view" : "", flags & WM_REGION_PLACEHOLDER ? " placeholder" : "");
    for (uint32_t i = 0; i < nruns; i++) {
        struct wm_run run = runs[i];
        size_t end = i + 1 < nruns ? runs[i + 1].off : r->size;
        if (end <= run.off || end > r->size)
            break;
        wm_mapsink_printf(
            d->s, "run 0x%lx 0x%lx %s %s%s%s\n", (unsigned long)(r->base + run.off),
            (unsigned long)(end - run.off), run.state == WM_STATE_COMMITTED ? "commit" : "reserve",
            prot_text(run.prot, p2, sizeof(p2)), run.flags & WM_RUN_LOCKED ? " locked" : "",
            run.flags & WM_RUN_COPIED ? " copied" : "");
    }
    if (flags & WM_REGION_VIEW)
        view_line(d, r);
    if (flags & WM_REGION_WATCHED) {
        if (d->debugger || wm_watch_mode != WM_WATCH_FAST) {
            written_from_bits(d, r);
        } else {
            if (d->nw == d->capw) {
                size_t ncap = d->capw ? d->capw * 2 : 16;
                struct watched *n = realloc(d->w, ncap * sizeof(*n));
                if (!n)
                    return;
                d->w = n;
                d->capw = ncap;
            }
            d->w[d->nw++] = (struct watched){ r->base, r->size };
        }
    }
}

/* ---- memory winmem did not map ------------------------------------------------------------- */

static const char *foreign_kind(const struct wm_maps_entry *e)
{
    if (e->path_len >= 6 && memcmp(e->path, "[stack", 6) == 0)
        return "stack";
    if (e->path_len == 6 && memcmp(e->path, "[heap]", 6) == 0)
        return "brk";
    if (e->flags & (WM_MAPS_VDSO | WM_MAPS_SPECIAL))
        return "system";
    if (e->flags & WM_MAPS_FILE)
        return "file";
    if (e->flags & WM_MAPS_SHARED)
        return "shared";
    return "anon";
}

static void foreign_piece(struct dump *d, const struct wm_maps_entry *e, uintptr_t s, uintptr_t t)
{
    char f[600];
    wm_mapsink_printf(d->s, "foreign 0x%lx 0x%lx %c%c%c%c %s %s\n", (unsigned long)s,
                      (unsigned long)(t - s), e->acc & WM_ACC_R ? 'r' : '-',
                      e->acc & WM_ACC_W ? 'w' : '-', e->acc & WM_ACC_X ? 'x' : '-',
                      e->flags & WM_MAPS_SHARED ? 's' : 'p', foreign_kind(e),
                      field_text(e->path, e->path_len, f, sizeof(f)));
}

/* Each kernel mapping less the parts winmem's reservations cover. */
static void foreign_lines(struct dump *d)
{
    struct wm_maps maps;
    struct wm_maps_entry e;
    if (wm_maps_open(&maps)) {
        wm_mapsink_printf(d->s, "note /proc/self/maps could not be read\n");
        return;
    }
    while (wm_maps_next(&maps, &e) == 1) {
        uintptr_t at = e.start;
        while (at < e.end) {
            const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, at);
            if (r) {
                at = r->base + r->size;
                continue;
            }
            r = wm_space_next(&wm_vm.space, at);
            uintptr_t stop = r && r->base < e.end ? r->base : e.end;
            foreign_piece(d, &e, at, stop);
            at = stop;
        }
    }
    wm_maps_close(&maps);
}

/* ---- secured ranges and heaps ------------------------------------------------------------- */

static void secured_lines(struct dump *d)
{
    uintptr_t start, end;
    uint32_t mode;
    for (size_t i = 0; i < 1u << 20 && wm_secure_range_locked(i, &start, &end, &mode); i++)
        wm_mapsink_printf(d->s, "secured 0x%lx 0x%lx %s\n", (unsigned long)start,
                          (unsigned long)(end - start),
                          mode == PAGE_READWRITE ? "readwrite" : "readonly");
}

static void heap_region(void *ctx, const struct wm_heap *h, unsigned index, uintptr_t base,
                        size_t reserve, size_t commit)
{
    struct dump *d = ctx;
    if (index == WM_HEAP_MAX_SEGS)
        wm_mapsink_printf(d->s, "heaplarge 0x%lx 0x%lx 0x%lx 0x%lx\n", (unsigned long)(uintptr_t)h,
                          (unsigned long)base, (unsigned long)reserve, (unsigned long)commit);
    else
        wm_mapsink_printf(d->s, "heapseg 0x%lx %u 0x%lx 0x%lx 0x%lx\n", (unsigned long)(uintptr_t)h,
                          index, (unsigned long)base, (unsigned long)reserve,
                          (unsigned long)commit);
}

static void heap_lines(void *ctx, struct wm_heap *h, bool process)
{
    struct dump *d = ctx;
    wm_mapsink_printf(d->s, "heap 0x%lx 0x%lx %s\n", (unsigned long)(uintptr_t)h,
                      (unsigned long)h->flags, process ? "process" : "private");
    if (!wm_heapwalk_regions(h, !d->debugger, heap_region, d))
        wm_mapsink_printf(d->s, "note heap 0x%lx was busy: its regions are not listed\n",
                          (unsigned long)(uintptr_t)h);
}

/* ---- the walk ------------------------------------------------------------------------------- */

static void model_lines(struct dump *d)
{
    for (const struct wm_region *r = wm_space_next(&wm_vm.space, 0); r;
         r = wm_space_next(&wm_vm.space, WM_LOAD(r->base)))
        region_lines(d, r);
    secured_lines(d);
    foreign_lines(d);
}

/* Written pages of a watched region on the fast path, where the kernel's page tables hold
 * them: asked with NtGetWriteWatch (no reset), as the program itself would. */
static void written_from_kernel(struct dump *d, const struct watched *w)
{
    PVOID addr[256];
    uintptr_t at = w->base, end = w->base + w->size;
    while (at < end) {
        ULONG_PTR n = sizeof(addr) / sizeof(addr[0]);
        ULONG gran;
        if (NtGetWriteWatch(NtCurrentProcess(), 0, (PVOID)at, end - at, addr, &n, &gran) || n == 0)
            return;
        for (ULONG_PTR i = 0; i < n;) {
            ULONG_PTR j = i + 1;
            while (j < n && (uintptr_t)addr[j] == (uintptr_t)addr[j - 1] + gran)
                j++;
            wm_mapsink_printf(d->s, "written 0x%lx 0x%lx\n", (unsigned long)(uintptr_t)addr[i],
                              (unsigned long)((j - i) * gran));
            i = j;
        }
        if (n < sizeof(addr) / sizeof(addr[0]))
            return;
        at = (uintptr_t)addr[n - 1] + gran;
    }
}

void wm_mapdump_write(struct wm_mapsink *s, bool debugger)
{
    struct dump d = { .s = s, .debugger = debugger };

    wm_vmstate_init();
    wm_mapsink_printf(s, "winmem-map 1\n");
    wm_mapsink_printf(s, "process %u page 0x%lx granularity 0x%lx user 0x%lx 0x%lx %s\n",
                      wm_os_process_id(), (unsigned long)wm_vm.page, (unsigned long)WM_GRANULARITY,
                      (unsigned long)WM_MIN_ADDRESS, (unsigned long)WM_MAX_ADDRESS,
                      debugger ? "debugger" : "locked");
    if (debugger) {
        /* The sequence check with nothing waited for: a writer stopped mid-change (gdb stops
         * every thread) leaves the sequence odd for good, and the model is then read as it
         * is, which the type-stable arena keeps safe if not exact. */
        size_t mark = s->len;
        bool valid = false;
        for (int tries = 0; tries < 4 && !valid; tries++) {
            s->len = mark;
            uint32_t seq = wm_vmstate_read_begin();
            model_lines(&d);
            valid = !(seq & 1) && wm_vmstate_read_valid(seq);
        }
        if (!valid)
            wm_mapsink_printf(s, "note a thread was changing the model during the walk: the "
                                 "picture may be inexact there\n");
    } else {
        wm_vmstate_rdlock();
        model_lines(&d);
        wm_vmstate_rdunlock();
        for (size_t i = 0; i < d.nw; i++)
            written_from_kernel(&d, &d.w[i]);
        free(d.w);
    }
    if (!wm_heap_each(!debugger, heap_lines, &d))
        wm_mapsink_printf(s, "note the heap list was busy: heaps are not listed\n");
    wm_mapsink_printf(s, "end\n");
}
