/*
 * API: Control Flow Guard call targets.  GetProcessMitigationPolicy says whether CFG is on;
 * SetProcessValidCallTargets marks 16-byte aligned offsets of executable memory valid or
 * invalid, flags every entry it processed with CFG_CALL_TARGET_PROCESSED, and refuses
 * ranges that are not executable memory.  (Whether a target passes the check is the fault
 * test's: a failing check ends the process.)  A process without CFG (on Windows, an image
 * built without /guard:cf) gets only the refusal.
 */
#include "apitest.h"

#ifndef CFG_CALL_TARGET_PROCESSED
#define CFG_CALL_TARGET_PROCESSED 0x00000002
#endif

#define REGION 0x10000

static void test_policy(void)
{
    PROCESS_MITIGATION_CONTROL_FLOW_GUARD_POLICY pol;

    memset(&pol, 0xcc, sizeof(pol));
    CHECK(GetProcessMitigationPolicy(GetCurrentProcess(), ProcessControlFlowGuardPolicy, &pol,
                                     sizeof(pol)));
#ifndef _WIN32
    /* (Wine 8 leaves the reserved bits as they were.) */
    CHECK_EQ(pol.Flags & ~(DWORD)0x1f, 0);
    /* winmem's choices (docs/cfg.md): CFG is on whenever the bitmap could be reserved;
     * a wrong length, an unknown policy and the policies winmem does not answer fail. */
    /* (Under ThreadSanitizer the kernel may find no room for the bitmap, and RLIMIT_AS may
     * forbid one of 1/128 of the address space: CFG is off then.) */
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    if (!WMT_TSAN &&
        wmt_room_for("CFG on",
                     ((unsigned long long)(ULONG_PTR)si.lpMaximumApplicationAddress + 1) / 128))
        CHECK_EQ(pol.EnableControlFlowGuard, 1);
    CHECK_EQ(pol.EnableExportSuppression, 0);
    CHECK_EQ(pol.StrictMode, 0);
    CHECK_FAILS(GetProcessMitigationPolicy(GetCurrentProcess(), ProcessControlFlowGuardPolicy, &pol,
                                           sizeof(pol) + 1),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(GetProcessMitigationPolicy(GetCurrentProcess(), ProcessControlFlowGuardPolicy, NULL,
                                           sizeof(pol)),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(GetProcessMitigationPolicy(GetCurrentProcess(), MaxProcessMitigationPolicy, &pol,
                                           sizeof(pol)),
                ERROR_INVALID_PARAMETER);
    CHECK_FAILS(GetProcessMitigationPolicy(GetCurrentProcess(), ProcessDynamicCodePolicy, &pol,
                                           sizeof(pol)),
                ERROR_NOT_SUPPORTED);
    CHECK_FAILS(GetProcessMitigationPolicy((HANDLE)(ULONG_PTR)0x1234, ProcessControlFlowGuardPolicy,
                                           &pol, sizeof(pol)),
                ERROR_INVALID_HANDLE);
#endif
}

#ifdef _WIN32
/* mingw-w64's kernel32 import library lacks it: kernelbase.dll exports it since Windows 10. */
typedef BOOL(WINAPI *set_fn)(HANDLE, PVOID, SIZE_T, ULONG, PCFG_CALL_TARGET_INFO);
static BOOL WINAPI set_valid_call_targets(HANDLE h, PVOID p, SIZE_T size, ULONG n,
                                          PCFG_CALL_TARGET_INFO e)
{
    set_fn fn = (set_fn)(void (*)(void))GetProcAddress(GetModuleHandleA("kernelbase.dll"),
                                                       "SetProcessValidCallTargets");
    if (!fn) {
        SetLastError(ERROR_CALL_NOT_IMPLEMENTED);
        return FALSE;
    }
    return fn(h, p, size, n, e);
}
#define SetProcessValidCallTargets set_valid_call_targets
#endif

static BOOL set_targets(void *p, SIZE_T size, CFG_CALL_TARGET_INFO *e, ULONG n)
{
    return SetProcessValidCallTargets(GetCurrentProcess(), p, size, n, e);
}

static void test_processed(unsigned char *p)
{
    CFG_CALL_TARGET_INFO e[3] = {
        { 0x0, CFG_CALL_TARGET_VALID },
        { 0x10, CFG_CALL_TARGET_VALID },
        { 0x100, 0 },
    };

    CHECK(set_targets(p, REGION, e, 3));
    CHECK_EQ(e[0].Flags, CFG_CALL_TARGET_VALID | CFG_CALL_TARGET_PROCESSED);
    CHECK_EQ(e[1].Flags, CFG_CALL_TARGET_VALID | CFG_CALL_TARGET_PROCESSED);
    CHECK_EQ(e[2].Flags, CFG_CALL_TARGET_PROCESSED);
    CHECK_EQ(e[0].Offset, 0);
    CHECK_EQ(e[2].Offset, 0x100);
    /* The same array again: PROCESSED on input is accepted. */
    CHECK(set_targets(p, REGION, e, 3));
    /* No entries: nothing to do. */
    CHECK(set_targets(p, REGION, e, 0));
    /* A part of the allocation, the offsets relative to its start. */
    CFG_CALL_TARGET_INFO mid = { 0x20, CFG_CALL_TARGET_VALID };
    CHECK(set_targets(p + 0x1000, 0x2000, &mid, 1));
    CHECK_EQ(mid.Flags, CFG_CALL_TARGET_VALID | CFG_CALL_TARGET_PROCESSED);
}

static void test_bad_entries(unsigned char *p)
{
    /* Every entry up to the bad one is processed; the bad one and the rest are not. */
    CFG_CALL_TARGET_INFO e[3] = {
        { 0x20, CFG_CALL_TARGET_VALID },
        { 0x28, CFG_CALL_TARGET_VALID },
        { 0x30, CFG_CALL_TARGET_VALID },
    };
    CHECK_FAILS(set_targets(p, REGION, e, 3), ERROR_INVALID_PARAMETER);
    CHECK_EQ(e[0].Flags, CFG_CALL_TARGET_VALID | CFG_CALL_TARGET_PROCESSED);
    CHECK_EQ(e[1].Flags, CFG_CALL_TARGET_VALID);
    CHECK_EQ(e[2].Flags, CFG_CALL_TARGET_VALID);

    CFG_CALL_TARGET_INFO past = { REGION, CFG_CALL_TARGET_VALID };
    CHECK_FAILS(set_targets(p, REGION, &past, 1), ERROR_INVALID_PARAMETER);
    CHECK_EQ(past.Flags, CFG_CALL_TARGET_VALID);
    CFG_CALL_TARGET_INFO past_size = { 0x1000, CFG_CALL_TARGET_VALID };
    CHECK_FAILS(set_targets(p, 0x1000, &past_size, 1), ERROR_INVALID_PARAMETER);
#ifndef _WIN32
    /* An unknown flag [C], and an unreadable array [C]. */
    CFG_CALL_TARGET_INFO odd = { 0x40, 0x20 };
    CHECK_FAILS(set_targets(p, REGION, &odd, 1), ERROR_INVALID_PARAMETER);
    CHECK_EQ(odd.Flags, 0x20);
    CHECK_FAILS(set_targets(p, REGION, NULL, 1), ERROR_NOACCESS);
#endif
}

static void test_bad_ranges(unsigned char *p)
{
    CFG_CALL_TARGET_INFO e = { 0, CFG_CALL_TARGET_VALID };

    /* Past the allocation. */
    CHECK_FAILS(set_targets(p, REGION + 0x1000, &e, 1), ERROR_INVALID_PARAMETER);
    CHECK_EQ(e.Flags, CFG_CALL_TARGET_VALID);
    /* Memory that is not executable. */
    unsigned char *rw = VirtualAlloc(NULL, REGION, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(rw != NULL);
    CHECK_FAILS(set_targets(rw, REGION, &e, 1), ERROR_INVALID_PARAMETER);
    /* ... until it is. */
    DWORD old;
    CHECK(VirtualProtect(rw, REGION, PAGE_EXECUTE_READ, &old));
    CHECK(set_targets(rw, REGION, &e, 1));
    CHECK(VirtualFree(rw, 0, MEM_RELEASE));
    /* Free memory. */
    e.Flags = CFG_CALL_TARGET_VALID;
    CHECK_FAILS(set_targets(rw, REGION, &e, 1), ERROR_INVALID_PARAMETER);
    CHECK_EQ(e.Flags, CFG_CALL_TARGET_VALID);
#ifndef _WIN32
    /* Size 0 [C]; another process's handle [I]. */
    CHECK_FAILS(set_targets(p, 0, &e, 1), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(SetProcessValidCallTargets((HANDLE)(ULONG_PTR)0x1234, p, REGION, 1, &e),
                ERROR_INVALID_HANDLE);
#endif
}

#ifndef _WIN32
static int own_code(void)
{
    return 1;
}

/* Code winmem did not allocate: its targets are always valid here, so marking them is
 * accepted and changes nothing [C]. */
static void test_foreign_code(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    CFG_CALL_TARGET_INFO e = { 0, CFG_CALL_TARGET_VALID };
    void *fn = (void *)(ULONG_PTR)own_code;

    REQUIRE_VOID(VirtualQuery(fn, &mbi, sizeof(mbi)) == sizeof(mbi));
    e.Offset = ((ULONG_PTR)fn - (ULONG_PTR)mbi.BaseAddress) & ~(ULONG_PTR)15;
    CHECK(set_targets(mbi.BaseAddress, mbi.RegionSize, &e, 1));
    CHECK_EQ(e.Flags, CFG_CALL_TARGET_VALID | CFG_CALL_TARGET_PROCESSED);
}
#endif

int main(void)
{
    PROCESS_MITIGATION_CONTROL_FLOW_GUARD_POLICY pol;
    CFG_CALL_TARGET_INFO e = { 0, CFG_CALL_TARGET_VALID };

    test_policy();
    unsigned char *p = VirtualAlloc(NULL, REGION, MEM_COMMIT | MEM_RESERVE,
                                    PAGE_EXECUTE_READ | PAGE_TARGETS_INVALID);
    REQUIRE(p != NULL);
    REQUIRE(GetProcessMitigationPolicy(GetCurrentProcess(), ProcessControlFlowGuardPolicy, &pol,
                                       sizeof(pol)));
    if (!pol.EnableControlFlowGuard) {
        /* "This function does not succeed if Control Flow Guard is not enabled." */
        CHECK(!set_targets(p, REGION, &e, 1));
        printf("CFG is not enabled for this process: only the refusal is checked\n");
        return wmt_report();
    }
    test_processed(p);
    test_bad_entries(p);
    test_bad_ranges(p);
#ifndef _WIN32
    test_foreign_code();
#endif
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    return wmt_report();
}
