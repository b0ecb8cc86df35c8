/*
 * except.c - memory exceptions a vectored handler survives: guard pages (one-shot, exact
 * record, the retried access), access violations fixed with VirtualProtect, execute faults,
 * a handler that edits the CONTEXT, two threads touching one guard page, and the x86-64
 * CONTEXT / EXCEPTION_RECORD layout.  Plain Win32 C: also builds with mingw-w64 for Wine or
 * Windows.  Handlers only record what they see; the checks run afterwards.  Handler lists,
 * RaiseException and the top-level filter are in except_raise.c.
 */
#include "apitest.h"

#include <stdatomic.h>
#include <stddef.h>
#ifndef _WIN32
#include <pthread.h>
#endif
/* ---- a recording handler for memory exceptions in [watch_lo, watch_hi) ----------------- */

#define MAXSEEN 8

struct seen {
    DWORD code, flags, nparams;
    ULONG_PTR info[EXCEPTION_MAXIMUM_PARAMETERS];
    void *addr;
    struct _EXCEPTION_RECORD *chained;
    ULONG_PTR pc;
    DWORD ctxflags;
    DWORD prot; /* VirtualQuery of the faulting address, inside the handler */
};

static struct seen seen[MAXSEEN];
static volatile int nseen;
static BYTE *watch_lo, *watch_hi;
static DWORD fix_prot; /* an access violation is fixed with this protection; 0: not handled */
static int guard_bump; /* on a guard exception, add 0x100 to the int at the address */
static int skip_load;  /* x86-64: skip a 2-byte `movl (%rdi), %eax` and set Rax */
static int edit_fp;    /* with skip_load: also set Xmm0 and MxCsr's rounding bits */
static BOOL fix_ok;

/* The handler runs in the middle of an access, as a signal handler does on Linux: keep the
 * compiler from moving the handler's settings or results across the faulting access. */
#define FENCE() atomic_signal_fence(memory_order_seq_cst)

static int rd(volatile int *p)
{
    FENCE();
    int v = *p;
    FENCE();
    return v;
}

static void wr(volatile int *p, int v)
{
    FENCE();
    *p = v;
    FENCE();
}

#if defined(__x86_64__) || defined(_M_X64)
static void run(BYTE *code)
{
    FENCE();
    ((void (*)(void))(void *)code)();
    FENCE();
}
#endif

static void record(EXCEPTION_POINTERS *ep)
{
    EXCEPTION_RECORD *r = ep->ExceptionRecord;
    struct seen *s = &seen[nseen++];
    MEMORY_BASIC_INFORMATION m;

    s->code = r->ExceptionCode;
    s->flags = r->ExceptionFlags;
    s->nparams = r->NumberParameters;
    memcpy(s->info, r->ExceptionInformation, sizeof(s->info));
    s->addr = r->ExceptionAddress;
    s->chained = r->ExceptionRecord;
    s->ctxflags = ep->ContextRecord->ContextFlags;
#if defined(__x86_64__) || defined(_M_X64)
    s->pc = (ULONG_PTR)ep->ContextRecord->Rip;
#endif
    s->prot = 0xffffffff;
    if (r->NumberParameters >= 2 &&
        VirtualQuery((void *)r->ExceptionInformation[1], &m, sizeof(m)) == sizeof(m))
        s->prot = m.Protect;
}

