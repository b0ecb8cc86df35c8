/*
 * trace.c - WINMEM_TRACE: which families are on (read once, at load), and the formatting of
 * one line per call, exception or callback (what each traced function takes: tracespec.c).
 *
 *   WINMEM_TRACE=virtual,section,except,secure,heap   (any subset, or all)
 *   WINMEM_TRACE_FILE=<path>                           (appended to; default stderr)
 *
 * A line reads
 *   winmem <tid>: VirtualFree(addr=0x7f1c2a3b0000, size=0x1000, type=MEM_RELEASE) = FALSE,
 *       last error ERROR_INVALID_PARAMETER (87)
 * (on one line): the last error is shown when the call set it, whether or not it failed;
 * outputs through pointers (an old protection, an Nt call's base and size) follow after ";"
 * when the call succeeded.  The hook in each entry point is trace.h's WM_TRACE.
 *
 * Everything that formats is async-signal-safe, because the except family runs in the
 * signal handler and handlers call traced functions: a line is built on the stack with no
 * stdio, no locale, no malloc, and leaves in one write(2), so lines from different threads
 * (and processes sharing the file, which is opened O_APPEND) never interleave.  write is
 * called directly, as the unhandled-exception report does: os/'s file writer goes on after
 * a short write, which would split a line.
 */
#include "trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "winternl.h"

#include "os/os.h"

unsigned wm_trace_mask;
/* Where lines go: stderr unless WINMEM_TRACE_FILE names a file we could open. */
static int trace_fd = 2;
/* initial-exec, both: the signal handler reads them, and must not allocate the thread's
 * block. */
__thread unsigned wm_trace_depth __attribute__((tls_model("initial-exec")));
/* The thread's id, once asked (a system call per line otherwise); 0 again in a fork child. */
static __thread long cached_tid __attribute__((tls_model("initial-exec")));
/* The traced call under way, when wm_trace_depth is 1; the hook reads the arguments back from it.
 */
__thread struct wm_trace_call wm_trace_current __attribute__((tls_model("initial-exec")));

/* ---- the switch ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned bit;
} families[] = {
    { "virtual", WM_TRACE_VIRTUAL }, { "section", WM_TRACE_SECTION }, { "except", WM_TRACE_EXCEPT },
    { "secure", WM_TRACE_SECURE },   { "heap", WM_TRACE_HEAP },       { "all", ~0u },
};

static void say(const char *a, const char *b, size_t blen, const char *c)
{
    char line[256];
    size_t n = 0, la = strlen(a), lc = strlen(c);
    if (blen > 64)
        blen = 64;
    memcpy(line, a, la);
    n += la;
    memcpy(line + n, b, blen);
    n += blen;
    memcpy(line + n, c, lc);
    n += lc;
    ssize_t ignored = write(trace_fd, line, n);
    (void)ignored;
}

static void forget_tid(void)
{
    cached_tid = 0;
}

/* At load, before any call can be traced: after this the mask never changes, so the hooks
 * read it with no synchronisation. */
__attribute__((constructor)) static void trace_init(void)
{
    const char *env = getenv("WINMEM_TRACE");
    unsigned mask = 0;

    if (!env || !*env)
        return;
    const char *file = getenv("WINMEM_TRACE_FILE");
    if (file && *file) {
        int fd = wm_os_file_open(file, WM_OPEN_APPEND | WM_OPEN_CREATE);
        if (fd >= 0)
            trace_fd = fd;
        else
            say("winmem: WINMEM_TRACE_FILE: cannot open ", file, strlen(file),
                ", tracing to stderr\n");
    }
    for (const char *p = env; *p;) {
        size_t n = strcspn(p, ",");
        size_t i;
        for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
            if (strlen(families[i].name) == n && !memcmp(families[i].name, p, n))
                break;
        if (i < sizeof(families) / sizeof(families[0]))
            mask |= families[i].bit;
        else if (n)
            say("winmem: WINMEM_TRACE: unknown family '", p, n,
                "' (known: virtual, section, except, secure, heap, all)\n");
        p += n;
        if (*p)
            p++;
    }
    if (mask)
        pthread_atfork(NULL, NULL, forget_tid);
    wm_trace_mask = mask & (WM_TRACE_VIRTUAL | WM_TRACE_SECTION | WM_TRACE_EXCEPT |
                            WM_TRACE_SECURE | WM_TRACE_HEAP);
}

