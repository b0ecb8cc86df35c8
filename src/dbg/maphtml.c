/*
 * maphtml.c - the address-space picture: a dump (mapdump.c's lines, or a saved file of them)
 * drawn as one self-contained HTML page, the way Sysinternals VMMap shows a process: a
 * summary table by type (image, mapped file, shareable, heap, private data, stack, ...) with
 * sizes, a map of every allocation and free gap in address order, and a table of the
 * allocations with their runs.
 *
 * The map is inline SVG: each block's width grows with the log of its size (the address space
 * is 128 TiB and mostly free, so a linear scale would show nothing), and inside a block the
 * runs sit at their true proportions; a little inline script zooms (wheel, drag, buttons,
 * click on a block).  Nothing is fetched from the network.  Every drawn element carries
 * data-kind (alloc, run, guard, written, secured, view, heapseg, foreign, free) and its
 * address, so a test can check in a real browser what was drawn (tests/map/).  The dump is
 * read back into blocks by mapmodel.c; the order of its lines does not matter.
 */
#include "dbg.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond this many blocks the map and the table stop (the summary still counts all). */
#define MAX_DRAWN 20000

/* ---- output helpers ------------------------------------------------------------------------- */

static void out(struct wm_mapsink *o, const char *s)
{
    wm_mapsink_put(o, s, strlen(s));
}

/* A dump field (percent-encoded) as HTML text. */
static void out_field(struct wm_mapsink *o, struct wm_mapfld f)
{
    for (size_t i = 0; i < f.n; i++) {
        char c = f.p[i];
        if (c == '%' && i + 2 < f.n) {
            char hx[3] = { f.p[i + 1], f.p[i + 2], 0 };
            c = (char)strtol(hx, NULL, 16);
            i += 2;
        }
        switch (c) {
        case '&':
            out(o, "&amp;");
            break;
        case '<':
            out(o, "&lt;");
            break;
        case '>':
            out(o, "&gt;");
            break;
        case '"':
            out(o, "&quot;");
            break;
        default:
            if ((unsigned char)c >= ' ')
                wm_mapsink_put(o, &c, 1);
        }
    }
}

static const char *size_text(uintptr_t n, char *buf, size_t len)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5)
        v /= 1024, u++;
    if (u == 0 || v >= 100 || v == (double)(uint64_t)v)
        snprintf(buf, len, "%.0f %s", v, unit[u]);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

/* ---- the page ------------------------------------------------------------------------------- */

static const char style[] =
    "body{font:13px sans-serif;margin:12px;color:#222}h1{font-size:18px;margin:0 0 4px}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 6px;"
    "text-align:right}td:first-child,th:first-child{text-align:left}.sw{display:inline-block;"
    "width:10px;height:10px;margin-right:4px;border:1px solid #888}#wrap{border:1px solid #aaa;"
    "overflow:hidden;cursor:grab}#map text{font-size:10px;pointer-events:none}"
    "#detail td{text-align:left;font-family:monospace;white-space:nowrap}#detail "
    "tr.sel{background:#ffe9a8}"
    "#detail tr.runrow td{color:#555}.note{color:#a33}";