static LONG CALLBACK mem_handler(EXCEPTION_POINTERS *ep)
{
    EXCEPTION_RECORD *r = ep->ExceptionRecord;
    DWORD old;

    if ((r->ExceptionCode != EXCEPTION_GUARD_PAGE &&
         r->ExceptionCode != EXCEPTION_ACCESS_VIOLATION) ||
        r->NumberParameters < 2)
        return EXCEPTION_CONTINUE_SEARCH;
    BYTE *a = (BYTE *)r->ExceptionInformation[1];
    if (a < watch_lo || a >= watch_hi || nseen >= MAXSEEN)
        return EXCEPTION_CONTINUE_SEARCH; /* not ours, or looping: let it end the test */
    record(ep);
    if (r->ExceptionCode == EXCEPTION_GUARD_PAGE) {
        if (guard_bump)
            *(volatile int *)a += 0x100; /* the guard is already gone: this must not fault */
        return EXCEPTION_CONTINUE_EXECUTION;
    }
#if defined(__x86_64__) && defined(__GNUC__)
    const BYTE *ip = (const BYTE *)(ULONG_PTR)ep->ContextRecord->Rip;
    if (skip_load && ip[0] == 0x8b && ip[1] == 0x07) {
        ep->ContextRecord->Rip += 2;
        ep->ContextRecord->Rax = 0x1234;
        if (edit_fp) {
            ep->ContextRecord->Xmm0.Low = 0x1122334455667788ull;
            ep->ContextRecord->Xmm0.High = (LONGLONG)0x99aabbccddeeff00ull;
            /* Round toward zero.  MXCSR is in the CONTEXT twice; Wine takes FltSave's copy,
             * so a handler sets both. */
            ep->ContextRecord->MxCsr |= 0x6000;
            ep->ContextRecord->FltSave.MxCsr |= 0x6000;
        }
        return EXCEPTION_CONTINUE_EXECUTION;
    }
#endif
    if (!fix_prot)
        return EXCEPTION_CONTINUE_SEARCH;
    fix_ok = VirtualProtect((void *)((ULONG_PTR)a & ~(ULONG_PTR)(PAGE - 1)), PAGE, fix_prot, &old);
    return EXCEPTION_CONTINUE_EXECUTION;
}

/* A fresh page with `value` in every int, then protection prot, watched by mem_handler. */
static BYTE *watched_page(DWORD prot, int value)
{
    DWORD old;
    BYTE *p = VirtualAlloc(NULL, PAGE, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!p)
        return NULL;
    for (SIZE_T i = 0; i < PAGE / sizeof(int); i++)
        ((int *)p)[i] = value;
    if (!VirtualProtect(p, PAGE, prot, &old)) {
        VirtualFree(p, 0, MEM_RELEASE);
        return NULL;
    }
    watch_lo = p;
    watch_hi = p + PAGE;
    nseen = 0;
    memset(seen, 0, sizeof(seen));
    fix_prot = 0;
    guard_bump = 0;
    skip_load = 0;
    edit_fp = 0;
    fix_ok = FALSE;
    return p;
}

#define CHECK_MEM_RECORD(s, want_code, kind, address) \
    do {                                              \
        CHECK_EQ((s).code, (want_code));              \
        CHECK_EQ((s).nparams, 2);                     \
        CHECK_EQ((s).info[0], (kind));                \
        CHECK_EQ((s).info[1], (ULONG_PTR)(address));  \
    } while (0)

#if defined(__x86_64__) || defined(_M_X64)
/* A hardware fault reports the faulting instruction, and the CONTEXT points at it. */
#define CHECK_AT_PC(s) CHECK_EQ((ULONG_PTR)(s).addr, (s).pc)
#else
#define CHECK_AT_PC(s) CHECK((s).addr != NULL)
#endif