/* ---- flag names, in bit order ------------------------------------------------------------ */

struct flag {
    uint32_t bits;
    const char *name;
};
#define END     \
    {           \
        0, NULL \
    }

static const struct flag page_flags[] = {
    { PAGE_NOACCESS, "PAGE_NOACCESS" },
    { PAGE_READONLY, "PAGE_READONLY" },
    { PAGE_READWRITE, "PAGE_READWRITE" },
    { PAGE_WRITECOPY, "PAGE_WRITECOPY" },
    { PAGE_EXECUTE, "PAGE_EXECUTE" },
    { PAGE_EXECUTE_READ, "PAGE_EXECUTE_READ" },
    { PAGE_EXECUTE_READWRITE, "PAGE_EXECUTE_READWRITE" },
    { PAGE_EXECUTE_WRITECOPY, "PAGE_EXECUTE_WRITECOPY" },
    { PAGE_GUARD, "PAGE_GUARD" },
    { PAGE_NOCACHE, "PAGE_NOCACHE" },
    { PAGE_WRITECOMBINE, "PAGE_WRITECOMBINE" },
    { PAGE_TARGETS_INVALID, "PAGE_TARGETS_INVALID" },
    { PAGE_REVERT_TO_FILE_MAP, "PAGE_REVERT_TO_FILE_MAP" },
    END,
};
static const struct flag sec_flags[] = {
    { SEC_HUGE_PAGES, "SEC_HUGE_PAGES" },
    { SEC_PARTITION_OWNER_HANDLE, "SEC_PARTITION_OWNER_HANDLE" },
    { SEC_64K_PAGES, "SEC_64K_PAGES" },
    { SEC_BASED, "SEC_BASED" },
    { SEC_NO_CHANGE, "SEC_NO_CHANGE" },
    { SEC_FILE, "SEC_FILE" },
    { SEC_IMAGE, "SEC_IMAGE" },
    { SEC_PROTECTED_IMAGE, "SEC_PROTECTED_IMAGE" },
    { SEC_RESERVE, "SEC_RESERVE" },
    { SEC_COMMIT, "SEC_COMMIT" },
    { SEC_NOCACHE, "SEC_NOCACHE" },
    { SEC_GLOBAL, "SEC_GLOBAL" },
    { SEC_WRITECOMBINE, "SEC_WRITECOMBINE" },
    { SEC_LARGE_PAGES, "SEC_LARGE_PAGES" },
    END,
};
static const struct flag mem_alloc_flags[] = {
    { MEM_COMMIT, "MEM_COMMIT" },
    { MEM_RESERVE, "MEM_RESERVE" },
    { MEM_REPLACE_PLACEHOLDER, "MEM_REPLACE_PLACEHOLDER" },
    { MEM_RESERVE_PLACEHOLDER, "MEM_RESERVE_PLACEHOLDER" },
    { MEM_RESET, "MEM_RESET" },
    { MEM_TOP_DOWN, "MEM_TOP_DOWN" },
    { MEM_WRITE_WATCH, "MEM_WRITE_WATCH" },
    { MEM_PHYSICAL, "MEM_PHYSICAL" },
    { MEM_ROTATE, "MEM_ROTATE" },
    { MEM_RESET_UNDO, "MEM_RESET_UNDO" },
    { MEM_LARGE_PAGES, "MEM_LARGE_PAGES" },
    { MEM_4MB_PAGES, "MEM_4MB_PAGES" },
    END,
};
static const struct flag mem_free_flags[] = {
    { MEM_COALESCE_PLACEHOLDERS, "MEM_COALESCE_PLACEHOLDERS" },
    { MEM_PRESERVE_PLACEHOLDER, "MEM_PRESERVE_PLACEHOLDER" },
    { MEM_DECOMMIT, "MEM_DECOMMIT" },
    { MEM_RELEASE, "MEM_RELEASE" },
    END,
};
static const struct flag mem_unmap_flags[] = {
    { MEM_UNMAP_WITH_TRANSIENT_BOOST, "MEM_UNMAP_WITH_TRANSIENT_BOOST" },
    { MEM_PRESERVE_PLACEHOLDER, "MEM_PRESERVE_PLACEHOLDER" },
    END,
};
static const struct flag file_map_flags[] = {
    { FILE_MAP_ALL_ACCESS, "FILE_MAP_ALL_ACCESS" }, /* a combination: tried first */
    { FILE_MAP_COPY, "FILE_MAP_COPY" },
    { FILE_MAP_WRITE, "FILE_MAP_WRITE" },
    { FILE_MAP_READ, "FILE_MAP_READ" },
    { FILE_MAP_EXECUTE, "FILE_MAP_EXECUTE" },
    { FILE_MAP_LARGE_PAGES, "FILE_MAP_LARGE_PAGES" },
    { FILE_MAP_TARGETS_INVALID, "FILE_MAP_TARGETS_INVALID" },
    { FILE_MAP_RESERVE, "FILE_MAP_RESERVE" },
    END,
};
static const struct flag heap_flags[] = {
    { HEAP_NO_SERIALIZE, "HEAP_NO_SERIALIZE" },
    { HEAP_GROWABLE, "HEAP_GROWABLE" },
    { HEAP_GENERATE_EXCEPTIONS, "HEAP_GENERATE_EXCEPTIONS" },
    { HEAP_ZERO_MEMORY, "HEAP_ZERO_MEMORY" },
    { HEAP_REALLOC_IN_PLACE_ONLY, "HEAP_REALLOC_IN_PLACE_ONLY" },
    { HEAP_TAIL_CHECKING_ENABLED, "HEAP_TAIL_CHECKING_ENABLED" },
    { HEAP_FREE_CHECKING_ENABLED, "HEAP_FREE_CHECKING_ENABLED" },
    { HEAP_DISABLE_COALESCE_ON_FREE, "HEAP_DISABLE_COALESCE_ON_FREE" },
    { HEAP_CREATE_ALIGN_16, "HEAP_CREATE_ALIGN_16" },
    { HEAP_CREATE_ENABLE_TRACING, "HEAP_CREATE_ENABLE_TRACING" },
    { HEAP_CREATE_ENABLE_EXECUTE, "HEAP_CREATE_ENABLE_EXECUTE" },
    END,
};
static const struct flag lmem_flags[] = {
    { LMEM_MOVEABLE, "LMEM_MOVEABLE" },
    { LMEM_NOCOMPACT, "LMEM_NOCOMPACT" },
    { LMEM_NODISCARD, "LMEM_NODISCARD" },
    { LMEM_ZEROINIT, "LMEM_ZEROINIT" },
    { LMEM_MODIFY, "LMEM_MODIFY" },
    { LMEM_DISCARDABLE, "LMEM_DISCARDABLE" },
    END,
};
static const struct flag gmem_flags[] = {
    { GMEM_MOVEABLE, "GMEM_MOVEABLE" },     { GMEM_NOCOMPACT, "GMEM_NOCOMPACT" },
    { GMEM_NODISCARD, "GMEM_NODISCARD" },   { GMEM_ZEROINIT, "GMEM_ZEROINIT" },
    { GMEM_MODIFY, "GMEM_MODIFY" },         { GMEM_DISCARDABLE, "GMEM_DISCARDABLE" },
    { GMEM_NOT_BANKED, "GMEM_NOT_BANKED" }, { GMEM_SHARE, "GMEM_SHARE" },
    { GMEM_NOTIFY, "GMEM_NOTIFY" },         END,
};
static const char *const info_classes[] = {
    "MemoryBasicInformation",  "MemoryWorkingSetInformation",   "MemoryMappedFilenameInformation",
    "MemoryRegionInformation", "MemoryWorkingSetExInformation",
};