static const char script[] =
    "(function(){var svg=document.getElementById('map'),W=+svg.dataset.width,"
    "H=+svg.dataset.height,vb={x:0,y:0,w:W,h:H};function set(){svg.setAttribute('viewBox',"
    "vb.x+' '+vb.y+' '+vb.w+' '+vb.h)}function zoom(f,cx,cy){var nw=Math.min(W,Math.max(8,"
    "vb.w*f)),nh=nw*H/W;vb.x=cx-(cx-vb.x)*nw/vb.w;vb.y=cy-(cy-vb.y)*nh/vb.h;vb.w=nw;vb.h=nh;"
    "set()}function pt(e){var r=svg.getBoundingClientRect();return{x:vb.x+(e.clientX-r.left)*"
    "vb.w/r.width,y:vb.y+(e.clientY-r.top)*vb.h/r.height}}svg.addEventListener('wheel',"
    "function(e){e.preventDefault();var p=pt(e);zoom(e.deltaY<0?0.8:1.25,p.x,p.y)});var drag="
    "null;svg.addEventListener('mousedown',function(e){drag={x:e.clientX,y:e.clientY,vx:vb.x,"
    "vy:vb.y}});window.addEventListener('mouseup',function(){drag=null});window."
    "addEventListener('mousemove',function(e){if(!drag)return;var r=svg.getBoundingClientRect()"
    ";vb.x=drag.vx-(e.clientX-drag.x)*vb.w/r.width;vb.y=drag.vy-(e.clientY-drag.y)*vb.h/"
    "r.height;set()});document.getElementById('zin').onclick=function(){zoom(0.5,vb.x+vb.w/2,"
    "vb.y+vb.h/2)};document.getElementById('zout').onclick=function(){zoom(2,vb.x+vb.w/2,vb.y+"
    "vb.h/2)};document.getElementById('zreset').onclick=function(){vb={x:0,y:0,w:W,h:H};set()}"
    ";svg.addEventListener('dblclick',function(e){var g=e.target.closest('g[data-block]');if("
    "!g)return;var b=g.getBBox();vb={x:b.x-4,y:b.y-4,w:b.width+8,h:(b.width+8)*H/W};set();"
    "var row=document.getElementById('row-'+g.dataset.block);document.querySelectorAll("
    "'#detail tr.sel').forEach(function(t){t.classList.remove('sel')});if(row){row.classList."
    "add('sel');row.scrollIntoView({block:'nearest'})}});set();var n=0,k={};svg."
    "querySelectorAll('[data-kind]').forEach(function(el){var b=el.getBBox();if(b.width>0&&b."
    "height>0){n++;k[el.dataset.kind]=(k[el.dataset.kind]||0)+1}});var st=document."
    "getElementById('status');st.dataset.drawn=n;Object.keys(k).forEach(function(x){st."
    "setAttribute('data-drawn-'+x,k[x])});st.dataset.ready='1';st.textContent='drawn: '+n+"
    "' elements'})();";

#define MAP_W 1200
#define ROW_H 60
#define BAR_H 30

static double block_width(uintptr_t n)
{
    /* 36 px plus 14 per doubling past a page (no libm: whole doublings suffice). */
    unsigned long long pages = (unsigned long long)(n / 4096) + 1;
    double w = 36 + 14 * (63 - __builtin_clzll(pages));
    return w > 420 ? 420 : w;
}

struct layout {
    double x, y;
};

static void place(struct layout *l, double w, double *x, double *y)
{
    if (l->x + w > MAP_W - 4 && l->x > 4) {
        l->x = 4;
        l->y += ROW_H;
    }
    *x = l->x;
    *y = l->y;
    l->x += w + 4;
}

/* A part [s, s+n) of a block drawn at bx..bx+bw: its x and width. */
static void span(const struct wm_mapblock *b, double bx, double bw, uintptr_t s, uintptr_t n,
                 double *x, double *w)
{
    uintptr_t lo = s < b->a ? b->a : s, hi = s + n > b->a + b->n ? b->a + b->n : s + n;
    *x = bx + bw * (double)(lo - b->a) / (double)b->n;
    *w = bw * (double)(hi - lo) / (double)b->n;
    if (*w < 1)
        *w = 1;
}

/* Marks that must show at any zoom (a guard page, a written page, a secured range) get at
 * least min px, kept inside their block. */
static void widen(double *x, double *w, double min, double bx, double bw)
{
    if (*w >= min || bw < min)
        return;
    *w = min;
    if (*x + min > bx + bw)
        *x = bx + bw - min;
}

