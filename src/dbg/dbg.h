/*
 * dbg.h - cross-file functions of the debugging aids (src/dbg/): the text dump of the address
 * space as winmem sees it (mapdump.c), a dump read back into blocks (mapmodel.c), their
 * rendering as one self-contained HTML page (maphtml.c), and the exported calls and
 * WINMEM_MAP switch over them (mapapi.c).  The line format is documented in
 * docs/debugging.md.
 *
 * Layer rules, stated once: dbg/ only reads: the model through the VM lock or its sequence
 * check (mm/), the heaps through their segment lock (rtl/), the kernel's map through os/.
 * It changes nothing in any of them.  In debugger mode (a call made from gdb with every
 * thread stopped wherever it was) nothing is waited for and nothing is allocated with
 * malloc: a lock held elsewhere is skipped or read around, and the dump says so.
 */
#ifndef WM_DBG_H
#define WM_DBG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "windows.h"
#include "winternl.h"

/* Where text goes: a growing malloc'd buffer, or a fixed one that keeps what fits (and
 * still counts len, so a caller learns the size a second try needs). */
struct wm_mapsink {
    char *buf;
    size_t len, cap; /* len may pass cap in fixed mode: the bytes that did not fit */
    bool grow;
    bool failed; /* out of memory while growing: the text is incomplete */
};

void wm_mapsink_printf(struct wm_mapsink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wm_mapsink_put(struct wm_mapsink *s, const char *text, size_t n);

/* ---- mapdump.c: the text dump ---------------------------------------------------------- */

/* Write the dump of the whole address space.  debugger: no lock is waited for and no memory
 * allocated (see the layer rules); otherwise the model is read under the VM read lock and
 * each write-watched region's written pages are asked of the kernel afterwards. */
void wm_mapdump_write(struct wm_mapsink *s, bool debugger);

/* ---- mapmodel.c: a dump read back ------------------------------------------------------ */

/* What a block is drawn as, in the summary's order. */
enum wm_mapcat {
    MAPCAT_IMAGE,
    MAPCAT_MAPPED,
    MAPCAT_SHAREABLE,
    MAPCAT_HEAP,
    MAPCAT_PRIVATE,
    MAPCAT_STACK,
    MAPCAT_BRK,
    MAPCAT_FOREIGN,
    MAPCAT_SYSTEM,
    MAPCAT_FREE,
    MAPCAT_COUNT
};

struct wm_mapfld {
    const char *p;
    size_t n;
};

struct wm_maprec {
    uintptr_t a, n, x;     /* start, size, one more number (offset, heap, commit) */
    struct wm_mapfld f[4]; /* the rest of the line's fields, undecoded */
    unsigned flags;
};

enum {
    MAPREC_LARGE = 1,
    MAPREC_WATCHED = 2,
    MAPREC_VIEW = 4,
    MAPREC_LOCKED = 8,
    MAPREC_COPIED = 16,
    MAPREC_COMMIT = 32,
    MAPREC_PLACEHOLDER = 64,
};

struct wm_mapvec {
    struct wm_maprec *v;
    size_t n, cap;
};

struct wm_mapblock {
    uintptr_t a, n;
    enum wm_mapcat cat;
    bool winmem;
    size_t first, count; /* its runs (winmem) or foreign pieces */
    const struct wm_maprec *alloc, *view;
    uintptr_t heap;
    size_t committed;
};

struct wm_mapmodel {
    struct wm_mapvec alloc, run, view, written, secured, heap, hseg, foreign, note;
    struct wm_mapfld process;
    struct wm_mapblock *b;
    size_t nb, capb;
    bool ok;
};

struct wm_mapcat_info {
    const char *name, *key, *color; /* the summary's label, data-kind, the colour drawn */
};
extern const struct wm_mapcat_info wm_mapmodel_cats[MAPCAT_COUNT];

/* Parse text (len bytes) into m and cut the address space into blocks in address order, the
 * free gaps included; false when it is not a dump (no "winmem-map 1" line) or memory ran
 * out.  m is to be freed either way. */
bool wm_mapmodel_read(struct wm_mapmodel *m, const char *text, size_t len);
void wm_mapmodel_free(struct wm_mapmodel *m);
/* A field's text is s. */
bool wm_mapmodel_is(struct wm_mapfld f, const char *s);
/* A field read as a number (0x... hexadecimal, else decimal). */
uintptr_t wm_mapmodel_number(struct wm_mapfld f);
/* The first record of v (sorted by start) starting at or after a. */
size_t wm_mapmodel_lower(const struct wm_mapvec *v, uintptr_t a);

/* ---- maphtml.c: the picture ------------------------------------------------------------ */

/* Render a dump (text, len bytes) as HTML into out (a growing sink).  false when the text
 * is not a dump (no "winmem-map 1" line). */
bool wm_maphtml_render(const char *text, size_t len, struct wm_mapsink *out);

/* ---- mapout.c: files, the debugger's buffer, WINMEM_MAP ------------------------------------ */

/* format 0: HTML, 1: the text dump (winmem_map.h's WM_MAP_*). */
NTSTATUS wm_mapout_write(const char *path, unsigned format);
NTSTATUS wm_mapout_render(const char *text_path, const char *html_path);
/* The dump in debugger mode, in a buffer of its own mapping (NULL: none could be mapped). */
const char *wm_mapout_debug(void);

#endif