/* ---- a line, built on the stack ---------------------------------------------------------- */

struct line {
    char buf[1024];
    size_t n;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (n > sizeof(l->buf) - 5 - l->n) /* room for "...\n" */
        n = sizeof(l->buf) - 5 - l->n;
    memcpy(l->buf + l->n, s, n);
    l->n += n;
}

static void put_str(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_hex(struct line *l, uint64_t v)
{
    char tmp[18];
    int i = sizeof(tmp);
    do
        tmp[--i] = "0123456789abcdef"[v & 15];
    while (v >>= 4);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    put(l, tmp + i, sizeof(tmp) - (size_t)i);
}

static void put_dec(struct line *l, uint64_t v)
{
    char tmp[20];
    int i = sizeof(tmp);
    do
        tmp[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(l, tmp + i, sizeof(tmp) - (size_t)i);
}

static void put_ptr(struct line *l, uint64_t v)
{
    if (v)
        put_hex(l, v);
    else
        put_str(l, "NULL");
}

/* Named bits joined by '|', then whatever is left in hex; zero as zero_name. */
static void put_flags(struct line *l, uint32_t v, const struct flag *t, const char *zero_name)
{
    bool any = false;
    if (!v) {
        put_str(l, zero_name);
        return;
    }
    for (; t->name; t++) {
        if ((v & t->bits) == t->bits) {
            if (any)
                put_str(l, "|");
            put_str(l, t->name);
            v &= ~t->bits;
            any = true;
        }
    }
    if (v) {
        if (any)
            put_str(l, "|");
        put_hex(l, v);
    }
}

static const char *name_of(const struct wm_trace_name *t, size_t n, uint32_t v)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == v)
            return t[i].name;
    return NULL;
}