static void draw_block(struct wm_mapsink *o, const struct wm_mapmodel *m,
                       const struct wm_mapblock *b, double x, double y, double w)
{
    char sz[32];
    const char *color = wm_mapmodel_cats[b->cat].color;

    wm_mapsink_printf(o, "<g data-block=\"%" PRIxPTR "\">", b->a);
    if (b->cat == MAPCAT_FREE) {
        wm_mapsink_printf(o,
                          "<rect data-kind=\"free\" data-base=\"0x%" PRIxPTR
                          "\" data-size=\"0x%" PRIxPTR "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%d\" fill=\"%s\" stroke=\"#ccc\" stroke-dasharray=\"3 2\">"
                          "<title>free 0x%" PRIxPTR " %s</title></rect>",
                          b->a, b->n, x, y, w, BAR_H, color, b->a, size_text(b->n, sz, sizeof(sz)));
    } else {
        wm_mapsink_printf(
            o,
            "<rect id=\"a-%" PRIxPTR "\" data-kind=\"alloc\" data-type=\"%s\" "
            "data-base=\"0x%" PRIxPTR "\" data-size=\"0x%" PRIxPTR
            "\" data-winmem=\"%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
            "fill=\"#fff\" stroke=\"#555\"><title>",
            b->a, wm_mapmodel_cats[b->cat].key, b->a, b->n, b->winmem, x, y, w, BAR_H);
        wm_mapsink_printf(o, "%s 0x%" PRIxPTR " %s", wm_mapmodel_cats[b->cat].name, b->a,
                          size_text(b->n, sz, sizeof(sz)));
        out(o, "</title></rect>");
    }
    if (b->winmem) {
        for (size_t i = b->first; i < b->first + b->count; i++) {
            const struct wm_maprec *r = &m->run.v[i];
            double rx, rw;
            bool guard = memmem(r->f[0].p, r->f[0].n, "GUARD", 5) != NULL;
            span(b, x, w, r->a, r->n, &rx, &rw);
            wm_mapsink_printf(o,
                              "<rect data-kind=\"run\" data-base=\"0x%" PRIxPTR
                              "\" data-size=\"0x%" PRIxPTR "\" data-state=\"%s\" data-prot=\"",
                              r->a, r->n, r->flags & MAPREC_COMMIT ? "commit" : "reserve");
            out_field(o, r->f[0]);
            wm_mapsink_printf(o,
                              "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
                              "fill-opacity=\"%s\"><title>0x%" PRIxPTR " %s %s ",
                              rx, y + 1, rw, BAR_H - 2, color,
                              r->flags & MAPREC_COMMIT ? "1" : "0.25", r->a,
                              size_text(r->n, sz, sizeof(sz)),
                              r->flags & MAPREC_COMMIT ? "committed" : "reserved");
            out_field(o, r->f[0]);
            wm_mapsink_printf(o, "%s</title></rect>", r->flags & MAPREC_LOCKED ? " locked" : "");
            if (!guard)
                continue;
            widen(&rx, &rw, 3, x, w);
            wm_mapsink_printf(o,
                              "<rect data-kind=\"guard\" data-base=\"0x%" PRIxPTR
                              "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
                              "fill=\"url(#hatch)\"><title>guard page(s) 0x%" PRIxPTR
                              "</title></rect>",
                              r->a, rx, y + 1, rw, BAR_H - 2, r->a);
        }
        for (size_t i = wm_mapmodel_lower(&m->written, b->a);
             i < m->written.n && m->written.v[i].a < b->a + b->n; i++) {
            double rx, rw;
            span(b, x, w, m->written.v[i].a, m->written.v[i].n, &rx, &rw);
            widen(&rx, &rw, 2, x, w);
            wm_mapsink_printf(o,
                              "<rect data-kind=\"written\" data-base=\"0x%" PRIxPTR
                              "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"6\" fill=\"#222\">"
                              "<title>written since the last reset: 0x%" PRIxPTR
                              " %s</title></rect>",
                              m->written.v[i].a, rx, y + BAR_H - 7, rw, m->written.v[i].a,
                              size_text(m->written.v[i].n, sz, sizeof(sz)));
        }
        if (b->view) {
            wm_mapsink_printf(
                o, "<rect data-kind=\"view\" data-base=\"0x%" PRIxPTR "\" data-backing=\"", b->a);
            out_field(o, b->view->f[1]);
            wm_mapsink_printf(o,
                              "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"4\" "
                              "fill=\"#1c4587\"><title>view of ",
                              x, y - 5, w);
            out_field(o, wm_mapmodel_is(b->view->f[3], "-") ? b->view->f[2] : b->view->f[3]);
            out(o, "</title></rect>");
        }
        for (size_t i = wm_mapmodel_lower(&m->hseg, b->a);
             i < m->hseg.n && m->hseg.v[i].a < b->a + b->n; i++) {
            const struct wm_maprec *h = &m->hseg.v[i];
            double rx, rw;
            span(b, x, w, h->a, wm_mapmodel_number(h->f[0]) ? wm_mapmodel_number(h->f[0]) : 1, &rx,
                 &rw);
            wm_mapsink_printf(o,
                              "<rect data-kind=\"heapseg\" data-base=\"0x%" PRIxPTR
                              "\" data-heap=\"0x%" PRIxPTR "\" x=\"%.1f\" y=\"%.1f\" "
                              "width=\"%.1f\" height=\"4\" fill=\"#b45f06\"><title>heap 0x%" PRIxPTR
                              " %s %u</title></rect>",
                              h->a, h->x, rx, y - 5, rw, h->x,
                              h->flags == 64 ? "large block" : "region", h->flags);
        }
    } else if (b->cat != MAPCAT_FREE) {
        for (size_t i = b->first; i < b->first + b->count; i++) {
            const struct wm_maprec *r = &m->foreign.v[i];
            double rx, rw;
            bool none = wm_mapmodel_is(r->f[0], "---p") || wm_mapmodel_is(r->f[0], "---s");
            span(b, x, w, r->a, r->n, &rx, &rw);
            wm_mapsink_printf(o,
                              "<rect data-kind=\"foreign\" data-base=\"0x%" PRIxPTR
                              "\" data-size=\"0x%" PRIxPTR "\" data-foreign=\"",
                              r->a, r->n);
            out_field(o, r->f[1]);
            wm_mapsink_printf(o,
                              "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
                              "fill-opacity=\"%s\"><title>0x%" PRIxPTR " %s ",
                              rx, y + 1, rw, BAR_H - 2, color, none ? "0.25" : "1", r->a,
                              size_text(r->n, sz, sizeof(sz)));
            out_field(o, r->f[0]);
            out(o, " ");
            out_field(o, r->f[2]);
            out(o, "</title></rect>");
        }
    }
    /* Secured ranges over any block they touch. */
    for (size_t i = 0; i < m->secured.n; i++) {
        const struct wm_maprec *s = &m->secured.v[i];
        if (s->a >= b->a + b->n || s->a + s->n <= b->a || b->cat == MAPCAT_FREE)
            continue;
        double rx, rw;
        span(b, x, w, s->a, s->n, &rx, &rw);
        widen(&rx, &rw, 4, x, w);
        wm_mapsink_printf(o,
                          "<rect data-kind=\"secured\" data-base=\"0x%" PRIxPTR
                          "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"none\" "
                          "stroke=\"#cc0000\" stroke-width=\"2\"><title>secured ",
                          s->a, rx, y, rw, BAR_H);
        out_field(o, s->f[0]);
        wm_mapsink_printf(o, " 0x%" PRIxPTR " %s</title></rect>", s->a,
                          size_text(s->n, sz, sizeof(sz)));
    }
    wm_mapsink_printf(o, "<text x=\"%.1f\" y=\"%.1f\">%s %s</text></g>\n", x + 2, y + BAR_H + 11,
                      wm_mapmodel_cats[b->cat].key, size_text(b->n, sz, sizeof(sz)));
}

