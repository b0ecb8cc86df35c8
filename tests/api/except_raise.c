/*
 * except_raise.c - software exceptions and the handler lists: vectored handler order,
 * removal during dispatch, handles, continue handlers, RaiseException's record, and the
 * top-level filter (SetUnhandledExceptionFilter / UnhandledExceptionFilter) continuing an
 * exception.  Plain Win32 C: also builds with mingw-w64 for Wine or Windows.  What ends the
 * process is in tests/fault/except_*.c.
 */
#include "apitest.h"
/* ---- handler lists, through RaiseException ------------------------------------------------ */

#define LIST_CODE 0xE0000D01u
#define NHANDLERS 5

static int order_log[16];
static int order_n;
static LONG verdict[NHANDLERS];
static PVOID remove_target[NHANDLERS];
static ULONG remove_ret[NHANDLERS];

static LONG logged(int id, EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode != LIST_CODE)
        return EXCEPTION_CONTINUE_SEARCH;
    if (order_n < 16)
        order_log[order_n++] = id;
    if (remove_target[id])
        remove_ret[id] = RemoveVectoredExceptionHandler(remove_target[id]);
    return verdict[id];
}

static LONG CALLBACK h1(EXCEPTION_POINTERS *ep)
{
    return logged(1, ep);
}
static LONG CALLBACK h2(EXCEPTION_POINTERS *ep)
{
    return logged(2, ep);
}
static LONG CALLBACK h3(EXCEPTION_POINTERS *ep)
{
    return logged(3, ep);
}
static LONG CALLBACK h4(EXCEPTION_POINTERS *ep)
{
    return logged(4, ep);
}
static LONG CALLBACK cont0(EXCEPTION_POINTERS *ep)
{
    logged(0, ep);
    return EXCEPTION_CONTINUE_SEARCH;
}

static void lists_reset(void)
{
    order_n = 0;
    memset(order_log, 0, sizeof(order_log));
    for (int i = 0; i < NHANDLERS; i++) {
        verdict[i] = EXCEPTION_CONTINUE_SEARCH;
        remove_target[i] = NULL;
        remove_ret[i] = 0xdead;
    }
}

static void raise_list(void)
{
    order_n = 0;
    memset(order_log, 0, sizeof(order_log));
    RaiseException(LIST_CODE, 0, 0, NULL);
}

#define CHECK_LOG(...)                                              \
    do {                                                            \
        static const int want[] = { __VA_ARGS__ };                  \
        CHECK_EQ(order_n, sizeof(want) / sizeof(want[0]));          \
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) \
            CHECK_EQ(order_log[k], want[k]);                        \
    } while (0)

static void test_order(void)
{
    lists_reset();
    verdict[3] = EXCEPTION_CONTINUE_EXECUTION;
    PVOID a = AddVectoredExceptionHandler(0, h1);
    PVOID b = AddVectoredExceptionHandler(1, h2);
    PVOID c = AddVectoredExceptionHandler(0, h3);
    PVOID d = AddVectoredExceptionHandler(1, h4);
    REQUIRE_VOID(a && b && c && d);
    /* First=1 goes to the head, First=0 to the tail; CONTINUE_SEARCH passes on. */
    raise_list();
    CHECK_LOG(4, 2, 1, 3);
    /* CONTINUE_EXECUTION stops the walk. */
    verdict[2] = EXCEPTION_CONTINUE_EXECUTION;
    raise_list();
    CHECK_LOG(4, 2);
    CHECK_EQ(RemoveVectoredExceptionHandler(a), 1);
    CHECK_EQ(RemoveVectoredExceptionHandler(b), 1);
    CHECK_EQ(RemoveVectoredExceptionHandler(c), 1);
    CHECK_EQ(RemoveVectoredExceptionHandler(d), 1);
}