static void put_status(struct line *l, NTSTATUS st)
{
    const char *name = name_of(wm_trace_status_names, wm_trace_status_count, (uint32_t)st);
    if (st == STATUS_SUCCESS) {
        put_str(l, "STATUS_SUCCESS");
        return;
    }
    if (name) {
        put_str(l, name);
        put_str(l, " (");
    }
    put_hex(l, (uint32_t)st);
    if (name)
        put_str(l, ")");
}

static void put_error(struct line *l, DWORD err)
{
    const char *name = name_of(wm_trace_error_names, wm_trace_error_count, err);
    if (name) {
        put_str(l, name);
        put_str(l, " (");
    }
    put_dec(l, err);
    if (name)
        put_str(l, ")");
}

/* A caller's string, quoted; bytes outside printable ASCII escaped.  Read through
 * wm_os_copy: a bad pointer is the call's to report, not ours to crash on. */
static void put_name(struct line *l, uint64_t p, bool wide)
{
    size_t unit = wide ? 2 : 1;
    if (!p) {
        put_str(l, "NULL");
        return;
    }
    put_str(l, "\"");
    for (size_t i = 0; i < 64; i++) {
        uint16_t c = 0;
        if (wm_os_copy(&c, (const char *)(uintptr_t)p + i * unit, unit) < 0) {
            put_str(l, "<bad pointer>");
            break;
        }
        if (!c) {
            put_str(l, "\"");
            return;
        }
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            char ch = (char)c;
            put(l, &ch, 1);
        } else if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            put(l, esc, 2);
        } else {
            /* As a C string would spell it: \u for UTF-16 units, \x for bytes. */
            char esc[6] = { '\\', wide ? 'u' : 'x' };
            int digits = wide ? 4 : 2;
            for (int d = 0; d < digits; d++)
                esc[2 + d] = "0123456789abcdef"[(c >> (4 * (digits - 1 - d))) & 15];
            put(l, esc, (size_t)(2 + digits));
        }
    }
    put_str(l, "...\"");
}