struct sum {
    uintptr_t size, committed, blocks, largest;
};

static void summary(struct wm_mapsink *o, const struct wm_mapmodel *m, const struct sum *s)
{
    char a[32], b[32], c[32], d[32];
    struct sum t = { 0 };
    out(o, "<table id=\"summary\"><tr><th>Type</th><th>Size</th><th>Committed</th>"
           "<th>Reserved</th><th>Blocks</th><th>Largest</th></tr>\n");
    for (int i = 0; i < MAPCAT_COUNT; i++) {
        if (!s[i].blocks)
            continue;
        wm_mapsink_printf(
            o,
            "<tr data-type=\"%s\" data-size=\"0x%" PRIxPTR "\" data-blocks=\"%" PRIuPTR
            "\"><td><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
            "<td>%s</td><td>%s</td><td>%s</td><td>%" PRIuPTR "</td><td>%s</td></tr>\n",
            wm_mapmodel_cats[i].key, s[i].size, s[i].blocks, wm_mapmodel_cats[i].color,
            wm_mapmodel_cats[i].name, size_text(s[i].size, a, sizeof(a)),
            i == MAPCAT_FREE ? "-" : size_text(s[i].committed, b, sizeof(b)),
            i == MAPCAT_FREE ? "-" : size_text(s[i].size - s[i].committed, c, sizeof(c)),
            s[i].blocks, size_text(s[i].largest, d, sizeof(d)));
        if (i != MAPCAT_FREE) {
            t.size += s[i].size;
            t.committed += s[i].committed;
            t.blocks += s[i].blocks;
        }
    }
    wm_mapsink_printf(o,
                      "<tr data-type=\"total\"><th>Total (not free)</th><th>%s</th><th>%s</th>"
                      "<th>%s</th><th>%" PRIuPTR "</th><th></th></tr></table>\n",
                      size_text(t.size, a, sizeof(a)), size_text(t.committed, b, sizeof(b)),
                      size_text(t.size - t.committed, c, sizeof(c)), t.blocks);

    /* What winmem knows beyond VirtualQuery. */
    uintptr_t guard = 0, locked = 0, written = 0, secured = 0, heapres = 0;
    for (size_t i = 0; i < m->run.n; i++) {
        if (memmem(m->run.v[i].f[0].p, m->run.v[i].f[0].n, "GUARD", 5))
            guard += m->run.v[i].n;
        if (m->run.v[i].flags & MAPREC_LOCKED)
            locked += m->run.v[i].n;
    }
    for (size_t i = 0; i < m->written.n; i++)
        written += m->written.v[i].n;
    for (size_t i = 0; i < m->secured.n; i++)
        secured += m->secured.v[i].n;
    for (size_t i = 0; i < m->hseg.n; i++)
        heapres += m->hseg.v[i].n;
    wm_mapsink_printf(o,
                      "<table id=\"special\"><tr><th>winmem's own records</th><th>Count</th>"
                      "<th>Size</th></tr>\n<tr data-type=\"guard\"><td>guard pages</td><td></td>"
                      "<td>%s</td></tr>\n",
                      size_text(guard, a, sizeof(a)));
    wm_mapsink_printf(o,
                      "<tr data-type=\"written\"><td>watched pages written</td><td>%zu</td>"
                      "<td>%s</td></tr>\n<tr data-type=\"secured\"><td>secured ranges</td>"
                      "<td>%zu</td><td>%s</td></tr>\n",
                      m->written.n, size_text(written, a, sizeof(a)), m->secured.n,
                      size_text(secured, b, sizeof(b)));
    wm_mapsink_printf(o,
                      "<tr data-type=\"locked\"><td>locked pages</td><td></td><td>%s</td></tr>\n"
                      "<tr data-type=\"heaps\"><td>heaps (regions and large blocks)</td>"
                      "<td>%zu (%zu)</td><td>%s</td></tr>\n<tr data-type=\"views\"><td>views"
                      "</td><td>%zu</td><td></td></tr></table>\n",
                      size_text(locked, a, sizeof(a)), m->heap.n, m->hseg.n,
                      size_text(heapres, b, sizeof(b)), m->view.n);
}

