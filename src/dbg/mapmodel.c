/*
 * mapmodel.c - a dump (mapdump.c's lines, or a saved file of them) read back: its records
 * parsed and sorted, and the address space cut into blocks, each a winmem allocation (with
 * its runs, view and heap) or a stretch of the kernel's map that is not winmem's (a file's
 * mappings, a stack with its guard page), each given the category the picture shows it as.
 * What the picture draws of them is maphtml.c's.  Lines this version does not know are
 * skipped, so an older reader takes a newer dump.
 */
#include "dbg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const struct wm_mapcat_info wm_mapmodel_cats[MAPCAT_COUNT] = {
    { "Image", "image", "#c58be3" },          { "Mapped File", "mapped", "#6fa8dc" },
    { "Shareable", "shareable", "#76c7c0" },  { "Heap", "heap", "#f6b26b" },
    { "Private Data", "private", "#e6d55a" }, { "Stack", "stack", "#e06666" },
    { "malloc (brk)", "brk", "#b6d7a8" },     { "Private, not winmem's", "foreign", "#d9c9a3" },
    { "System", "system", "#999999" },        { "Free", "free", "#f3f3f3" },
};

static bool push(struct wm_mapvec *v, const struct wm_maprec *r)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        struct wm_maprec *n = realloc(v->v, cap * sizeof(*n));
        if (!n)
            return false;
        v->v = n;
        v->cap = cap;
    }
    v->v[v->n++] = *r;
    return true;
}

static int by_start(const void *x, const void *y)
{
    const struct wm_maprec *a = x, *b = y;
    return a->a < b->a ? -1 : a->a > b->a;
}

bool wm_mapmodel_is(struct wm_mapfld f, const char *s)
{
    return f.n == strlen(s) && memcmp(f.p, s, f.n) == 0;
}

static bool same(struct wm_mapfld a, struct wm_mapfld b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

uintptr_t wm_mapmodel_number(struct wm_mapfld f)
{
    char tmp[32];
    size_t n = f.n < sizeof(tmp) - 1 ? f.n : sizeof(tmp) - 1;
    memcpy(tmp, f.p, n);
    tmp[n] = 0;
    return (uintptr_t)strtoull(tmp, NULL, 0);
}

/* ---- parsing -------------------------------------------------------------------------------- */

static size_t split(const char *line, const char *end, struct wm_mapfld *f, size_t max)
{
    size_t n = 0;
    const char *p = line;
    while (p < end && n < max) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        const char *s = p;
        while (p < end && *p != ' ')
            p++;
        f[n++] = (struct wm_mapfld){ s, (size_t)(p - s) };
    }
    return n;
}

static bool parse_line(struct wm_mapmodel *m, const char *line, const char *end)
{
    struct wm_mapfld f[12];
    struct wm_maprec r = { 0 };
    size_t n = split(line, end, f, 12);
    if (n == 0)
        return true;
    if (wm_mapmodel_is(f[0], "winmem-map")) {
        m->ok = n >= 2 && wm_mapmodel_is(f[1], "1");
        return true;
    }
    if (wm_mapmodel_is(f[0], "process")) {
        m->process = (struct wm_mapfld){ line, (size_t)(end - line) };
        return true;
    }
    if (wm_mapmodel_is(f[0], "note")) {
        const char *t = n > 1 ? f[1].p : end;
        r.f[0] = (struct wm_mapfld){ t, (size_t)(end - t) };
        return push(&m->note, &r);
    }
    if (n < 3)
        return true; /* not a record this version knows: skipped */
    r.a = wm_mapmodel_number(f[1]);
    r.n = wm_mapmodel_number(f[2]);
    if (wm_mapmodel_is(f[0], "alloc") && n >= 5) {
        r.f[0] = f[3], r.f[1] = f[4];
        for (size_t i = 5; i < n; i++)
            r.flags |= wm_mapmodel_is(f[i], "large")         ? MAPREC_LARGE
                       : wm_mapmodel_is(f[i], "watched")     ? MAPREC_WATCHED
                       : wm_mapmodel_is(f[i], "view")        ? MAPREC_VIEW
                       : wm_mapmodel_is(f[i], "placeholder") ? MAPREC_PLACEHOLDER
                                                             : 0;
        return push(&m->alloc, &r);
    }
    if (wm_mapmodel_is(f[0], "run") && n >= 5) {
        r.flags = wm_mapmodel_is(f[3], "commit") ? MAPREC_COMMIT : 0;
        r.f[0] = f[4];
        for (size_t i = 5; i < n; i++)
            r.flags |= wm_mapmodel_is(f[i], "locked")   ? MAPREC_LOCKED
                       : wm_mapmodel_is(f[i], "copied") ? MAPREC_COPIED
                                                        : 0;
        return push(&m->run, &r);
    }
    if (wm_mapmodel_is(f[0], "view") && n >= 8) {
        r.x = wm_mapmodel_number(f[3]);
        r.f[0] = f[4], r.f[1] = f[5], r.f[2] = f[6], r.f[3] = f[7];
        return push(&m->view, &r);
    }
    if (wm_mapmodel_is(f[0], "written"))
        return push(&m->written, &r);
    if (wm_mapmodel_is(f[0], "secured") && n >= 4) {
        r.f[0] = f[3];
        return push(&m->secured, &r);
    }
    if (wm_mapmodel_is(f[0], "heap") && n >= 4) {
        r.f[0] = f[3];
        return push(&m->heap, &r);
    }
    if (wm_mapmodel_is(f[0], "heapseg") && n >= 6) { /* heap index base reserve commit */
        r.x = wm_mapmodel_number(f[1]);
        r.flags = (unsigned)wm_mapmodel_number(f[2]);
        r.a = wm_mapmodel_number(f[3]), r.n = wm_mapmodel_number(f[4]);
        r.f[0] = f[5];
        return push(&m->hseg, &r);
    }
    if (wm_mapmodel_is(f[0], "heaplarge") && n >= 5) { /* heap base reserve commit */
        r.x = r.a;
        r.flags = 64;
        r.a = wm_mapmodel_number(f[2]), r.n = wm_mapmodel_number(f[3]);
        r.f[0] = f[4];
        return push(&m->hseg, &r);
    }
    if (wm_mapmodel_is(f[0], "foreign") && n >= 6) {
        r.f[0] = f[3], r.f[1] = f[4], r.f[2] = f[5];
        return push(&m->foreign, &r);
    }
    return true;
}