static void put_prefix(struct line *l)
{
    l->n = 0;
    put_str(l, "winmem ");
    if (!cached_tid)
        cached_tid = syscall(SYS_gettid);
    put_dec(l, (uint64_t)cached_tid);
    put_str(l, ": ");
}

static void emit(struct line *l)
{
    if (l->n >= sizeof(l->buf) - 5)
        put_str(l, "...");
    l->buf[l->n++] = '\n';
    ssize_t r;
    do
        r = write(trace_fd, l->buf, l->n);
    while (r < 0 && errno == EINTR);
}

/* ---- one argument ------------------------------------------------------------------------ */

static bool is(const char *kind, size_t n, const char *s)
{
    return strlen(s) == n && !memcmp(kind, s, n);
}

/* A value read through the caller's pointer, or false. */
static bool peek(uint64_t p, size_t size, uint64_t *out)
{
    *out = 0;
    return p && wm_os_copy(out, (const void *)(uintptr_t)p, size) == 0;
}

static void put_value(struct line *l, const char *k, size_t kn, uint64_t v)
{
    if (is(k, kn, "h"))
        v == (uint64_t)-1 ? put_str(l, "-1") : put_ptr(l, v);
    else if (is(k, kn, "p"))
        put_ptr(l, v);
    else if (is(k, kn, "x"))
        put_hex(l, v);
    else if (is(k, kn, "u"))
        put_dec(l, (uint32_t)v);
    else if (is(k, kn, "page"))
        put_flags(l, (uint32_t)v, page_flags, "0");
    else if (is(k, kn, "mem"))
        put_flags(l, (uint32_t)v, mem_alloc_flags, "0");
    else if (is(k, kn, "free"))
        put_flags(l, (uint32_t)v, mem_free_flags, "0");
    else if (is(k, kn, "unmap"))
        put_flags(l, (uint32_t)v, mem_unmap_flags, "0");
    else if (is(k, kn, "secattr"))
        put_flags(l, (uint32_t)v, sec_flags, "0");
    else if (is(k, kn, "sec")) {
        uint32_t page =
            (uint32_t)v &
            ~(uint32_t)(SEC_HUGE_PAGES | SEC_PARTITION_OWNER_HANDLE | SEC_64K_PAGES | SEC_BASED |
                        SEC_NO_CHANGE | SEC_FILE | SEC_IMAGE | SEC_PROTECTED_IMAGE | SEC_RESERVE |
                        SEC_COMMIT | SEC_NOCACHE | SEC_GLOBAL | SEC_WRITECOMBINE | SEC_LARGE_PAGES);
        put_flags(l, page, page_flags, "0");
        if ((uint32_t)v != page) {
            put_str(l, "|");
            put_flags(l, (uint32_t)v & ~page, sec_flags, "0");
        }
    } else if (is(k, kn, "fmap"))
        put_flags(l, (uint32_t)v, file_map_flags, "0");
    else if (is(k, kn, "heap"))
        put_flags(l, (uint32_t)v, heap_flags, "0");
    else if (is(k, kn, "lmem"))
        put_flags(l, (uint32_t)v, lmem_flags, "LMEM_FIXED");
    else if (is(k, kn, "gmem"))
        put_flags(l, (uint32_t)v, gmem_flags, "GMEM_FIXED");
    else if (is(k, kn, "mic")) {
        if (v < sizeof(info_classes) / sizeof(info_classes[0]))
            put_str(l, info_classes[v]);
        else
            put_dec(l, v);
    } else if (is(k, kn, "ws") || is(k, kn, "s"))
        put_name(l, v, kn == 2);
    else if (is(k, kn, "oa")) {
        OBJECT_ATTRIBUTES oa;
        UNICODE_STRING us;
        if (!v)
            put_str(l, "NULL");
        else if (wm_os_copy(&oa, (const void *)(uintptr_t)v, sizeof(oa)) < 0)
            put_str(l, "<bad pointer>");
        else if (!oa.ObjectName)
            put_str(l, "{name=NULL}");
        else if (wm_os_copy(&us, oa.ObjectName, sizeof(us)) < 0)
            put_str(l, "{name=<bad pointer>}");
        else {
            /* The counted name, at most 64 characters shown. */
            put_str(l, "{name=");
            put_name(l, (uintptr_t)us.Buffer, true);
            put_str(l, "}");
        }
    } else
        put_hex(l, v);
}

