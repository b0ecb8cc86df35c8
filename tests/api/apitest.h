/*
 * apitest.h - helpers shared by the api conformance tests: the machine's page size and
 * granularity, a one-line region check that compares every MEMORY_BASIC_INFORMATION field,
 * and snapshots for "a failed call changes nothing".  Plain Win32 C, so the tests also build
 * with mingw-w64 and run under Wine or Windows.
 */
#ifndef APITEST_H
#define APITEST_H

#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "wmtest.h"

/* Constants older SDK (mingw-w64) headers may lack; Microsoft's values. */
#ifndef MEM_RESERVE_PLACEHOLDER
#define MEM_RESERVE_PLACEHOLDER 0x00040000
#endif
#ifndef MEM_COALESCE_PLACEHOLDERS
#define MEM_COALESCE_PLACEHOLDERS 0x00000001
#endif
#ifndef MEM_PRESERVE_PLACEHOLDER
#define MEM_PRESERVE_PLACEHOLDER 0x00000002
#endif
#ifndef FILE_MAP_EXECUTE
#define FILE_MAP_EXECUTE 0x20
#endif
#ifndef MEM_RESET_UNDO
#define MEM_RESET_UNDO 0x01000000
#endif
#ifndef PAGE_TARGETS_INVALID
#define PAGE_TARGETS_INVALID 0x40000000
#endif
#ifndef PAGE_TARGETS_NO_UPDATE
#define PAGE_TARGETS_NO_UPDATE 0x40000000
#endif
#ifndef PAGE_REVERT_TO_FILE_MAP
#define PAGE_REVERT_TO_FILE_MAP 0x80000000
#endif
#ifndef PAGE_ENCLAVE_THREAD_CONTROL
#define PAGE_ENCLAVE_THREAD_CONTROL 0x80000000
#endif
#ifndef PAGE_ENCLAVE_UNVALIDATED
#define PAGE_ENCLAVE_UNVALIDATED 0x20000000
#endif
#ifndef PAGE_ENCLAVE_MASK
#define PAGE_ENCLAVE_MASK 0x10000000
#endif
#ifndef PAGE_ENCLAVE_DECOMMIT
#define PAGE_ENCLAVE_DECOMMIT 0x10000000
#endif
#ifndef PAGE_ENCLAVE_SS_FIRST
#define PAGE_ENCLAVE_SS_FIRST 0x10000001
#endif
#ifndef PAGE_ENCLAVE_SS_REST
#define PAGE_ENCLAVE_SS_REST 0x10000002
#endif
#ifndef PAGE_GRAPHICS_NOACCESS
#define PAGE_GRAPHICS_NOACCESS 0x0800
#endif
#ifndef PAGE_GRAPHICS_READONLY
#define PAGE_GRAPHICS_READONLY 0x1000
#endif
#ifndef PAGE_GRAPHICS_READWRITE
#define PAGE_GRAPHICS_READWRITE 0x2000
#endif
#ifndef PAGE_GRAPHICS_EXECUTE
#define PAGE_GRAPHICS_EXECUTE 0x4000
#endif
#ifndef PAGE_GRAPHICS_EXECUTE_READ
#define PAGE_GRAPHICS_EXECUTE_READ 0x8000
#endif
#ifndef PAGE_GRAPHICS_EXECUTE_READWRITE
#define PAGE_GRAPHICS_EXECUTE_READWRITE 0x10000
#endif
#ifndef PAGE_GRAPHICS_COHERENT
#define PAGE_GRAPHICS_COHERENT 0x20000
#endif
#ifndef PAGE_GRAPHICS_NOCACHE
#define PAGE_GRAPHICS_NOCACHE 0x40000
#endif
#ifndef STATUS_GUARD_PAGE_VIOLATION
#define STATUS_GUARD_PAGE_VIOLATION ((DWORD)0x80000001)
#endif

static SYSTEM_INFO at_si;
static SIZE_T PAGE, GRAN;

static inline void at_init(void)
{
    GetSystemInfo(&at_si);
    PAGE = at_si.dwPageSize;
    GRAN = at_si.dwAllocationGranularity;
}

#define AT_MAXADDR ((ULONG_PTR)at_si.lpMaximumApplicationAddress)

#ifndef _WIN32
/* A "Key:  N kB" line of /proc/self/status (VmSize, VmData: what RLIMIT_AS and RLIMIT_DATA are
 * measured against), in bytes; 0 when absent. */
