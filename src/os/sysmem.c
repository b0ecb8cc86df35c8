/*
 * sysmem.c - how much memory the machine has and how much this process may use:
 * /proc/meminfo, the memory controller of the process's cgroup (v2 memory.max /
 * memory.current / memory.swap.*, or v1 memory.limit_in_bytes / memory.usage_in_bytes /
 * memory.memsw.*), the overcommit policy, the memory blocks in sysfs, and RLIMIT_MEMLOCK.
 *
 * A container's limit is the memory its programs have, so GlobalMemoryStatusEx reports the
 * smaller of the machine's figures and the cgroup's; limits nest, so every ancestor cgroup is
 * read too.  Every path is taken relative to a root directory so the unit tests can feed a
 * made-up /proc and /sys; the library passes "".  Not async-signal-safe (stdio-free, but it
 * opens files); never called with the VM lock held.
 */
#include "os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NONE UINT64_MAX

/* Read a small file into buf (NUL-terminated); the byte count, or -1. */
static ssize_t read_text(const char *root, const char *path, char *buf, size_t size)
{
    char full[512];
    if ((size_t)snprintf(full, sizeof full, "%s%s", root, path) >= sizeof full)
        return -1;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    return (ssize_t)n;
}

/* A decimal number at s (NONE for "max" or anything else). */
static uint64_t parse_u64(const char *s, int base)
{
    uint64_t v = 0;
    int digits = 0;
    for (;; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return NONE;
        v = v * (uint64_t)base + (uint64_t)d;
        digits++;
    }
    return digits ? v : NONE;
}

static uint64_t read_u64(const char *root, const char *path)
{
    char buf[64];
    if (read_text(root, path, buf, sizeof buf) <= 0)
        return NONE;
    return parse_u64(buf, 10);
}

/* A cgroup v1 limit this large means "no limit" (the kernel prints LONG_MAX rounded down to
 * a page). */
static uint64_t v1_limit(uint64_t v)
{
    return v >= ((uint64_t)1 << 62) ? NONE : v;
}

/* The value of "Key:" in /proc/meminfo text, in bytes (NONE when absent). */
static uint64_t meminfo_field(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *p = line + klen + 1;
            while (*p == ' ')
                p++;
            uint64_t kb = parse_u64(p, 10);
            return kb == NONE ? NONE : kb * 1024;
        }
    }
    return NONE;
}

/* The process's cgroup path for the memory controller (v1) or the unified one (v2). */
static bool cgroup_path(const char *root, bool *v2, char *path, size_t size)
{
    char text[4096];
    if (read_text(root, "/proc/self/cgroup", text, sizeof text) <= 0)
        return false;
    const char *unified = NULL, *memory = NULL;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2) {
            *c1 = *c2 = 0;
            const char *ctl = c1 + 1;
            if (strcmp(line, "0") == 0 && *ctl == 0) {
                unified = c2 + 1;
            } else {
                /* "memory" in a comma-separated controller list */
                for (const char *t = ctl; t && *t; t = strchr(t, ','), t = t ? t + 1 : NULL)
                    if (strncmp(t, "memory", 6) == 0 && (t[6] == 0 || t[6] == ','))
                        memory = c2 + 1;
            }
        }
        line = next;
    }
    const char *p = memory ? memory : unified;
    if (!p)
        return false;
    *v2 = !memory;
    return (size_t)snprintf(path, size, "%s", p) < size;
}

/* Limits of the cgroup at dir and every ancestor: the smallest of each. */
static void cgroup_read(const char *root, bool v2, char *rel, struct wm_os_memstat *out)
{
    const char *mnt = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    char file[600];
    bool first = true;

    for (;;) {
        /* rel is "/a/b"; "" is the mount's root. */
        uint64_t limit, usage, swap_limit, swap_usage;
#define READ(var, name)                                         \
    do {                                                        \
        snprintf(file, sizeof file, "%s%s/%s", mnt, rel, name); \
        var = read_u64(root, file);                             \
    } while (0)
        if (v2) {
            READ(limit, "memory.max");
            READ(usage, "memory.current");
            READ(swap_limit, "memory.swap.max");
            READ(swap_usage, "memory.swap.current");
        } else {
            READ(limit, "memory.limit_in_bytes");
            READ(usage, "memory.usage_in_bytes");
            READ(swap_limit, "memory.memsw.limit_in_bytes");
            READ(swap_usage, "memory.memsw.usage_in_bytes");
            limit = v1_limit(limit);
            swap_limit = v1_limit(swap_limit);
        }
#undef READ
        if (limit != NONE && limit < out->cg_limit) {
            out->cg_limit = limit;
            out->cg_usage = usage;
        } else if (first && usage != NONE) {
            out->cg_usage = usage; /* the process's own cgroup's usage, limited or not */
        }
        if (swap_limit != NONE && swap_limit < out->cg_swap_limit) {
            out->cg_swap_limit = swap_limit;
            out->cg_swap_usage = swap_usage;
        }
        first = false;
        char *slash = strrchr(rel, '/');
        if (!slash || !*rel)
            break;
        *slash = 0;
    }
}