static void test_guard_read_write(void)
{
    PVOID h = AddVectoredExceptionHandler(1, mem_handler);
    REQUIRE_VOID(h != NULL);
    BYTE *p = watched_page(PAGE_READWRITE | PAGE_GUARD, 1);
    REQUIRE_VOID(p != NULL);
    volatile int *v = (volatile int *)p;

    /* A read: one exception, read flag, exact address; the retried read sees the handler's
     * write, so it really was retried after the handler ran. */
    guard_bump = 1;
    int got = rd(&v[1]);
    CHECK_EQ(got, 0x101);
    CHECK_EQ(nseen, 1);
    CHECK_MEM_RECORD(seen[0], EXCEPTION_GUARD_PAGE, EXCEPTION_READ_FAULT, p + sizeof(int));
    CHECK_EQ(seen[0].prot, PAGE_READWRITE); /* the guard is gone before the handler runs */
    CHECK_AT_PC(seen[0]);
    CHECK_EQ(seen[0].ctxflags & 0xd8000000u, 0); /* no CONTEXT_EXCEPTION_* reporting bits */
    CHECK_EQ(seen[0].ctxflags & CONTEXT_FULL, CONTEXT_FULL);
    /* One-shot: touching the page again raises nothing. */
    got = rd(&v[2]) + rd(&v[PAGE / sizeof(int) - 1]);
    wr(&v[3], 7);
    CHECK_EQ(got, 2);
    CHECK_EQ(v[3], 7);
    CHECK_EQ(nseen, 1);
    CHECK_EQ(at_protect(p), PAGE_READWRITE);

    /* A write: write flag; the retried write lands. */
    DWORD old = 0;
    CHECK(VirtualProtect(p, PAGE, PAGE_READWRITE | PAGE_GUARD, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    guard_bump = 0;
    nseen = 0;
    wr(&v[5], 0x55);
    CHECK_EQ(nseen, 1);
    CHECK_MEM_RECORD(seen[0], EXCEPTION_GUARD_PAGE, EXCEPTION_WRITE_FAULT, p + 5 * sizeof(int));
    CHECK_EQ(seen[0].prot, PAGE_READWRITE);
    CHECK_EQ(v[5], 0x55);
    CHECK_EQ(nseen, 1);

    VirtualFree(p, 0, MEM_RELEASE);
    CHECK(RemoveVectoredExceptionHandler(h));
}

/* PAGE_READONLY|PAGE_GUARD written: the guard exception first, then on the retry an access
 * violation (write), which the handler fixes. */
static void test_guard_then_violation(void)
{
    PVOID h = AddVectoredExceptionHandler(1, mem_handler);
    REQUIRE_VOID(h != NULL);
    BYTE *p = watched_page(PAGE_READONLY | PAGE_GUARD, 3);
    REQUIRE_VOID(p != NULL);
    fix_prot = PAGE_READWRITE;

    wr((volatile int *)p + 8, 9);
    CHECK_EQ(nseen, 2);
    CHECK_MEM_RECORD(seen[0], EXCEPTION_GUARD_PAGE, EXCEPTION_WRITE_FAULT, p + 8 * sizeof(int));
    CHECK_EQ(seen[0].prot, PAGE_READONLY);
    CHECK_MEM_RECORD(seen[1], EXCEPTION_ACCESS_VIOLATION, EXCEPTION_WRITE_FAULT,
                     p + 8 * sizeof(int));
    CHECK_EQ(seen[1].addr, seen[0].addr); /* the same instruction, retried */
    CHECK(fix_ok);
    CHECK_EQ(((volatile int *)p)[8], 9);
    CHECK_EQ(((volatile int *)p)[9], 3);

    VirtualFree(p, 0, MEM_RELEASE);
    CHECK(RemoveVectoredExceptionHandler(h));
}

/* One access to a page of protection prot; the handler gives the page fix and continues. */
static void violation_case(DWORD prot, int write, DWORD fix)
{
    PVOID h = AddVectoredExceptionHandler(0, mem_handler);
    REQUIRE_VOID(h != NULL);
    BYTE *p = watched_page(prot, 0x42);
    REQUIRE_VOID(p != NULL);
    fix_prot = fix;
    volatile int *v = (volatile int *)(p + 100 * sizeof(int));

    int got = 0x42;
    if (write)
        wr(v, 0x77);
    else
        got = rd(v);
    CHECK_EQ(nseen, 1);
    CHECK_MEM_RECORD(seen[0], EXCEPTION_ACCESS_VIOLATION,
                     write ? EXCEPTION_WRITE_FAULT : EXCEPTION_READ_FAULT, v);
    CHECK_EQ(seen[0].prot, prot);
    CHECK_AT_PC(seen[0]);
    CHECK(fix_ok);
    CHECK_EQ(got, 0x42);
    CHECK_EQ(*v, write ? 0x77 : 0x42);
    CHECK_EQ(at_protect(p), fix);
    CHECK_EQ(nseen, 1);

    VirtualFree(p, 0, MEM_RELEASE);
    CHECK(RemoveVectoredExceptionHandler(h));
}

static void test_violations(void)
{
    violation_case(PAGE_NOACCESS, 0, PAGE_READONLY);
    violation_case(PAGE_NOACCESS, 1, PAGE_READWRITE);
    violation_case(PAGE_READONLY, 1, PAGE_READWRITE);
}

/* Executing a PAGE_READWRITE page: [0] = 8 (DEP is always on for x64), [1] = the address. */
static void test_execute(void)
{
#if defined(__x86_64__) || defined(_M_X64)
    PVOID h = AddVectoredExceptionHandler(1, mem_handler);
    REQUIRE_VOID(h != NULL);
    BYTE *p = watched_page(PAGE_READWRITE, 0);
    REQUIRE_VOID(p != NULL);
    p[0] = 0xc3; /* ret */
    fix_prot = PAGE_EXECUTE_READ;

    run(p);
    CHECK_EQ(nseen, 1);
    CHECK_MEM_RECORD(seen[0], EXCEPTION_ACCESS_VIOLATION, EXCEPTION_EXECUTE_FAULT, p);
    CHECK_EQ(seen[0].addr, p);
    CHECK_AT_PC(seen[0]);
    CHECK(fix_ok);
    CHECK_EQ(at_protect(p), PAGE_EXECUTE_READ);
    run(p); /* executable now: no second exception */
    CHECK_EQ(nseen, 1);

    VirtualFree(p, 0, MEM_RELEASE);
    CHECK(RemoveVectoredExceptionHandler(h));
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
static int load_with_asm(const void *p)
{
    int r;
    /* Exactly `8b 07`: the handler skips two bytes. */
    __asm__ volatile("movl (%1), %0" : "=a"(r) : "D"(p) : "memory");
    return r;
}

/* The same load with xmm0 cleared before it; after it, xmm0 and MXCSR as the code resumed
 * with them (MXCSR restored to `mxcsr` afterwards). */
static int load_with_fp(const void *p, unsigned long long xmm0[2], unsigned *mxcsr)
{
    int r;
    unsigned saved, now;
    /* r is early-clobbered: the compiler must not keep an output's address in rax. */
    __asm__ volatile(
        "stmxcsr %[saved]\n\t"
        "pxor %%xmm0, %%xmm0\n\t"
        "movl (%[p]), %%eax\n\t" /* 8b 07 */
        "movq %%xmm0, %[lo]\n\t"
        "movhlps %%xmm0, %%xmm0\n\t"
        "movq %%xmm0, %[hi]\n\t"
        "stmxcsr %[now]\n\t"
        "ldmxcsr %[saved]"
        : "=&a"(r), [lo] "=m"(xmm0[0]), [hi] "=m"(xmm0[1]), [saved] "=m"(saved), [now] "=m"(now)
        : [p] "D"(p)
        : "xmm0", "memory");
    *mxcsr = now;
    return r;
}
#endif

/* A handler that edits the CONTEXT: skip the faulting instruction and set a register. */
static void test_context_edit(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    PVOID h = AddVectoredExceptionHandler(1, mem_handler);
    REQUIRE_VOID(h != NULL);
    BYTE *p = watched_page(PAGE_NOACCESS, 0x99);
    REQUIRE_VOID(p != NULL);
    skip_load = 1;
    fix_prot = PAGE_READONLY; /* only if the instruction is not the expected one */

    FENCE();
    int r = load_with_asm(p + 16);
    FENCE();
    CHECK_EQ(r, 0x1234);
    CHECK_EQ(nseen, 1);
    CHECK_MEM_RECORD(seen[0], EXCEPTION_ACCESS_VIOLATION, EXCEPTION_READ_FAULT, p + 16);
    CHECK_EQ(((const BYTE *)seen[0].addr)[0], 0x8b);
    CHECK_EQ(((const BYTE *)seen[0].addr)[1], 0x07);
    CHECK(!fix_ok); /* the page was never touched: the instruction was skipped */
    CHECK_EQ(at_protect(p), PAGE_NOACCESS);

    VirtualFree(p, 0, MEM_RELEASE);
    CHECK(RemoveVectoredExceptionHandler(h));
#endif
}

/* A handler's edits to the floating-point state in the CONTEXT (an XMM register, MXCSR) are
 * what the code resumes with, as its edits to the integer registers are. */
static void test_context_edit_fp(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    PVOID h = AddVectoredExceptionHandler(1, mem_handler);
    REQUIRE_VOID(h != NULL);
    BYTE *p = watched_page(PAGE_NOACCESS, 0x99);
    REQUIRE_VOID(p != NULL);
    skip_load = 1;
    edit_fp = 1;
    fix_prot = PAGE_READONLY; /* only if the instruction is not the expected one */

    unsigned long long xmm0[2] = { 0, 0 };
    unsigned mxcsr = 0;
    FENCE();
    int r = load_with_fp(p + 16, xmm0, &mxcsr);
    FENCE();
    CHECK_EQ(r, 0x1234);
    CHECK_EQ(nseen, 1);
    CHECK_EQ(xmm0[0], 0x1122334455667788ull);
    CHECK_EQ(xmm0[1], 0x99aabbccddeeff00ull);
    CHECK_EQ(mxcsr & 0x6000, 0x6000);
    CHECK(!fix_ok);

    VirtualFree(p, 0, MEM_RELEASE);
    CHECK(RemoveVectoredExceptionHandler(h));
#endif
}

/* ---- two threads touching one guard page at once ----------------------------------------- */

#define GUARD_ROUNDS 100

static volatile int *tg_page;
static atomic_int tg_ready, tg_count, tg_other, tg_wrong;

static LONG CALLBACK tg_handler(EXCEPTION_POINTERS *ep)
{
    EXCEPTION_RECORD *r = ep->ExceptionRecord;
    if (r->NumberParameters < 2 ||
        (r->ExceptionInformation[1] & ~(ULONG_PTR)(PAGE - 1)) != (ULONG_PTR)tg_page)
        return EXCEPTION_CONTINUE_SEARCH;
    if (r->ExceptionCode == EXCEPTION_GUARD_PAGE)
        atomic_fetch_add(&tg_count, 1);
    else
        atomic_fetch_add(&tg_other, 1); /* wrong, but the page is readable now: retry */
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void tg_touch(int id)
{
    atomic_fetch_add(&tg_ready, 1);
    while (atomic_load(&tg_ready) < 2)
        ;
    if (tg_page[id * 64] != id + 7)
        atomic_fetch_add(&tg_wrong, 1);
}

#ifdef _WIN32
static DWORD WINAPI tg_thread(LPVOID arg)
{
    tg_touch((int)(ULONG_PTR)arg);
    return 0;
}
#else
static void *tg_thread(void *arg)
{
    tg_touch((int)(ULONG_PTR)arg);
    return NULL;
}
#endif

static void test_guard_two_threads(void)
{
    DWORD old;
    PVOID h = AddVectoredExceptionHandler(1, tg_handler);
    REQUIRE_VOID(h != NULL);
    tg_page = VirtualAlloc(NULL, PAGE, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(tg_page != NULL);
    tg_page[0] = 7;
    tg_page[64] = 8;
    atomic_store(&tg_count, 0);
    atomic_store(&tg_other, 0);
    atomic_store(&tg_wrong, 0);

    int rounds = 0;
    for (; rounds < GUARD_ROUNDS; rounds++) {
        if (!VirtualProtect((void *)tg_page, PAGE, PAGE_READWRITE | PAGE_GUARD, &old))
            break;
        atomic_store(&tg_ready, 0);
#ifdef _WIN32
        HANDLE t[2];
        for (int i = 0; i < 2; i++)
            t[i] = CreateThread(NULL, 0, tg_thread, (LPVOID)(ULONG_PTR)i, 0, NULL);
        if (!t[0] || !t[1])
            break;
        WaitForMultipleObjects(2, t, TRUE, INFINITE);
        CloseHandle(t[0]);
        CloseHandle(t[1]);
#else
        pthread_t t[2];
        if (pthread_create(&t[0], NULL, tg_thread, (void *)0) != 0)
            break;
        if (pthread_create(&t[1], NULL, tg_thread, (void *)1) != 0) {
            pthread_join(t[0], NULL);
            break;
        }
        pthread_join(t[0], NULL);
        pthread_join(t[1], NULL);
#endif
    }
    CHECK_EQ(rounds, GUARD_ROUNDS);
    CHECK_EQ(atomic_load(&tg_count), rounds); /* exactly one exception per arming */
    CHECK_EQ(atomic_load(&tg_other), 0);      /* the other thread retries, it sees nothing */
    CHECK_EQ(atomic_load(&tg_wrong), 0);
    CHECK_EQ(at_protect((void *)tg_page), PAGE_READWRITE);

    VirtualFree((void *)tg_page, 0, MEM_RELEASE);
    CHECK(RemoveVectoredExceptionHandler(h));
}

/* ---- layout ------------------------------------------------------------------------------ */

static void test_layout(void)
{
#if defined(__x86_64__) || defined(_M_X64)
    CHECK_EQ(sizeof(CONTEXT), 0x4d0);
    CHECK_EQ(offsetof(CONTEXT, ContextFlags), 0x30);
    CHECK_EQ(offsetof(CONTEXT, SegCs), 0x38);
    CHECK_EQ(offsetof(CONTEXT, Dr0), 0x48);
    CHECK_EQ(offsetof(CONTEXT, Rax), 0x78);
    CHECK_EQ(offsetof(CONTEXT, Rsp), 0x98);
    CHECK_EQ(offsetof(CONTEXT, Rip), 0xf8);
    CHECK_EQ(offsetof(CONTEXT, FltSave), 0x100);
    CHECK_EQ(offsetof(CONTEXT, VectorRegister), 0x300);
    CHECK_EQ(offsetof(CONTEXT, VectorControl), 0x4a0);
    CHECK_EQ(sizeof(XMM_SAVE_AREA32), 512);
    CHECK_EQ(offsetof(XMM_SAVE_AREA32, XmmRegisters), 0xa0);
    CHECK_EQ(sizeof(EXCEPTION_RECORD), 0x98);
    CHECK_EQ(offsetof(EXCEPTION_RECORD, NumberParameters), 0x18);
    CHECK_EQ(offsetof(EXCEPTION_RECORD, ExceptionInformation), 0x20);
#endif
    CHECK_EQ(EXCEPTION_GUARD_PAGE, 0x80000001u);
    CHECK_EQ(EXCEPTION_ACCESS_VIOLATION, 0xC0000005u);
    CHECK_EQ(EXCEPTION_CONTINUE_EXECUTION, -1);
}

int main(void)
{
    at_init();
    test_layout();
    test_guard_read_write();
    test_guard_then_violation();
    test_violations();
    test_execute();
    test_context_edit();
    test_context_edit_fp();
    test_guard_two_threads();
    return wmt_report();
}
