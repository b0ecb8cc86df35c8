/*
 * mapout.c - where the address-space picture goes: a file (text dump or HTML), a saved dump
 * drawn into HTML, the debugger's buffer, and WINMEM_MAP=<file>, which writes the picture
 * when the process exits.  The exported calls over these are in win32/mapapi.c.
 */
#include "dbg.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/mm.h"

static NTSTATUS write_file(const char *path, const char *buf, size_t len)
{
    size_t done;
    int fd = wm_os_file_open(path, WM_OPEN_WRITE | WM_OPEN_CREATE | WM_OPEN_TRUNC);
    if (fd < 0)
        return wm_status_from_errno(fd, WM_ERRNO_OBJECT);
    int rc = wm_os_file_write(fd, buf, len, -1, &done);
    int rc2 = wm_os_close(fd);
    rc = rc ? rc : rc2;
    return rc ? wm_status_from_errno(rc, WM_ERRNO_OBJECT) : STATUS_SUCCESS;
}

static NTSTATUS render_to_file(const char *text, size_t len, const char *html_path)
{
    struct wm_mapsink html = { .grow = true };
    NTSTATUS st;
    if (wm_maphtml_render(text, len, &html))
        st = write_file(html_path, html.buf, html.len);
    else
        st = html.failed ? STATUS_NO_MEMORY : STATUS_INVALID_PARAMETER;
    free(html.buf);
    return st;
}

NTSTATUS wm_mapout_write(const char *path, unsigned format)
{
    struct wm_mapsink text = { .grow = true };
    NTSTATUS st;

    if (!path || (format != 0 && format != 1))
        return STATUS_INVALID_PARAMETER;
    wm_mapdump_write(&text, false);
    if (text.failed)
        st = STATUS_NO_MEMORY;
    else if (format == 1)
        st = write_file(path, text.buf, text.len);
    else
        st = render_to_file(text.buf, text.len, path);
    free(text.buf);
    return st;
}

NTSTATUS wm_mapout_render(const char *text_path, const char *html_path)
{
    uint64_t size;
    size_t done = 0;
    NTSTATUS st;

    if (!text_path || !html_path)
        return STATUS_INVALID_PARAMETER;
    int fd = wm_os_file_open(text_path, WM_OPEN_READ);
    if (fd < 0)
        return wm_status_from_errno(fd, WM_ERRNO_OBJECT);
    int rc = wm_os_file_size(fd, &size);
    char *text = rc == 0 && size < SIZE_MAX ? malloc((size_t)size + 1) : NULL;
    if (rc == 0 && !text)
        rc = -ENOMEM;
    if (rc == 0)
        rc = wm_os_file_read(fd, text, (size_t)size, 0, &done);
    wm_os_close(fd);
    if (rc)
        st = wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    else
        st = render_to_file(text, done, html_path);
    free(text);
    return st;
}

/* ---- the debugger's buffer ------------------------------------------------------------------ */

/* Mapped with the system call, not malloc (which another stopped thread may be inside), and
 * kept between calls; replaced by a larger one when the dump outgrows it. */
static char *debug_buf;
static size_t debug_cap;

const char *wm_mapout_debug(void)
{
    for (int tries = 0; tries < 3; tries++) {
        if (!debug_buf) {
            uintptr_t a = 0;
            size_t cap = debug_cap ? debug_cap : (size_t)1 << 20;
            if (wm_os_map(&a, cap, WM_ACC_R | WM_ACC_W, false))
                return NULL;
            debug_buf = (char *)a;
            debug_cap = cap;
        }
        struct wm_mapsink s = { .buf = debug_buf, .cap = debug_cap };
        wm_mapdump_write(&s, true);
        if (s.len < debug_cap)
            return debug_buf;
        wm_os_unmap((uintptr_t)debug_buf, debug_cap);
        debug_buf = NULL;
        debug_cap = (s.len * 2 + 0xffff) & ~(size_t)0xffff;
    }
    return debug_buf;
}

/* ---- WINMEM_MAP=<file> ------------------------------------------------------------------------
 */

/* The path with "%p" replaced by the process id, taken at load; only the process that loaded
 * the library writes it (a fork()ed child that calls exit() is another process), so a parent
 * and its children do not overwrite each other's picture. */
static char *exit_path;
static unsigned exit_pid;

static void write_at_exit(void)
{
    if (!exit_path || wm_os_process_id() != exit_pid)
        return;
    size_t n = strlen(exit_path);
    bool text = n > 4 && strcmp(exit_path + n - 4, ".txt") == 0;
    wm_mapout_write(exit_path, text ? 1 : 0);
}

__attribute__((constructor)) static void map_at_exit(void)
{
    const char *env = getenv("WINMEM_MAP");
    char pid[16];
    if (!env || !*env)
        return;
    exit_pid = wm_os_process_id();
    int np = snprintf(pid, sizeof(pid), "%u", exit_pid);
    size_t len = strlen(env) + 1;
    for (const char *p = env; (p = strstr(p, "%p")); p += 2)
        len += (size_t)np;
    char *path = malloc(len);
    if (!path)
        return;
    char *o = path;
    for (const char *p = env; *p;) {
        if (p[0] == '%' && p[1] == 'p') {
            memcpy(o, pid, (size_t)np);
            o += np;
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    exit_path = path;
    atexit(write_at_exit);
}