int wm_os_memstat(const char *root, struct wm_os_memstat *out)
{
    char text[8192];

    memset(out, 0, sizeof *out);
    out->cg_limit = out->cg_usage = out->cg_swap_limit = out->cg_swap_usage = NONE;
    if (read_text(root, "/proc/meminfo", text, sizeof text) <= 0)
        return -EIO;
    out->total = meminfo_field(text, "MemTotal");
    out->avail = meminfo_field(text, "MemAvailable");
    if (out->avail == NONE) /* kernels before 3.14 */
        out->avail = meminfo_field(text, "MemFree");
    out->swap_total = meminfo_field(text, "SwapTotal");
    out->swap_free = meminfo_field(text, "SwapFree");
    out->commit_limit = meminfo_field(text, "CommitLimit");
    out->committed = meminfo_field(text, "Committed_AS");
    if (out->total == NONE || out->avail == NONE)
        return -EIO;
    if (out->swap_total == NONE)
        out->swap_total = out->swap_free = 0;
    /* Mode 2 (no overcommit) is the one where CommitLimit binds, as Windows' commit limit
     * always does. */
    out->strict_commit = read_u64(root, "/proc/sys/vm/overcommit_memory") == 2;

    bool v2;
    char rel[512];
    if (cgroup_path(root, &v2, rel, sizeof rel)) {
        if (strcmp(rel, "/") == 0)
            rel[0] = 0;
        /* Inside a container without a cgroup namespace the path is the host's; when it is
         * not under the mount, the mount's root is the container's own cgroup. */
        char probe[600];
        snprintf(probe, sizeof probe, "%s%s%s", root,
                 v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory", rel);
        if (access(probe, F_OK) != 0)
            rel[0] = 0;
        cgroup_read(root, v2, rel, out);
        out->cg_memsw = !v2;
    }
    return 0;
}

uint64_t wm_os_installed_memory(const char *root)
{
    /* Memory blocks the kernel knows, online or not: the closest Linux has to what the
     * firmware reports as installed (MemTotal leaves out what the kernel reserved). */
    char buf[64];
    if (read_text(root, "/sys/devices/system/memory/block_size_bytes", buf, sizeof buf) <= 0)
        return 0;
    uint64_t block = parse_u64(buf, 16);
    if (block == NONE || block == 0)
        return 0;
    char dir[512];
    if ((size_t)snprintf(dir, sizeof dir, "%s/sys/devices/system/memory", root) >= sizeof dir)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, "memory", 6) == 0 && e->d_name[6] >= '0' && e->d_name[6] <= '9')
            n++;
    closedir(d);
    return n * block;
}

int wm_os_memlock_limit(uint64_t *soft, uint64_t *hard)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl))
        return -errno;
    *soft = rl.rlim_cur == RLIM_INFINITY ? NONE : (uint64_t)rl.rlim_cur;
    *hard = rl.rlim_max == RLIM_INFINITY ? NONE : (uint64_t)rl.rlim_max;
    return 0;
}

int wm_os_memlock_raise(uint64_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl))
        return -errno;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return 0;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

/* ---- why the kernel refused to make private memory writable ----------------------------
 * Async-signal-safe (the fault path may make a guard page accessible again): raw open, read
 * and close into small stack buffers, no stdio. */

/* The unsigned number a short /proc file holds, or NONE (read_u64's reading goes through
 * snprintf, which is not async-signal-safe). */
static uint64_t proc_number(const char *path)
{
    char buf[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NONE;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return NONE;
    buf[n] = 0;
    return parse_u64(buf, 10);
}

/* The process's mappings (VMAs): the lines of /proc/self/maps. */
static uint64_t count_maps(void)
{
    char buf[512];
    uint64_t lines = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    }
    close(fd);
    return lines;
}

int wm_os_write_refused(void)
{
    int saved = errno;
    struct rlimit rl;
    bool data = getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
    bool strict = proc_number("/proc/sys/vm/overcommit_memory") == 2;
    int rc = -ENOMEM;
    if (data || strict) {
        /* A change may split a mapping in three: within that of the cap, the cap is why. */
        uint64_t cap = proc_number("/proc/sys/vm/max_map_count");
        if (cap == NONE || count_maps() + 2 < cap)
            rc = -EDQUOT;
    }
    errno = saved;
    return rc;
}

uint64_t wm_os_as_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) || rl.rlim_cur == RLIM_INFINITY)
        return NONE;
    return (uint64_t)rl.rlim_cur;
}