static void test_remove_during_dispatch(void)
{
    /* h1 removes h2 before h2's turn: h2 is not called. */
    lists_reset();
    verdict[3] = EXCEPTION_CONTINUE_EXECUTION;
    PVOID a = AddVectoredExceptionHandler(0, h1);
    PVOID b = AddVectoredExceptionHandler(0, h2);
    PVOID c = AddVectoredExceptionHandler(0, h3);
    REQUIRE_VOID(a && b && c);
    remove_target[1] = b;
    raise_list();
    CHECK_LOG(1, 3);
    CHECK(remove_ret[1] != 0);
    CHECK_EQ(RemoveVectoredExceptionHandler(b), 0); /* already gone */
    remove_target[1] = NULL;
    CHECK(RemoveVectoredExceptionHandler(a));

    /* h1 removes itself: this dispatch goes on, the next one does not call it. */
    PVOID s = AddVectoredExceptionHandler(1, h1);
    REQUIRE_VOID(s != NULL);
    remove_target[1] = s;
    raise_list();
    CHECK_LOG(1, 3);
    CHECK(remove_ret[1] != 0);
    raise_list();
    CHECK_LOG(3);
    CHECK_EQ(RemoveVectoredExceptionHandler(s), 0);
    CHECK(RemoveVectoredExceptionHandler(c));
}

static void test_handles(void)
{
    lists_reset();
    verdict[3] = EXCEPTION_CONTINUE_EXECUTION;
    PVOID x = AddVectoredExceptionHandler(0, h1);
    PVOID y = AddVectoredExceptionHandler(0, h1);
    PVOID t = AddVectoredExceptionHandler(0, h3);
    REQUIRE_VOID(x && y && t);
    CHECK(x != y); /* the same function twice: two entries */
    raise_list();
    CHECK_LOG(1, 1, 3);
    CHECK(RemoveVectoredExceptionHandler(x));
    raise_list();
    CHECK_LOG(1, 3);
    CHECK_EQ(RemoveVectoredExceptionHandler(x), 0);
    CHECK(RemoveVectoredExceptionHandler(y));
    CHECK_EQ(RemoveVectoredExceptionHandler((PVOID)(ULONG_PTR)0x11223344), 0);

    /* The continue list is a separate list: its handles are unknown to the other. */
    PVOID vc = AddVectoredContinueHandler(0, cont0);
    REQUIRE_VOID(vc != NULL);
    CHECK_EQ(RemoveVectoredExceptionHandler(vc), 0);
    CHECK_EQ(RemoveVectoredContinueHandler(t), 0);
    CHECK(RemoveVectoredContinueHandler(vc));
    CHECK_EQ(RemoveVectoredContinueHandler(vc), 0);
    CHECK(RemoveVectoredExceptionHandler(t));
}

/* Any number of handlers, each called once, in order: Windows has no limit on the list. */
#define MANY_HANDLERS 1000
static int many_calls, many_first_saw = -1, many_last_saw = -1;

static LONG CALLBACK many_pass(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode == LIST_CODE)
        many_calls++;
    return EXCEPTION_CONTINUE_SEARCH;
}

static LONG CALLBACK many_head(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode == LIST_CODE)
        many_first_saw = many_calls;
    return EXCEPTION_CONTINUE_SEARCH;
}

static LONG CALLBACK many_tail(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode != LIST_CODE)
        return EXCEPTION_CONTINUE_SEARCH;
    many_last_saw = many_calls;
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void test_many_handlers(void)
{
    static PVOID h[MANY_HANDLERS];
    int added = 0;

    for (int i = 0; i < MANY_HANDLERS; i++)
        added += (h[i] = AddVectoredExceptionHandler(0, many_pass)) != NULL;
    PVOID tail = AddVectoredExceptionHandler(0, many_tail);
    PVOID head = AddVectoredExceptionHandler(1, many_head);
    CHECK_EQ(added, MANY_HANDLERS);
    REQUIRE_VOID(tail && head);
    /* The handler after a thousand that pass continues it, so RaiseException returns. */
    RaiseException(LIST_CODE, 0, 0, NULL);
    CHECK_EQ(many_first_saw, 0);
    CHECK_EQ(many_calls, MANY_HANDLERS);
    CHECK_EQ(many_last_saw, MANY_HANDLERS);
    for (int i = 0; i < MANY_HANDLERS; i++)
        if (h[i])
            CHECK(RemoveVectoredExceptionHandler(h[i]));
    CHECK(RemoveVectoredExceptionHandler(tail));
    CHECK(RemoveVectoredExceptionHandler(head));
}