/* The spec's arguments one by one: *name and *kind, lengths in *nn and *kn. */
static const char *next_arg(const char *p, const char **name, size_t *nn, const char **kind,
                            size_t *kn)
{
    while (*p == ' ')
        p++;
    if (!*p)
        return NULL;
    *name = p;
    *nn = strcspn(p, ":");
    *kind = p + *nn + 1;
    *kn = strcspn(*kind, " ");
    return *kind + *kn;
}

/* In/out pointer kinds: what the call reads before it runs. */
static size_t in_size(const char *k, size_t kn)
{
    if (is(k, kn, "*p") || is(k, kn, "*x") || is(k, kn, "*i64"))
        return 8;
    return 0;
}

/* ---- calls ------------------------------------------------------------------------------- */

/* Set while a Win32 call runs, so that after it we know whether it set the last error: a
 * value no call sets. */
#define UNTOUCHED 0xfffffffbu

static bool sets_last_error(const struct wm_trace_spec *s)
{
    return strncmp(s->name, "Nt", 2) && strncmp(s->name, "Rtl", 3) && strncmp(s->name, "Mm", 2);
}

unsigned wm_trace_hold(void)
{
    unsigned d = wm_trace_depth;
    wm_trace_depth = 1;
    return d;
}

void wm_trace_release(unsigned held)
{
    wm_trace_depth = held;
}

void wm_trace_begin(const struct wm_trace_spec *spec, unsigned nargs, ...)
{
    struct wm_trace_call *c = &wm_trace_current;
    va_list ap;

    wm_trace_depth = 1;
    c->spec = spec;
    va_start(ap, nargs);
    for (unsigned k = 0; k < nargs && k < WM_TRACE_MAX_ARGS; k++)
        c->arg[k] = va_arg(ap, uint64_t); /* the hook calls with these */
    va_end(ap);
    if (!(wm_trace_mask & spec->family))
        return; /* run untraced, but keep its inner calls quiet too */
    const char *p = spec->args, *name, *kind;
    size_t nn, kn, i = 0;
    while ((p = next_arg(p, &name, &nn, &kind, &kn)) && i < WM_TRACE_MAX_ARGS && i < nargs) {
        size_t sz = in_size(kind, kn);
        if (!sz || !peek(c->arg[i], sz, &c->before[i]))
            c->before[i] = 0;
        i++;
    }
    for (; i < WM_TRACE_MAX_ARGS; i++)
        c->arg[i] = c->before[i] = 0; /* a spec longer than the call: shown as 0 */
    if (sets_last_error(spec)) {
        c->last_error = GetLastError();
        SetLastError(UNTOUCHED);
    }
}

