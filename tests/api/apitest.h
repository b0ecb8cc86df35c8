/*
 * apitest.h - helpers shared by the api conformance tests: the machine's page size and
 * granularity, a one-line region check that compares every MEMORY_BASIC_INFORMATION field,
 * and snapshots for "a failed call changes nothing".  Plain Win32 C, so the tests also build
 * with mingw-w64 and run under Wine or Windows.
 */
#ifndef APITEST_H
#define APITEST_H

#include <windows.h>
#include <string.h>

#include "wmtest.h"

static SYSTEM_INFO at_si;
static SIZE_T PAGE, GRAN;

static void at_init(void)
{
    GetSystemInfo(&at_si);
    PAGE = at_si.dwPageSize;
    GRAN = at_si.dwAllocationGranularity;
}

#define AT_ADD(p, n) ((void *)((BYTE *)(p) + (n)))
#define AT_MAXADDR ((ULONG_PTR)at_si.lpMaximumApplicationAddress)

/* Query addr and compare every field but PartitionId with the expected values. */
#define CHECK_REGION(addr, base, abase, aprot, size, state, prot, type)                       \
    do {                                                                                      \
        MEMORY_BASIC_INFORMATION at_m;                                                        \
        memset(&at_m, 0xcc, sizeof(at_m));                                                    \
        CHECK_EQ(VirtualQuery((addr), &at_m, sizeof(at_m)), sizeof(at_m));                    \
        CHECK_EQ(at_m.BaseAddress, (base));                                                   \
        CHECK_EQ(at_m.AllocationBase, (abase));                                               \
        CHECK_EQ(at_m.AllocationProtect, (aprot));                                            \
        CHECK_EQ(at_m.RegionSize, (size));                                                    \
        CHECK_EQ(at_m.State, (state));                                                        \
        CHECK_EQ(at_m.Protect, (prot));                                                       \
        CHECK_EQ(at_m.Type, (type));                                                          \
    } while (0)

/* Field-by-field equality of two descriptors (PartitionId ignored). */
static int at_same_mbi(const MEMORY_BASIC_INFORMATION *a, const MEMORY_BASIC_INFORMATION *b)
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

static void at_snap(struct at_snap *s, const void *start, SIZE_T len)
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

static int at_snap_equal(const struct at_snap *a, const struct at_snap *b)
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
#define CHECK_UNCHANGED(s, start, len)                                                        \
    do {                                                                                      \
        struct at_snap at_after;                                                              \
        at_snap(&at_after, (start), (len));                                                   \
        if (at_snap_equal(&(s), &at_after))                                                   \
            wmt_passed++;                                                                     \
        else                                                                                  \
            WMT_FAIL("regions at %p changed after a failed call", (void *)(start));           \
    } while (0)

/* A call that must fail with err and leave [start, start+len) exactly as it was. */
#define CHECK_FAILS_NOCHANGE(call, err, start, len)                                           \
    do {                                                                                      \
        struct at_snap at_before;                                                             \
        SNAP_BEFORE(at_before, (start), (len));                                               \
        CHECK_FAILS(call, err);                                                               \
        CHECK_UNCHANGED(at_before, (start), (len));                                           \
    } while (0)

static DWORD at_state(const void *p)
{
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery(p, &m, sizeof(m)) != sizeof(m))
        return 0;
    return m.State;
}

static DWORD at_protect(const void *p)
{
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery(p, &m, sizeof(m)) != sizeof(m))
        return 0xffffffff;
    return m.Protect;
}

#endif