/* A continue handler runs once a vectored handler has continued the exception. */
static void test_continue_handler(void)
{
    lists_reset();
    verdict[3] = EXCEPTION_CONTINUE_EXECUTION;
    PVOID v = AddVectoredExceptionHandler(0, h3);
    PVOID c = AddVectoredContinueHandler(0, cont0);
    REQUIRE_VOID(v && c);
    raise_list();
    CHECK_LOG(3, 0);
    CHECK(RemoveVectoredContinueHandler(c));
    raise_list();
    CHECK_LOG(3);
    CHECK(RemoveVectoredExceptionHandler(v));
}

/* ---- RaiseException ---------------------------------------------------------------------- */

#define RAISE_CODE 0xE0000A01u

static EXCEPTION_RECORD raised;
static ULONG_PTR raised_pc;
static DWORD raised_ctxflags;
static int nraised;

static LONG CALLBACK raise_handler(EXCEPTION_POINTERS *ep)
{
    if ((ep->ExceptionRecord->ExceptionCode & 0xffffff00u) != (RAISE_CODE & 0xffffff00u))
        return EXCEPTION_CONTINUE_SEARCH;
    nraised++;
    raised = *ep->ExceptionRecord;
    raised_ctxflags = ep->ContextRecord->ContextFlags;
#if defined(__x86_64__) || defined(_M_X64)
    raised_pc = (ULONG_PTR)ep->ContextRecord->Rip;
#elif defined(__aarch64__) || defined(_M_ARM64)
    raised_pc = (ULONG_PTR)ep->ContextRecord->Pc;
#endif
    return EXCEPTION_CONTINUE_EXECUTION;
}

static volatile int after_raise;

/* Not a tail call, so RaiseException's return address lies inside this function. */
static __attribute__((noinline)) void raise_from_here(void)
{
    RaiseException(RAISE_CODE, 0, 0, NULL);
    after_raise++;
}

static void raise_case(DWORD n, const ULONG_PTR *args)
{
    memset(&raised, 0xcc, sizeof(raised));
    nraised = 0;
    RaiseException(RAISE_CODE + 1, 0, n, args);
    CHECK_EQ(nraised, 1);
}

static void test_raise(void)
{
    ULONG_PTR args[20];
    for (int i = 0; i < 20; i++)
        args[i] = 0x1000 + (ULONG_PTR)i;
    PVOID h = AddVectoredExceptionHandler(1, raise_handler);
    REQUIRE_VOID(h != NULL);

    raise_case(3, args);
    CHECK_EQ(raised.ExceptionCode, RAISE_CODE + 1);
    /* 0 here; newer Windows may add a "software originate" bit, which winmem does not. */
    CHECK_EQ(raised.ExceptionFlags, 0);
    CHECK_EQ(raised.ExceptionRecord, NULL);
    CHECK_EQ(raised.NumberParameters, 3);
    CHECK_EQ(raised.ExceptionInformation[0], 0x1000);
    CHECK_EQ(raised.ExceptionInformation[2], 0x1002);
    CHECK(raised.ExceptionAddress != NULL);
    CHECK_EQ(raised_ctxflags & 0xd8000000u, 0);
#if defined(__x86_64__) || defined(_M_X64)
    /* CONTEXT_ALL or CONTEXT_FULL|CONTEXT_SEGMENTS, optionally with the XSTATE bit. */
    CHECK((raised_ctxflags & ~0x40u) == CONTEXT_ALL ||
          (raised_ctxflags & ~0x40u) == (CONTEXT_FULL | CONTEXT_SEGMENTS));
#endif
    CHECK_EQ(raised_pc, (ULONG_PTR)raised.ExceptionAddress);

    raise_case(15, args);
    CHECK_EQ(raised.NumberParameters, 15);
    CHECK_EQ(raised.ExceptionInformation[14], 0x100e);

    raise_case(20, args); /* more than EXCEPTION_MAXIMUM_PARAMETERS: cut to 15 */
    CHECK_EQ(raised.NumberParameters, 15);
    CHECK_EQ(raised.ExceptionInformation[0], 0x1000);
    CHECK_EQ(raised.ExceptionInformation[14], 0x100e);

    raise_case(5, NULL); /* "ignored if lpArguments is NULL" */
    CHECK_EQ(raised.NumberParameters, 0);

    raise_case(0, args);
    CHECK_EQ(raised.NumberParameters, 0);

    /* ExceptionAddress: RtlRaiseException records its caller's return address, and its caller
     * is RaiseException, so the address lies inside RaiseException (Windows crash reports
     * show KERNELBASE!RaiseException+0x..; Wine agrees) -- not in the program. */
    nraised = 0;
    raise_from_here();
    CHECK_EQ(nraised, 1);
    CHECK_EQ(after_raise, 1);
    ULONG_PTR fn = (ULONG_PTR)raise_from_here, at = (ULONG_PTR)raised.ExceptionAddress;
    CHECK(!(at > fn && at < fn + 512));
    ULONG_PTR rf = (ULONG_PTR)RaiseException;
    CHECK(at > rf && at < rf + 4096);

    CHECK(RemoveVectoredExceptionHandler(h));
}