int wm_os_pagemap_open(void)
{
    /* Opened per use: a descriptor kept across fork() would read the parent's map. */
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int wm_os_pagemap_read(int fd, uint64_t page_index, struct wm_os_pageinfo *out)
{
    uint64_t e;
    ssize_t n = pread(fd, &e, sizeof e, (off_t)(page_index * sizeof e));
    if (n != (ssize_t)sizeof e)
        return n < 0 ? -errno : -EIO;
    out->present = (e >> 63) & 1;
    out->swapped = (e >> 62) & 1;
    out->shared = (e >> 61) & 1;
    out->exclusive = (e >> 56) & 1;
    return 0;
}

/* ---- NUMA: nodes, their processors and free memory (sysfs), and placing pages (mbind) ------ */

/* Parse a sysfs list ("0-3,8,10-11"): calls fn for every number; stops early when it returns
 * nonzero (that value is returned). */
static int each_in_list(const char *s, int (*fn)(void *ctx, unsigned n), void *ctx)
{
    while (*s >= '0' && *s <= '9') {
        uint64_t a = parse_u64(s, 10), b = a;
        while (*s >= '0' && *s <= '9')
            s++;
        if (*s == '-') {
            s++;
            b = parse_u64(s, 10);
            while (*s >= '0' && *s <= '9')
                s++;
        }
        if (a == NONE || b == NONE || b < a || b > 65535)
            return -EINVAL;
        for (uint64_t i = a; i <= b; i++) {
            int rc = fn(ctx, (unsigned)i);
            if (rc)
                return rc;
        }
        if (*s != ',')
            break;
        s++;
    }
    return 0;
}

static int note_max(void *ctx, unsigned n)
{
    unsigned *max = ctx;
    if (n > *max)
        *max = n;
    return 0;
}

int wm_os_numa_highest(const char *root, unsigned *node)
{
    char buf[256];
    *node = 0;
    /* No NUMA in the kernel: one node, 0, as Windows reports a machine without NUMA. */
    if (read_text(root, "/sys/devices/system/node/online", buf, sizeof buf) <= 0)
        return 0;
    return each_in_list(buf, note_max, node);
}

struct cpu_mask {
    uint64_t mask;
    unsigned group; /* of the first processor; processors of other groups are left out */
    bool any;
};

static int add_cpu(void *ctx, unsigned cpu)
{
    struct cpu_mask *m = ctx;
    if (!m->any) {
        m->group = cpu / 64;
        m->any = true;
    }
    if (cpu / 64 == m->group)
        m->mask |= (uint64_t)1 << (cpu % 64);
    return 0;
}

int wm_os_numa_cpus(const char *root, unsigned node, uint64_t *mask, unsigned *group)
{
    char path[96], buf[1024];
    struct cpu_mask m = { 0 };
    unsigned highest;

    wm_os_numa_highest(root, &highest);
    if (node > highest)
        return -ENOENT;
    snprintf(path, sizeof path, "/sys/devices/system/node/node%u/cpulist", node);
    if (read_text(root, path, buf, sizeof buf) < 0) {
        if (node)
            return -ENOENT;
        /* No sysfs nodes: node 0 has every processor. */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(buf, sizeof buf, "0-%ld", n > 0 ? n - 1 : 0);
    }
    int rc = each_in_list(buf, add_cpu, &m);
    *mask = m.mask;
    *group = m.group;
    return rc;
}

int wm_os_numa_free(const char *root, unsigned node, uint64_t *bytes)
{
    char path[96], buf[2048];
    snprintf(path, sizeof path, "/sys/devices/system/node/node%u/meminfo", node);
    if (read_text(root, path, buf, sizeof buf) <= 0)
        return -ENOENT;
    /* "Node 0 MemFree:   7031216 kB" */
    const char *p = strstr(buf, "MemFree:");
    if (!p)
        return -EIO;
    p += 8;
    while (*p == ' ')
        p++;
    uint64_t kb = parse_u64(p, 10);
    if (kb == NONE)
        return -EIO;
    *bytes = kb * 1024;
    return 0;
}

struct find_cpu {
    unsigned cpu;
};

static int is_cpu(void *ctx, unsigned n)
{
    return ((struct find_cpu *)ctx)->cpu == n ? 1 : 0;
}

int wm_os_numa_cpu_node(const char *root, unsigned cpu, unsigned *node)
{
    unsigned highest;
    wm_os_numa_highest(root, &highest);
    for (unsigned n = 0; n <= highest; n++) {
        char path[96], buf[1024];
        snprintf(path, sizeof path, "/sys/devices/system/node/node%u/cpulist", n);
        if (read_text(root, path, buf, sizeof buf) < 0)
            continue;
        struct find_cpu f = { cpu };
        if (each_in_list(buf, is_cpu, &f) == 1) {
            *node = n;
            return 0;
        }
    }
    /* Without node directories every processor is node 0's. */
    long n = sysconf(_SC_NPROCESSORS_CONF);
    if (highest == 0 && n > 0 && cpu < (unsigned long)n) {
        *node = 0;
        return 0;
    }
    return -ENOENT;
}

int wm_os_mbind_preferred(uintptr_t addr, size_t len, unsigned node)
{
    unsigned long mask[16] = { 0 };
    if (node >= sizeof mask * 8)
        return -EINVAL;
    mask[node / (8 * sizeof mask[0])] |= 1ul << (node % (8 * sizeof mask[0]));
    /* MPOL_PREFERRED (1): pages come from the node while it has memory, elsewhere after. */
    long rc = syscall(SYS_mbind, addr, len, 1, mask, sizeof mask * 8, 0);
    return rc ? -errno : 0;
}