static inline unsigned long long at_status_bytes(const char *key)
{
    char line[256];
    unsigned long long kb = 0;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':' && sscanf(line + n + 1, "%llu", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}
#endif

/* Query addr and compare every field but PartitionId with the expected values. */
#define CHECK_REGION(addr, base, abase, aprot, size, state, prot, type)    \
    do {                                                                   \
        MEMORY_BASIC_INFORMATION at_m;                                     \
        memset(&at_m, 0xcc, sizeof(at_m));                                 \
        CHECK_EQ(VirtualQuery((addr), &at_m, sizeof(at_m)), sizeof(at_m)); \
        CHECK_EQ(at_m.BaseAddress, (base));                                \
        CHECK_EQ(at_m.AllocationBase, (abase));                            \
        CHECK_EQ(at_m.AllocationProtect, (aprot));                         \
        CHECK_EQ(at_m.RegionSize, (size));                                 \
        CHECK_EQ(at_m.State, (state));                                     \
        CHECK_EQ(at_m.Protect, (prot));                                    \
        CHECK_EQ(at_m.Type, (type));                                       \
    } while (0)

/* A free page: every field as Windows reports it, RegionSize at least min_size. */
#define CHECK_FREE(addr, min_size)                                              \
    do {                                                                        \
        MEMORY_BASIC_INFORMATION at_m;                                          \
        memset(&at_m, 0xcc, sizeof(at_m));                                      \
        CHECK_EQ(VirtualQuery((addr), &at_m, sizeof(at_m)), sizeof(at_m));      \
        CHECK_EQ(at_m.BaseAddress, (ULONG_PTR)(addr) & ~(ULONG_PTR)(PAGE - 1)); \
        CHECK_EQ(at_m.AllocationBase, NULL);                                    \
        CHECK_EQ(at_m.AllocationProtect, 0);                                    \
        CHECK(at_m.RegionSize >= (SIZE_T)(min_size));                           \
        CHECK_EQ(at_m.RegionSize % PAGE, 0);                                    \
        CHECK_EQ(at_m.State, MEM_FREE);                                         \
        CHECK_EQ(at_m.Protect, PAGE_NOACCESS);                                  \
        CHECK_EQ(at_m.Type, 0);                                                 \
    } while (0)

/* Field-by-field equality of two descriptors (PartitionId ignored). */
static inline int at_same_mbi(const MEMORY_BASIC_INFORMATION *a, const MEMORY_BASIC_INFORMATION *b)
{
    return a->BaseAddress == b->BaseAddress && a->AllocationBase == b->AllocationBase &&
           a->AllocationProtect == b->AllocationProtect && a->RegionSize == b->RegionSize &&
           a->State == b->State && a->Protect == b->Protect && a->Type == b->Type;
}

/* Every region VirtualQuery reports over [start, start+len), in order. */
#define AT_SNAP_MAX 64
struct at_snap {
    int n;
    MEMORY_BASIC_INFORMATION m[AT_SNAP_MAX];
};

static inline void at_snap(struct at_snap *s, const void *start, SIZE_T len)
{
    const BYTE *p = start, *end = (const BYTE *)start + len;

    s->n = 0;
    while (p < end && s->n < AT_SNAP_MAX) {
        MEMORY_BASIC_INFORMATION *m = &s->m[s->n];
        if (VirtualQuery(p, m, sizeof(*m)) != sizeof(*m))
            break;
        s->n++;
        p = (const BYTE *)m->BaseAddress + m->RegionSize;
    }
}

static inline int at_snap_equal(const struct at_snap *a, const struct at_snap *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (!at_same_mbi(&a->m[i], &b->m[i]))
            return 0;
    return 1;
}

/* Take a snapshot before a call that must fail, then check nothing moved. */
#define SNAP_BEFORE(s, start, len) at_snap(&(s), (start), (len))
#define CHECK_UNCHANGED(s, start, len)                                              \
    do {                                                                            \
        struct at_snap at_after;                                                    \
        at_snap(&at_after, (start), (len));                                         \
        if (at_snap_equal(&(s), &at_after))                                         \
            wmt_passed++;                                                           \
        else                                                                        \
            WMT_FAIL("regions at %p changed after a failed call", (void *)(start)); \
    } while (0)

/* A call that must fail with err and leave [start, start+len) exactly as it was. */
#define CHECK_FAILS_NOCHANGE(call, err, start, len) \
    do {                                            \
        struct at_snap at_before;                   \
        SNAP_BEFORE(at_before, (start), (len));     \
        CHECK_FAILS(call, err);                     \
        CHECK_UNCHANGED(at_before, (start), (len)); \
    } while (0)

static inline DWORD at_state(const void *p)
{
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery(p, &m, sizeof(m)) != sizeof(m))
        return 0;
    return m.State;
}

static inline DWORD at_protect(const void *p)
{
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery(p, &m, sizeof(m)) != sizeof(m))
        return 0xffffffff;
    return m.Protect;
}

/* A file path of this process's own in the temp directory: "<temp dir>winmem-<pid>-<tag>". */
static inline void at_tmp_path(char *buf, size_t len, const char *tag)
{
    char dir[300];
#ifdef _WIN32
    if (!GetTempPathA((DWORD)sizeof(dir), dir))
        snprintf(dir, sizeof(dir), ".\\");
#else
    snprintf(dir, sizeof(dir), "/tmp/");
#endif
    snprintf(buf, len, "%swinmem-%lu-%s", dir, (unsigned long)GetCurrentProcessId(), tag);
}

/* Running under Wine (its ntdll exports wine_get_version)? */
static inline int at_wine(void)
{
#ifdef _WIN32
    static int wine = -1;
    if (wine < 0)
        wine = GetProcAddress(GetModuleHandleA("ntdll.dll"), "wine_get_version") != NULL;
    return wine;
#else
    return 0;
#endif
}

/* A check of Microsoft's documented behaviour that Wine does not implement: checked on
 * winmem and Windows; under Wine a failure is only reported, so the cross-check run stays
 * readable. */
#define CHECK_DOCS(cond)                                                                  \
    do {                                                                                  \
        if (!at_wine())                                                                   \
            CHECK(cond);                                                                  \
        else if (!(cond))                                                                 \
            fprintf(stderr, "%s:%d: Wine differs from the documentation: %s\n", __FILE__, \
                    __LINE__, #cond);                                                     \
    } while (0)

#endif