/* ---- the top-level filter ---------------------------------------------------------------- */

#define FILTER_CODE 0xE0000B01u

static int nfiltered;
static DWORD filtered_code;
static ULONG_PTR filtered_arg;
static EXCEPTION_POINTERS *filtered_ep;

static LONG WINAPI filter_continue(EXCEPTION_POINTERS *ep)
{
    nfiltered++;
    filtered_ep = ep;
    filtered_code = ep->ExceptionRecord->ExceptionCode;
    filtered_arg =
        ep->ExceptionRecord->NumberParameters ? ep->ExceptionRecord->ExceptionInformation[0] : 0;
    return EXCEPTION_CONTINUE_EXECUTION;
}

static LONG WINAPI filter_other(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    return EXCEPTION_EXECUTE_HANDLER;
}

static void test_filter(void)
{
    LPTOP_LEVEL_EXCEPTION_FILTER old = SetUnhandledExceptionFilter(filter_continue);
    CHECK(SetUnhandledExceptionFilter(filter_other) == filter_continue);
    CHECK(SetUnhandledExceptionFilter(filter_continue) == filter_other);

    /* No vectored handler takes it: the filter does, and execution resumes. */
    ULONG_PTR arg = 0xabc;
    nfiltered = 0;
    RaiseException(FILTER_CODE, 0, 1, &arg);
    CHECK_EQ(nfiltered, 1);
    CHECK_EQ(filtered_code, FILTER_CODE);
    CHECK_EQ(filtered_arg, 0xabc);

    /* UnhandledExceptionFilter asks the filter and returns its verdict. */
    EXCEPTION_RECORD rec;
    CONTEXT ctx;
    memset(&rec, 0, sizeof(rec));
    memset(&ctx, 0, sizeof(ctx));
    rec.ExceptionCode = FILTER_CODE + 1;
    EXCEPTION_POINTERS ep = { &rec, &ctx };
    nfiltered = 0;
    CHECK_EQ(UnhandledExceptionFilter(&ep), EXCEPTION_CONTINUE_EXECUTION);
    CHECK_EQ(nfiltered, 1);
    CHECK_EQ(filtered_code, FILTER_CODE + 1);
    CHECK(filtered_ep != NULL && filtered_ep->ExceptionRecord == &rec);

    CHECK(SetUnhandledExceptionFilter(old) == filter_continue);
}

int main(void)
{
    at_init();
    test_order();
    test_remove_during_dispatch();
    test_handles();
    test_many_handlers();
    test_continue_handler();
    test_raise();
    test_filter();
    return wmt_report();
}
