/*
 * maps.c - a streaming reader of /proc/self/maps.
 *
 * VirtualQuery answers for memory winmem did not map (stacks, malloc, executables, shared
 * objects) from the kernel's own list.  The reader uses a fixed in-struct buffer and raw
 * read(2), so it allocates nothing and can run with the VM lock held; it is never used on
 * the fault path.
 */
#include "os.h"

#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vm/vm.h"

int wm_maps_open(struct wm_maps *m)
{
    m->len = m->pos = 0;
    m->fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    return m->fd < 0 ? -errno : 0;
}

void wm_maps_close(struct wm_maps *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

/* Make sure a whole line sits in buf[pos..len); returns its length with '\n', 0 at EOF. */
static ssize_t fill_line(struct wm_maps *m)
{
    for (;;) {
        char *nl = memchr(m->buf + m->pos, '\n', m->len - m->pos);
        if (nl)
            return nl - (m->buf + m->pos) + 1;
        if (m->pos > 0) {
            memmove(m->buf, m->buf + m->pos, m->len - m->pos);
            m->len -= m->pos;
            m->pos = 0;
        }
        if (m->len == sizeof(m->buf)) {
            /* A path longer than the buffer: keep the fields, drop the rest of the path. */
            m->len = sizeof(m->buf) / 2;
        }
        ssize_t n;
        do
            n = read(m->fd, m->buf + m->len, sizeof(m->buf) - m->len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return -errno;
        if (n == 0) {
            if (m->len == 0)
                return 0;
            m->buf[m->len++] = '\n'; /* unterminated last line */
            continue;
        }
        m->len += (size_t)n;
    }
}

static uint64_t hex(const char **p)
{
    uint64_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9')
            v = v * 16 + (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (uint64_t)(c - 'a' + 10);
        else
            return v;
    }
}

static uint64_t dec(const char **p)
{
    uint64_t v = 0;
    while (**p >= '0' && **p <= '9')
        v = v * 10 + (uint64_t)(*(*p)++ - '0');
    return v;
}

int wm_maps_next(struct wm_maps *m, struct wm_maps_entry *e)
{
    ssize_t n = fill_line(m);
    if (n <= 0)
        return (int)n;

    const char *p = m->buf + m->pos, *end = p + n - 1;
    m->pos += (size_t)n;

    /* "start-end perms offset major:minor inode   path" */
    e->start = (uintptr_t)hex(&p);
    p++;
    e->end = (uintptr_t)hex(&p);
    p++;
    e->acc =
        (p[0] == 'r' ? WM_ACC_R : 0) | (p[1] == 'w' ? WM_ACC_W : 0) | (p[2] == 'x' ? WM_ACC_X : 0);
    e->flags = p[3] == 's' ? WM_MAPS_SHARED : 0;
    p += 5;
    e->offset = hex(&p);
    p++;
    uint64_t major = hex(&p);
    p++;
    e->dev = major << 32 | hex(&p);
    p++;
    e->inode = dec(&p);
    while (p < end && *p == ' ')
        p++;
    e->path = p;
    e->path_len = (size_t)(end - p);
    if (e->inode != 0)
        e->flags |= WM_MAPS_FILE;
    else if (end - p >= 6 && memcmp(p, "[vdso]", 6) == 0)
        e->flags |= WM_MAPS_VDSO;
    else if (p < end && *p == '[' && !(end - p >= 6 && memcmp(p, "[heap]", 6) == 0) &&
             !(end - p >= 7 && memcmp(p, "[stack", 6) == 0) &&
             !(end - p >= 6 && memcmp(p, "[anon:", 6) == 0))
        e->flags |= WM_MAPS_SPECIAL; /* [vvar], [vsyscall], ...: kernel-provided pages */
    return 1;
}

int wm_maps_file_mapped(const struct wm_os_stat *st, bool *mapped)
{
    struct wm_maps m;
    struct wm_maps_entry e;
    /* The maps file writes the device as major:minor. */
    uint64_t dev = (uint64_t)major((dev_t)st->dev) << 32 | minor((dev_t)st->dev);
    int rc = wm_maps_open(&m);

    *mapped = false;
    if (rc)
        return rc;
    while ((rc = wm_maps_next(&m, &e)) == 1)
        if (e.inode == st->ino && e.dev == dev && (e.flags & WM_MAPS_FILE))
            *mapped = true;
    wm_maps_close(&m);
    return rc;
}