/* ---- the model of the picture --------------------------------------------------------------- */

static bool add_block(struct wm_mapmodel *m, const struct wm_mapblock *b)
{
    if (m->nb == m->capb) {
        size_t cap = m->capb ? m->capb * 2 : 64;
        struct wm_mapblock *n = realloc(m->b, cap * sizeof(*n));
        if (!n)
            return false;
        m->b = n;
        m->capb = cap;
    }
    m->b[m->nb++] = *b;
    return true;
}

/* The first record of v (sorted) with start >= a. */
size_t wm_mapmodel_lower(const struct wm_mapvec *v, uintptr_t a)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->v[mid].a < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A file any of whose mappings is executable is an image (an executable or a library). */
static bool is_image(const struct wm_mapmodel *m, struct wm_mapfld path)
{
    for (size_t i = 0; i < m->foreign.n; i++) {
        const struct wm_maprec *r = &m->foreign.v[i];
        if (r->f[2].n == path.n && memcmp(r->f[2].p, path.p, path.n) == 0 && r->f[0].n >= 3 &&
            r->f[0].p[2] == 'x')
            return true;
    }
    return false;
}

static enum wm_mapcat foreign_cat(const struct wm_mapmodel *m, const struct wm_maprec *r)
{
    struct wm_mapfld k = r->f[1];
    if (wm_mapmodel_is(k, "stack"))
        return MAPCAT_STACK;
    if (wm_mapmodel_is(k, "brk"))
        return MAPCAT_BRK;
    if (wm_mapmodel_is(k, "system"))
        return wm_mapmodel_is(r->f[2], "[vdso]") ? MAPCAT_IMAGE : MAPCAT_SYSTEM;
    if (wm_mapmodel_is(k, "file"))
        return is_image(m, r->f[2]) ? MAPCAT_IMAGE : MAPCAT_MAPPED;
    if (wm_mapmodel_is(k, "shared"))
        return MAPCAT_SHAREABLE;
    return MAPCAT_FOREIGN;
}

