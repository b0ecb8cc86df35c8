/*
 * vqwalk - walk the whole user address space with VirtualQuery, as a debugger's memory map
 * does, and print one line per region: its state, type and protection by their Windows
 * names, and what the region is - this program's own VirtualAlloc and MapViewOfFile memory,
 * the executable and shared libraries by path, the heap, the stack.
 *
 * Everything up to the protection column is plain Win32 and prints the same on Windows.  The
 * last column needs names Windows would take from its loader; here the example reads them
 * from /proc/self/smaps itself (the Linux-only part, marked below).  winmem's VirtualQuery
 * does not need them: it reports memory it did not allocate as the kernel holds it.
 */
#define _GNU_SOURCE /* sigaltstack, readlink */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#define KIB ((SIZE_T)1 << 10)
#define MIB ((SIZE_T)1 << 20)

/* ---- Windows names -------------------------------------------------------------------- */

static const char *state_name(DWORD s)
{
    return s == MEM_COMMIT ? "MEM_COMMIT" : s == MEM_RESERVE ? "MEM_RESERVE" : "MEM_FREE";
}

static const char *type_name(DWORD t)
{
    return t == MEM_IMAGE     ? "MEM_IMAGE"
           : t == MEM_MAPPED  ? "MEM_MAPPED"
           : t == MEM_PRIVATE ? "MEM_PRIVATE"
                              : "-";
}

/* A PAGE_* value by name: one base protection, then its modifiers, e.g.
 * "PAGE_READWRITE|PAGE_GUARD".  Reserved pages have none (0). */
static const char *protect_name(DWORD p, char *buf, size_t len)
{
    static const struct {
        DWORD value;
        const char *name;
    } names[] = {
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
    };
    size_t used = 0;

    if (p == 0)
        return "-";
    buf[0] = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (p & names[i].value) {
            used +=
                (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "", names[i].name);
            p &= ~names[i].value;
            if (used >= len)
                return buf;
        }
    }
    if (p) /* a bit this list does not know */
        snprintf(buf + used, len - used, "%s0x%lx", used ? "|" : "", (unsigned long)p);
    return buf;
}

static const char *size_text(SIZE_T n, char *buf, size_t len)
{
    if (n % MIB == 0)
        snprintf(buf, len, "%zu MiB", (size_t)(n / MIB));
    else if (n % KIB == 0)
        snprintf(buf, len, "%zu KiB", (size_t)(n / KIB));
    else
        snprintf(buf, len, "%zu B", (size_t)n);
    return buf;
}

/* ---- this program's own allocations ---------------------------------------------------- */

static struct {
    void *base;
    const char *what;
} ours[4];
static int nours;

static void remember(void *base, const char *what)
{
    if (!base) {
        printf("allocation failed (error %lu): %s\n", (unsigned long)GetLastError(), what);
        return;
    }
    ours[nours].base = base;
    ours[nours].what = what;
    nours++;
}

static const char *our_what(const MEMORY_BASIC_INFORMATION *m)
{
    for (int i = 0; i < nours; i++)
        if (m->AllocationBase == ours[i].base)
            return ours[i].what;
    return NULL;
}

/* ---- Linux only: what the kernel calls each mapping ------------------------------------ */
#ifdef __linux__
#include <signal.h>
#include <unistd.h>

struct mapping {
    ULONG_PTR start, end;
    int advised_huge; /* madvise(MADV_HUGEPAGE): "hg" in VmFlags */
    char path[192];   /* a file, "[heap]", "[stack]", ... or "" for anonymous memory */
};
static struct mapping maps[512];
static int nmaps;
static char self_path[256];
static ULONG_PTR altstack_lo, altstack_hi;

/* Read /proc/self/smaps once, before the walk: the walk itself must not allocate, or the
 * listing would describe an address space that has moved on. */
static void read_maps(void)
{
    char line[512];
    FILE *f = fopen("/proc/self/smaps", "r");
    stack_t ss;

    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[8];
        int pathpos = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &pathpos) >= 3 &&
            pathpos > 0) {
            if (nmaps == (int)(sizeof(maps) / sizeof(maps[0])))
                break;
            struct mapping *mp = &maps[nmaps++];
            mp->start = lo;
            mp->end = hi;
            mp->advised_huge = 0;
            snprintf(mp->path, sizeof(mp->path), "%s", line + pathpos);
            mp->path[strcspn(mp->path, "\n")] = 0;
        } else if (nmaps && strncmp(line, "VmFlags:", 8) == 0) {
            maps[nmaps - 1].advised_huge = strstr(line, " hg") != NULL;
        }
    }
    fclose(f);
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
    self_path[n > 0 ? n : 0] = 0;
    if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE)) {
        altstack_lo = (ULONG_PTR)ss.ss_sp;
        altstack_hi = altstack_lo + ss.ss_size;
    }
}