static void detail_row(struct wm_mapsink *o, const struct wm_mapmodel *m,
                       const struct wm_mapblock *b)
{
    char a[32], c[32];
    wm_mapsink_printf(o,
                      "<tr id=\"row-%" PRIxPTR
                      "\" data-kind=\"%s\" data-type=\"%s\"><td>0x%" PRIxPTR
                      "</td><td>%s</td><td>%s</td><td>%s</td><td>",
                      b->a, b->winmem ? "alloc" : "foreign", wm_mapmodel_cats[b->cat].key, b->a,
                      wm_mapmodel_cats[b->cat].name, size_text(b->n, a, sizeof(a)),
                      size_text(b->committed, c, sizeof(c)));
    if (b->winmem) {
        out(o, "winmem ");
        out_field(o, b->alloc->f[0]);
        out(o, ", AllocationProtect ");
        out_field(o, b->alloc->f[1]);
        if (b->alloc->flags & MAPREC_WATCHED)
            out(o, ", write-watched");
        if (b->alloc->flags & MAPREC_LARGE)
            out(o, ", large pages");
        if (b->alloc->flags & MAPREC_PLACEHOLDER)
            out(o, ", placeholder");
        if (b->view) {
            wm_mapsink_printf(o, ", view at offset 0x%" PRIxPTR " of a ", b->view->x);
            out_field(o, b->view->f[1]);
            out(o, " section ");
            out_field(o, b->view->f[2]);
            out(o, " ");
            out_field(o, b->view->f[3]);
        }
        if (b->heap)
            wm_mapsink_printf(o, ", heap 0x%" PRIxPTR, b->heap);
        wm_mapsink_printf(o, ", %zu run%s", b->count, b->count == 1 ? "" : "s");
    } else if (wm_mapmodel_is(m->foreign.v[b->first].f[2], "-")) {
        out(o, "anonymous memory");
    } else {
        out_field(o, m->foreign.v[b->first].f[2]);
    }
    out(o, "</td></tr>\n");
    if (!b->winmem || b->count < 2)
        return;
    for (size_t i = b->first; i < b->first + b->count; i++) {
        const struct wm_maprec *r = &m->run.v[i];
        wm_mapsink_printf(o,
                          "<tr class=\"runrow\" data-kind=\"run\"><td>&nbsp;&nbsp;0x%" PRIxPTR
                          "</td><td>%s</td><td>%s</td><td></td><td>",
                          r->a, r->flags & MAPREC_COMMIT ? "committed" : "reserved",
                          size_text(r->n, a, sizeof(a)));
        out_field(o, r->f[0]);
        out(o, r->flags & MAPREC_LOCKED ? " locked" : "");
        out(o, r->flags & MAPREC_COPIED ? " copied" : "");
        out(o, "</td></tr>\n");
    }
}