static bool build(struct wm_mapmodel *m)
{
    qsort(m->alloc.v, m->alloc.n, sizeof(struct wm_maprec), by_start);
    qsort(m->run.v, m->run.n, sizeof(struct wm_maprec), by_start);
    qsort(m->view.v, m->view.n, sizeof(struct wm_maprec), by_start);
    qsort(m->written.v, m->written.n, sizeof(struct wm_maprec), by_start);
    qsort(m->secured.v, m->secured.n, sizeof(struct wm_maprec), by_start);
    qsort(m->hseg.v, m->hseg.n, sizeof(struct wm_maprec), by_start);
    qsort(m->foreign.v, m->foreign.n, sizeof(struct wm_maprec), by_start);

    size_t ai = 0, fi = 0;
    while (ai < m->alloc.n || fi < m->foreign.n) {
        struct wm_mapblock b = { 0 };
        if (fi == m->foreign.n || (ai < m->alloc.n && m->alloc.v[ai].a < m->foreign.v[fi].a)) {
            const struct wm_maprec *a = &m->alloc.v[ai++];
            b.a = a->a, b.n = a->n, b.winmem = true, b.alloc = a;
            b.first = wm_mapmodel_lower(&m->run, a->a);
            for (size_t i = b.first; i < m->run.n && m->run.v[i].a < a->a + a->n; i++) {
                b.count++;
                if (m->run.v[i].flags & MAPREC_COMMIT)
                    b.committed += m->run.v[i].n;
            }
            size_t v = wm_mapmodel_lower(&m->view, a->a);
            if (v < m->view.n && m->view.v[v].a == a->a)
                b.view = &m->view.v[v];
            size_t h = wm_mapmodel_lower(&m->hseg, a->a);
            if (h < m->hseg.n && m->hseg.v[h].a < a->a + a->n)
                b.heap = m->hseg.v[h].x;
            b.cat = b.heap                                           ? MAPCAT_HEAP
                    : b.view && wm_mapmodel_is(b.view->f[1], "file") ? MAPCAT_MAPPED
                    : b.view || (a->flags & MAPREC_VIEW)             ? MAPCAT_SHAREABLE
                    : wm_mapmodel_is(a->f[0], "image")               ? MAPCAT_IMAGE
                    : wm_mapmodel_is(a->f[0], "mapped")              ? MAPCAT_MAPPED
                                                                     : MAPCAT_PRIVATE;
        } else {
            /* Contiguous pieces of one file, or of anonymous memory of one kind, are one
             * allocation (a thread's stack and its guard page below it, say). */
            const struct wm_maprec *r = &m->foreign.v[fi];
            b.a = r->a, b.first = fi, b.cat = foreign_cat(m, r);
            while (fi < m->foreign.n) {
                const struct wm_maprec *q = &m->foreign.v[fi];
                if (q != r &&
                    (q->a != b.a + b.n || !same(q->f[1], r->f[1]) || !same(q->f[2], r->f[2])))
                    break;
                b.n = q->a + q->n - b.a;
                if (!wm_mapmodel_is(q->f[0], "---p") && !wm_mapmodel_is(q->f[0], "---s"))
                    b.committed += q->n;
                b.count++;
                fi++;
            }
        }
        if (!add_block(m, &b))
            return false;
    }
    return true;
}

static int block_order(const void *x, const void *y)
{
    const struct wm_mapblock *a = x, *b = y;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* The free gaps between blocks, within the user address space the process line gives, as
 * blocks of their own (a gap that cannot be added for want of memory is left out). */
static void free_gaps(struct wm_mapmodel *m)
{
    uintptr_t lo = 0x10000, hi = (uintptr_t)0x7fffffffefff + 1;
    struct wm_mapfld pf[12];
    size_t np = split(m->process.p, m->process.p + m->process.n, pf, 12);
    if (np >= 9 && wm_mapmodel_is(pf[6], "user"))
        lo = wm_mapmodel_number(pf[7]), hi = wm_mapmodel_number(pf[8]) + 1;

    size_t nb = m->nb;
    uintptr_t at = lo;
    for (size_t i = 0; i <= nb; i++) {
        uintptr_t next = i < nb && m->b[i].a < hi ? m->b[i].a : hi; /* [vsyscall] is above */
        if (next > at && at >= lo && next <= hi) {
            struct wm_mapblock f = { .a = at, .n = next - at, .cat = MAPCAT_FREE };
            add_block(m, &f);
        }
        if (i < nb && m->b[i].a + m->b[i].n > at)
            at = m->b[i].a + m->b[i].n;
    }
    qsort(m->b, m->nb, sizeof(*m->b), block_order); /* the gaps back in address order */
}

bool wm_mapmodel_read(struct wm_mapmodel *m, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    bool ok = true;

    memset(m, 0, sizeof(*m));
    while (p < end && ok) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        ok = parse_line(m, p, le);
        p = nl ? nl + 1 : end;
    }
    if (!ok || !m->ok || !build(m))
        return false;
    free_gaps(m);
    return true;
}

void wm_mapmodel_free(struct wm_mapmodel *m)
{
    struct wm_mapvec *vs[] = { &m->alloc, &m->run,  &m->view,    &m->written, &m->secured,
                               &m->heap,  &m->hseg, &m->foreign, &m->note };
    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
        free(vs[i]->v);
    free(m->b);
    memset(m, 0, sizeof(*m));
}