static bool failed(const char *res, uint64_t r)
{
    if (!strcmp(res, "status"))
        return !NT_SUCCESS((NTSTATUS)r);
    if (!strcmp(res, "bool") || !strcmp(res, "boolean") || !strcmp(res, "ulong"))
        return (uint32_t)r == 0;
    if (!strcmp(res, "uint0"))
        return (uint32_t)r != 0;
    if (!strcmp(res, "sizem1"))
        return r == (uint64_t)-1;
    if (!strcmp(res, "void"))
        return false;
    if (!strcmp(res, "null0"))
        return r != 0;
    return r == 0; /* ptr, size0 */
}

uint64_t wm_trace_end(uint64_t r)
{
    struct wm_trace_call *c = &wm_trace_current;
    const struct wm_trace_spec *s = c->spec;
    int saved_errno = errno;

    if (!(wm_trace_mask & s->family)) {
        wm_trace_depth = 0;
        return r;
    }
    struct line l;
    const char *p = s->args, *name, *kind;
    size_t nn, kn, i = 0;
    bool bad = failed(s->result, r);

    put_prefix(&l);
    put_str(&l, s->name);
    put_str(&l, "(");
    while ((p = next_arg(p, &name, &nn, &kind, &kn)) && i < WM_TRACE_MAX_ARGS) {
        if (i)
            put_str(&l, ", ");
        if (in_size(kind, kn) && c->arg[i]) {
            put_str(&l, "*"); /* what the pointer held going in */
            put(&l, name, nn);
            put_str(&l, "=");
            if (is(kind, kn, "*p"))
                put_ptr(&l, c->before[i]);
            else
                put_hex(&l, c->before[i]);
        } else {
            put(&l, name, nn);
            put_str(&l, "=");
            if (kind[0] == '*')
                put_ptr(&l, c->arg[i]);
            else
                put_value(&l, kind, kn, c->arg[i]);
        }
        i++;
    }
    put_str(&l, ")");
    if (strcmp(s->result, "void")) {
        put_str(&l, " = ");
        if (!strcmp(s->result, "status"))
            put_status(&l, (NTSTATUS)r);
        else if (!strcmp(s->result, "bool") || !strcmp(s->result, "boolean"))
            put_str(&l, (uint32_t)r ? "TRUE" : "FALSE");
        else if (!strcmp(s->result, "ptr") || !strcmp(s->result, "null0"))
            put_ptr(&l, r);
        else if (!strcmp(s->result, "ulong") || !strcmp(s->result, "uint0"))
            put_dec(&l, (uint32_t)r);
        else
            put_hex(&l, r);
    }
    if (sets_last_error(s)) {
        DWORD err = GetLastError();
        if (err == UNTOUCHED)
            SetLastError(c->last_error); /* the call left it alone: so do we */
        else {
            put_str(&l, ", last error ");
            put_error(&l, err);
        }
    }
    /* Outputs through pointers, when the call succeeded. */
    if (!bad) {
        bool first = true;
        p = s->args;
        i = 0;
        while ((p = next_arg(p, &name, &nn, &kind, &kn)) && i < WM_TRACE_MAX_ARGS) {
            uint64_t v;
            bool out = is(kind, kn, "*p") || is(kind, kn, "*x") || is(kind, kn, "*h") ||
                       is(kind, kn, "*page");
            if (out && peek(c->arg[i], is(kind, kn, "*page") ? 4 : 8, &v)) {
                put_str(&l, first ? "; " : ", ");
                first = false;
                put_str(&l, "*");
                put(&l, name, nn);
                put_str(&l, "=");
                if (is(kind, kn, "*page"))
                    put_flags(&l, (uint32_t)v, page_flags, "0");
                else if (is(kind, kn, "*x"))
                    put_hex(&l, v);
                else
                    put_ptr(&l, v);
            }
            i++;
        }
    }
    emit(&l);
    wm_trace_depth = 0;
    errno = saved_errno;
    return r;
}

/* ---- exceptions and callbacks ------------------------------------------------------------ */

static void put_exception(struct line *l, const EXCEPTION_RECORD *rec)
{
    put_prefix(l);
    put_str(l, "exception ");
    put_status(l, (NTSTATUS)rec->ExceptionCode);
}