/* What one kernel mapping is, for memory this program did not VirtualAlloc. */
static void describe(const struct mapping *mp, const struct mapping *prev, DWORD protect, char *buf,
                     size_t len)
{
    const char *p = mp->path;
    DWORD base = protect & 0xff;
    const char *part = base == PAGE_EXECUTE_READ || base == PAGE_EXECUTE ? "code"
                       : base == PAGE_READONLY                           ? "read-only data"
                       : base == PAGE_READWRITE                          ? "data"
                                                                         : "other";

    if (mp->start < altstack_hi && altstack_lo < mp->end)
        snprintf(buf, len, "this thread's alternate signal stack (exception handlers run on it)%s",
                 mp->end - mp->start > altstack_hi - altstack_lo ? " and memory next to it" : "");
    else if (strcmp(p, "[stack]") == 0)
        snprintf(buf, len, "the main thread's stack");
    else if (strcmp(p, "[heap]") == 0)
        snprintf(buf, len, "the heap (malloc's small blocks)");
    else if (strcmp(p, "[vdso]") == 0)
        snprintf(buf, len, "vDSO: kernel code in every process (fast clock_gettime)");
    else if (strncmp(p, "[vvar", 5) == 0)
        snprintf(buf, len, "kernel data the vDSO reads");
    else if (p[0] == '/')
        snprintf(buf, len, "%s%s (%s)",
                 strcmp(p, self_path) == 0                         ? "this program: "
                 : strncmp(strrchr(p, '/'), "/libwinmem", 10) == 0 ? "winmem itself: "
                                                                   : "",
                 p, part);
    else if (p[0])
        snprintf(buf, len, "%s", p);
    else if (mp->advised_huge)
        /* winmem keeps its model of the address space in 2 MiB chunks for which it asks the
         * kernel for huge pages; nothing else in this program does. */
        snprintf(buf, len, "winmem's bookkeeping (its record of every reservation)");
    else if (prev && prev->end == mp->start && prev->path[0] == '/')
        snprintf(buf, len, "zero-initialised data (.bss) of %s", strrchr(prev->path, '/') + 1);
    else
        snprintf(buf, len, "anonymous memory (a large malloc block, a thread's stack, ...)");
}

/* Every kernel mapping the region overlaps, described once each. */
static const char *foreign_what(const MEMORY_BASIC_INFORMATION *m, char *buf, size_t len)
{
    ULONG_PTR lo = (ULONG_PTR)m->BaseAddress, hi = lo + m->RegionSize;
    char one[320], last[320] = "";
    size_t used = 0;

    buf[0] = 0;
    for (int i = 0; i < nmaps && used < len; i++) {
        if (maps[i].end <= lo || maps[i].start >= hi)
            continue;
        describe(&maps[i], i ? &maps[i - 1] : NULL, m->Protect, one, sizeof(one));
        if (strcmp(one, last) == 0)
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " + " : "", one);
        snprintf(last, sizeof(last), "%s", one);
    }
    return buf;
}
#else
static void read_maps(void)
{
}

static const char *foreign_what(const MEMORY_BASIC_INFORMATION *m, char *buf, size_t len)
{
    (void)m, (void)len;
    buf[0] = 0;
    return buf;
}
#endif

/* ---- the walk ----------------------------------------------------------------------------- */

int main(void)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION m;
    DWORD old;

    /* Some memory of our own to find in the listing: a reservation with a committed part and
     * a guard page after it (how a growing stack or buffer is laid out), a code page written
     * and then made executable (what a JIT does), and a view of a shared-memory section. */
    BYTE *buf = VirtualAlloc(NULL, MIB, MEM_RESERVE, PAGE_READWRITE);
    if (buf && VirtualAlloc(buf, 64 * KIB, MEM_COMMIT, PAGE_READWRITE) &&
        VirtualAlloc(buf + 64 * KIB, 4 * KIB, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD))
        remember(buf, "VirtualAlloc: 1 MiB reserved, 64 KiB committed, then a guard page");
    BYTE *code = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (code) {
        code[0] = 0xc3; /* x86 "ret": the JIT writes its code, then makes it executable */
        VirtualProtect(code, 64 * KIB, PAGE_EXECUTE_READ, &old);
    }
    remember(code, "VirtualAlloc: a JIT's code, written then made PAGE_EXECUTE_READ");
    HANDLE section =
        CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB, NULL);
    void *view = section ? MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0) : NULL;
    remember(view, "MapViewOfFile: a read-only view of a 64 KiB shared-memory section");

    GetSystemInfo(&si);
    printf("page size %lu, allocation granularity %lu, user space %p - %p\n\n",
           (unsigned long)si.dwPageSize, (unsigned long)si.dwAllocationGranularity,
           si.lpMinimumApplicationAddress, si.lpMaximumApplicationAddress);
    printf("state       MEM_COMMIT: backed by memory; MEM_RESERVE: addresses held, no memory\n"
           "type        MEM_IMAGE: a program or library file; MEM_MAPPED: a view of a file or\n"
           "            of shared memory; MEM_PRIVATE: memory of this process alone\n"
           "allocation  where the allocation the region belongs to starts (one VirtualAlloc,\n"
           "            one view, one loaded file)\n\n");
    printf("%-14s %-14s %9s  %-11s %-11s %-25s %s\n", "base", "allocation", "size", "state", "type",
           "protection", "what it is");
    read_maps();

    unsigned regions = 0, free_regions = 0;
    /* Addresses as integers: the walk starts at NULL, where pointer arithmetic is undefined. */
    for (ULONG_PTR a = 0; a <= (ULONG_PTR)si.lpMaximumApplicationAddress;
         a = (ULONG_PTR)m.BaseAddress + m.RegionSize) {
        char size[24], prot[64], what[512];
        if (!VirtualQuery((LPCVOID)a, &m, sizeof(m)))
            break;
        regions++;
        if (m.State == MEM_FREE) {
            free_regions++;
            continue; /* keep the listing short: allocated regions only */
        }
        const char *mine = our_what(&m);
        printf("%-14p %-14p %9s  %-11s %-11s %-25s %s\n", m.BaseAddress, m.AllocationBase,
               size_text(m.RegionSize, size, sizeof(size)), state_name(m.State), type_name(m.Type),
               protect_name(m.Protect, prot, sizeof(prot)),
               mine ? mine : foreign_what(&m, what, sizeof(what)));
    }
    printf("\n%u regions (%u free ones not listed)\n", regions, free_regions);
    UnmapViewOfFile(view);
    CloseHandle(section);
    VirtualFree(code, 0, MEM_RELEASE);
    VirtualFree(buf, 0, MEM_RELEASE);
    return 0;
}