static void page(struct wm_mapsink *o, const struct wm_mapmodel *m)
{
    struct sum s[MAPCAT_COUNT] = { { 0 } };
    for (size_t i = 0; i < m->nb; i++) {
        struct sum *c = &s[m->b[i].cat];
        c->size += m->b[i].n;
        c->committed += m->b[i].cat == MAPCAT_FREE ? 0 : m->b[i].committed;
        c->blocks++;
        if (m->b[i].n > c->largest)
            c->largest = m->b[i].n;
    }

    out(o, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>winmem address space"
           "</title><style>");
    out(o, style);
    out(o, "</style></head><body>\n<h1>Address space as winmem sees it</h1>\n<p id=\"process\">");
    out_field(o, m->process);
    out(o, "</p>\n");
    for (size_t i = 0; i < m->note.n; i++) {
        out(o, "<p class=\"note\">");
        out_field(o, m->note.v[i].f[0]);
        out(o, "</p>\n");
    }
    summary(o, m, s);

    /* The map. */
    struct layout l = { 4, 10 };
    size_t drawn = m->nb < MAX_DRAWN ? m->nb : MAX_DRAWN;
    for (size_t i = 0; i < drawn; i++) {
        double x, y;
        place(&l, block_width(m->b[i].n), &x, &y);
    }
    int height = (int)l.y + ROW_H;
    out(o, "<p><button id=\"zin\">zoom in</button> <button id=\"zout\">zoom out</button> "
           "<button id=\"zreset\">whole map</button> Wheel zooms, drag moves, double-click a "
           "block to zoom to it and find it in the table. Widths grow with the log of the size; "
           "within a block, runs are to scale. <span id=\"status\"></span></p>\n<p>");
    for (int i = 0; i < MAPCAT_COUNT; i++)
        wm_mapsink_printf(o, "<span class=\"sw\" style=\"background:%s\"></span>%s &nbsp; ",
                          wm_mapmodel_cats[i].color, wm_mapmodel_cats[i].name);
    out(o, "pale: reserved &nbsp; hatched: guard &nbsp; black ticks: written (watched) "
           "&nbsp; red outline: secured &nbsp; blue bar: view &nbsp; brown bar: heap</p>\n");
    wm_mapsink_printf(o,
                      "<div id=\"wrap\"><svg id=\"map\" xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%d\" height=\"%d\" data-width=\"%d\" data-height=\"%d\" "
                      "data-blocks=\"%zu\">\n<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" "
                      "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect "
                      "width=\"3\" height=\"6\" fill=\"#e69138\"/></pattern></defs>\n",
                      MAP_W, height, MAP_W, height, drawn);
    l = (struct layout){ 4, 10 };
    for (size_t i = 0; i < drawn; i++) {
        double x, y, w = block_width(m->b[i].n);
        place(&l, w, &x, &y);
        draw_block(o, m, &m->b[i], x, y, w);
    }
    out(o, "</svg></div>\n");
    if (drawn < m->nb)
        wm_mapsink_printf(o, "<p class=\"note\">%zu more blocks are not drawn.</p>\n",
                          m->nb - drawn);

    out(o, "<h2>Allocations</h2>\n<table id=\"detail\"><tr><th>Address</th><th>Type</th>"
           "<th>Size</th><th>Committed</th><th>Details</th></tr>\n");
    for (size_t i = 0; i < drawn; i++)
        if (m->b[i].cat != MAPCAT_FREE)
            detail_row(o, m, &m->b[i]);
    out(o, "</table>\n<script>");
    out(o, script);
    out(o, "</script></body></html>\n");
}

bool wm_maphtml_render(const char *text, size_t len, struct wm_mapsink *o)
{
    struct wm_mapmodel m;
    bool ok = wm_mapmodel_read(&m, text, len);
    if (ok)
        page(o, &m);
    wm_mapmodel_free(&m);
    return ok && !o->failed;
}