void wm_trace_dispatch_sigsafe(const EXCEPTION_RECORD *rec, struct wm_trace_saved *saved)
{
    saved->depth = wm_trace_depth;
    saved->untouched = false;
    if (wm_trace_depth) {
        saved->call = wm_trace_current;
        /* A traced Win32 call is under way, its last error held at the marker: a handler may
         * leave by longjmp and never come back to it, so the thread gets its real value. */
        const struct wm_trace_spec *spec = saved->call.spec;
        if ((wm_trace_mask & spec->family) && sets_last_error(spec) &&
            GetLastError() == UNTOUCHED) {
            SetLastError(saved->call.last_error);
            saved->untouched = true;
        }
    }
    wm_trace_depth = 0;
    if (!(wm_trace_mask & WM_TRACE_EXCEPT))
        return;
    int saved_errno = errno;
    struct line l;
    DWORD code = rec->ExceptionCode;
    put_exception(&l, rec);
    put_str(&l, " at ");
    put_hex(&l, (uintptr_t)rec->ExceptionAddress);
    if ((code == EXCEPTION_ACCESS_VIOLATION || code == EXCEPTION_GUARD_PAGE ||
         code == EXCEPTION_IN_PAGE_ERROR) &&
        rec->NumberParameters >= 2) {
        ULONG_PTR kind = rec->ExceptionInformation[0];
        put_str(&l, kind == EXCEPTION_WRITE_FAULT     ? ", writing "
                    : kind == EXCEPTION_EXECUTE_FAULT ? ", executing "
                                                      : ", reading ");
        put_hex(&l, rec->ExceptionInformation[1]);
    }
    if (rec->ExceptionFlags & EXCEPTION_NONCONTINUABLE)
        put_str(&l, ", noncontinuable");
    if (rec->ExceptionFlags & EXCEPTION_NESTED_CALL)
        put_str(&l, ", nested");
    put_str(&l, ": dispatching");
    emit(&l);
    errno = saved_errno;
}

void wm_trace_outcome_sigsafe(const EXCEPTION_RECORD *rec, LONG verdict, const char *by,
                              const void *handler, const struct wm_trace_saved *saved)
{
    if (wm_trace_mask & WM_TRACE_EXCEPT) {
        int saved_errno = errno;
        struct line l;
        put_exception(&l, rec);
        put_str(&l, verdict == EXCEPTION_CONTINUE_EXECUTION ? " = EXCEPTION_CONTINUE_EXECUTION"
                    : verdict == EXCEPTION_EXECUTE_HANDLER  ? " = EXCEPTION_EXECUTE_HANDLER"
                                                            : " = EXCEPTION_CONTINUE_SEARCH");
        if (by) {
            put_str(&l, " from ");
            put_str(&l, by);
            put_str(&l, " ");
            put_ptr(&l, (uintptr_t)handler);
        } else
            put_str(&l, " (no handler took it)");
        emit(&l);
        errno = saved_errno;
    }
    wm_trace_depth = saved->depth;
    if (wm_trace_depth) {
        wm_trace_current = saved->call;
        if (saved->untouched && GetLastError() == saved->call.last_error)
            SetLastError(UNTOUCHED); /* back in the call: watch it again */
    }
}

void wm_trace_callback(const void *fn, const void *addr, SIZE_T size, BOOLEAN result)
{
    int saved_errno = errno;
    struct line l;
    put_prefix(&l);
    put_str(&l, "secure memory cache callback ");
    put_ptr(&l, (uintptr_t)fn);
    put_str(&l, "(addr=");
    put_ptr(&l, (uintptr_t)addr);
    put_str(&l, ", size=");
    put_hex(&l, size);
    put_str(&l, result ? ") = TRUE" : ") = FALSE");
    emit(&l);
    errno = saved_errno;
}
