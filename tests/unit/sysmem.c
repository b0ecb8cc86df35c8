/*
 * What GlobalMemoryStatusEx is built from, fed made-up /proc and /sys trees: the machine's
 * figures alone; a cgroup v2 limit set on an ancestor (limits nest: the tightest one counts);
 * v2 swap limits; cgroup v1 with memory + swap (memsw); a container whose /proc/self/cgroup
 * names a path that is not under its mount; strict overcommit; installed memory from the
 * sysfs memory blocks.
 */
#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GIB ((uint64_t)1 << 30)
#define MIB ((uint64_t)1 << 20)

static char root[256];

static void put(const char *path, const char *text)
{
    char full[512], dir[512];
    snprintf(full, sizeof full, "%s%s", root, path);
    /* make every directory on the way */
    snprintf(dir, sizeof dir, "%s", full);
    for (char *p = dir + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        mkdir(dir, 0700);
        *p = '/';
    }
    FILE *f = fopen(full, "w");
    if (!f) {
        WMT_FAIL("cannot write %s", full);
        return;
    }
    fputs(text, f);
    fclose(f);
}

static void fresh_root(const char *name)
{
    char cmd[600];
    if (root[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            WMT_FAIL("%s failed", cmd);
    }
    snprintf(root, sizeof root, "/tmp/wm-sysmem-%d-%s", (int)getpid(), name);
    mkdir(root, 0700);
    put("/proc/meminfo", "MemTotal:       16777216 kB\n"
                         "MemFree:         1048576 kB\n"
                         "MemAvailable:    8388608 kB\n"
                         "SwapTotal:       2097152 kB\n"
                         "SwapFree:        1048576 kB\n"
                         "CommitLimit:    10485760 kB\n"
                         "Committed_AS:    9437184 kB\n");
    put("/proc/sys/vm/overcommit_memory", "0\n");
}

static void combine(struct wm_memory_status *s)
{
    struct wm_os_memstat m;
    CHECK_EQ(wm_os_memstat(root, &m), 0);
    wm_status_combine(&m, s);
}

int main(void)
{
    struct wm_memory_status s;

    /* No cgroup file at all: the machine's figures; commit = memory + swap. */
    fresh_root("plain");
    combine(&s);
    CHECK_EQ(s.total_phys, 16 * GIB);
    CHECK_EQ(s.avail_phys, 8 * GIB);
    CHECK_EQ(s.load, 50);
    CHECK_EQ(s.total_commit, 18 * GIB);
    CHECK_EQ(s.avail_commit, 9 * GIB);

    /* Strict overcommit: CommitLimit binds. */
    put("/proc/sys/vm/overcommit_memory", "2\n");
    combine(&s);
    CHECK_EQ(s.total_commit, 10 * GIB);
    CHECK_EQ(s.avail_commit, 1 * GIB);

    /* cgroup v2: a 4 GiB limit on the parent, none on the process's own group, 3 GiB used. */
    fresh_root("v2");
    put("/proc/self/cgroup", "0::/box/app\n");
    put("/sys/fs/cgroup/box/memory.max", "4294967296\n");
    put("/sys/fs/cgroup/box/memory.current", "3221225472\n");
    put("/sys/fs/cgroup/box/app/memory.max", "max\n");
    put("/sys/fs/cgroup/box/app/memory.current", "1073741824\n");
    put("/sys/fs/cgroup/box/app/memory.swap.max", "536870912\n");
    put("/sys/fs/cgroup/box/app/memory.swap.current", "0\n");
    combine(&s);
    CHECK_EQ(s.total_phys, 4 * GIB);
    CHECK_EQ(s.avail_phys, 1 * GIB);
    CHECK_EQ(s.load, 75);
    CHECK_EQ(s.total_commit, 4 * GIB + 512 * MIB);
    CHECK_EQ(s.avail_commit, 1 * GIB + 512 * MIB);

    /* A tighter limit on the group itself wins; usage over the limit leaves nothing. */
    put("/sys/fs/cgroup/box/app/memory.max", "1073741824\n");
    put("/sys/fs/cgroup/box/app/memory.current", "1200000000\n");
    combine(&s);
    CHECK_EQ(s.total_phys, 1 * GIB);
    CHECK_EQ(s.avail_phys, 0);
    CHECK_EQ(s.load, 100);

    /* A container: /proc/self/cgroup names the host's path, the mount is the group itself. */
    fresh_root("ns");
    put("/proc/self/cgroup", "0::/host/slice/container\n");
    put("/sys/fs/cgroup/memory.max", "2147483648\n");
    put("/sys/fs/cgroup/memory.current", "1073741824\n");
    combine(&s);
    CHECK_EQ(s.total_phys, 2 * GIB);
    CHECK_EQ(s.avail_phys, 1 * GIB);

    /* cgroup v1: memory controller line among others, memsw = memory + swap. */
    fresh_root("v1");
    put("/proc/self/cgroup", "5:cpu,cpuacct:/x\n4:memory:/job\n0::/\n");
    put("/sys/fs/cgroup/memory/job/memory.limit_in_bytes", "3221225472\n");
    put("/sys/fs/cgroup/memory/job/memory.usage_in_bytes", "1073741824\n");
    put("/sys/fs/cgroup/memory/job/memory.memsw.limit_in_bytes", "4294967296\n");
    put("/sys/fs/cgroup/memory/job/memory.memsw.usage_in_bytes", "1073741824\n");
    put("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    combine(&s);
    CHECK_EQ(s.total_phys, 3 * GIB);
    CHECK_EQ(s.avail_phys, 2 * GIB);
    CHECK_EQ(s.total_commit, 4 * GIB);
    CHECK_EQ(s.avail_commit, 3 * GIB);

    /* v1 "unlimited" (LONG_MAX rounded to a page) is no limit. */
    put("/sys/fs/cgroup/memory/job/memory.limit_in_bytes", "9223372036854771712\n");
    put("/sys/fs/cgroup/memory/job/memory.memsw.limit_in_bytes", "9223372036854771712\n");
    combine(&s);
    CHECK_EQ(s.total_phys, 16 * GIB);
    CHECK_EQ(s.total_commit, 18 * GIB);

    /* Installed memory: 3 blocks of 128 MiB (hexadecimal block size). */
    put("/sys/devices/system/memory/block_size_bytes", "8000000\n");
    put("/sys/devices/system/memory/memory0/online", "1\n");
    put("/sys/devices/system/memory/memory1/online", "1\n");
    put("/sys/devices/system/memory/memory7/online", "0\n");
    put("/sys/devices/system/memory/auto_online_blocks", "online\n");
    CHECK_EQ(wm_os_installed_memory(root), 3 * 128 * MIB);

    /* NUMA: two nodes; node 1's processors start in group 0 and run into group 1. */
    put("/sys/devices/system/node/online", "0-1\n");
    put("/sys/devices/system/node/node0/cpulist", "0-1,4\n");
    put("/sys/devices/system/node/node1/cpulist", "2-3,64-65\n");
    put("/sys/devices/system/node/node1/meminfo", "Node 1 MemTotal:  1000 kB\n"
                                                  "Node 1 MemFree:    250 kB\n");
    unsigned highest = 9, group = 9, node = 9;
    uint64_t mask = 0, freeb = 0;
    CHECK_EQ(wm_os_numa_highest(root, &highest), 0);
    CHECK_EQ(highest, 1);
    CHECK_EQ(wm_os_numa_cpus(root, 0, &mask, &group), 0);
    CHECK_EQ(mask, 0x13);
    CHECK_EQ(group, 0);
    CHECK_EQ(wm_os_numa_cpus(root, 1, &mask, &group), 0);
    CHECK_EQ(mask, 0xc);
    CHECK_EQ(group, 0);
    CHECK(wm_os_numa_cpus(root, 2, &mask, &group) < 0);
    CHECK_EQ(wm_os_numa_cpu_node(root, 4, &node), 0);
    CHECK_EQ(node, 0);
    CHECK_EQ(wm_os_numa_cpu_node(root, 65, &node), 0);
    CHECK_EQ(node, 1);
    CHECK(wm_os_numa_cpu_node(root, 9, &node) < 0);
    CHECK_EQ(wm_os_numa_free(root, 1, &freeb), 0);
    CHECK_EQ(freeb, 250 * 1024);
    CHECK(wm_os_numa_free(root, 0, &freeb) < 0);

    /* No meminfo: an error, not made-up figures. */
    fresh_root("empty");
    char path[512];
    snprintf(path, sizeof path, "%s/proc/meminfo", root);
    unlink(path);
    struct wm_os_memstat m;
    CHECK(wm_os_memstat(root, &m) < 0);
    CHECK_EQ(wm_os_installed_memory(root), 0);
    /* No NUMA in sysfs: one node 0. */
    CHECK_EQ(wm_os_numa_highest(root, &highest), 0);
    CHECK_EQ(highest, 0);
    CHECK_EQ(wm_os_numa_cpus(root, 0, &mask, &group), 0);
    CHECK(mask != 0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        WMT_FAIL("%s failed", cmd);
    return wmt_report();
}
