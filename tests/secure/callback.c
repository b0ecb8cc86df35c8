/*
 * callback.c - the secure memory cache callbacks: registering and removing them, and the
 * protocol VirtualFree / VirtualProtect follow when a secured range refuses them (run every
 * callback in registration order on the range as the caller passed it, with no lock held;
 * retry once if one returned TRUE; otherwise fail with ERROR_INVALID_PARAMETER, changing
 * nothing).  Linux only: see tests/CMakeLists.txt.
 */
#include "../api/apitest.h"

#include <ntddk.h>
#include <winternl.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Three callbacks, each logging its calls and doing what its config says. */
#define NCB 3
#define MAXLOG 32

struct cb_config {
    HANDLE unsecure[4]; /* released (and cleared) on the next call */
    BOOLEAN ret;
    BOOLEAN query;  /* also VirtualQuery the range and protect it to PAGE_EXECUTE_READWRITE */
    BOOLEAN remove; /* remove this callback during its call */
};
static struct cb_config cfg[NCB];
static struct {
    int who;
    PVOID addr;
    SIZE_T size;
} calls[MAXLOG];
static int ncalls, self_remove_ok, query_ok;

static BOOLEAN run(int who, PVOID addr, SIZE_T size);
static BOOLEAN CALLBACK cb0(PVOID a, SIZE_T s)
{
    return run(0, a, s);
}
static BOOLEAN CALLBACK cb1(PVOID a, SIZE_T s)
{
    return run(1, a, s);
}
static BOOLEAN CALLBACK cb2(PVOID a, SIZE_T s)
{
    return run(2, a, s);
}
static const PSECURE_MEMORY_CACHE_CALLBACK cbs[NCB] = { cb0, cb1, cb2 };

static BOOLEAN run(int who, PVOID addr, SIZE_T size)
{
    struct cb_config *c = &cfg[who];
    if (ncalls < MAXLOG) {
        calls[ncalls].who = who;
        calls[ncalls].addr = addr;
        calls[ncalls].size = size;
    }
    ncalls++;
    for (int i = 0; i < 4; i++) {
        if (c->unsecure[i]) {
            MmUnsecureVirtualMemory(c->unsecure[i]);
            c->unsecure[i] = NULL;
        }
    }
    if (c->query) {
        MEMORY_BASIC_INFORMATION m;
        DWORD old;
        query_ok = VirtualQuery(addr, &m, sizeof(m)) == sizeof(m) && m.State == MEM_COMMIT &&
                   VirtualProtect(addr, PAGE, PAGE_EXECUTE_READWRITE, &old);
    }
    if (c->remove)
        self_remove_ok = RemoveSecureMemoryCacheCallback(cbs[who]);
    return c->ret;
}

static void reset(void)
{
    memset(cfg, 0, sizeof(cfg));
    memset(calls, 0, sizeof(calls));
    ncalls = 0;
}

/* The log holds exactly these calls (callback numbers), each on (addr, size). */
static void check_calls(const char *who, PVOID addr, SIZE_T size)
{
    int n = (int)strlen(who);
    CHECK_EQ(ncalls, n);
    for (int i = 0; i < n && i < ncalls && i < MAXLOG; i++) {
        CHECK_EQ(calls[i].who, who[i] - '0');
        CHECK_EQ(calls[i].addr, addr);
        CHECK_EQ(calls[i].size, size);
    }
}

static BYTE *commit(SIZE_T n)
{
    BYTE *p = VirtualAlloc(NULL, n * PAGE, MEM_COMMIT, PAGE_READWRITE);
    if (p)
        memset(p, 0x77, n * PAGE);
    return p;
}

static void test_registration(void)
{
    CHECK_EQ(RtlFlushSecureMemoryCache(NULL, 0), FALSE);
    CHECK_FAILS(AddSecureMemoryCacheCallback(NULL), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(RemoveSecureMemoryCacheCallback(NULL), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(RemoveSecureMemoryCacheCallback(cb0), ERROR_INVALID_PARAMETER);
    CHECK_EQ((ULONG)RtlRegisterSecureMemoryCacheCallback(NULL), (ULONG)STATUS_INVALID_PARAMETER);

    /* RtlFlushSecureMemoryCache: TRUE when one callback returned TRUE. */
    reset();
    CHECK(AddSecureMemoryCacheCallback(cb0));
    CHECK(AddSecureMemoryCacheCallback(cb1));
    CHECK_EQ(RtlFlushSecureMemoryCache((PVOID)0x10000, 0x2000), FALSE);
    check_calls("01", (PVOID)0x10000, 0x2000);
    reset();
    cfg[1].ret = TRUE;
    CHECK_EQ(RtlFlushSecureMemoryCache((PVOID)0x20000, 0x1000), TRUE);
    check_calls("01", (PVOID)0x20000, 0x1000);

    /* The same function twice: called twice, removed one registration at a time. */
    reset();
    CHECK(AddSecureMemoryCacheCallback(cb0));
    CHECK_EQ(RtlFlushSecureMemoryCache((PVOID)0x30000, 1), FALSE);
    check_calls("010", (PVOID)0x30000, 1);
    reset();
    CHECK(RemoveSecureMemoryCacheCallback(cb0));
    CHECK_EQ(RtlFlushSecureMemoryCache((PVOID)0x30000, 1), FALSE);
    CHECK_EQ(ncalls, 2);
    reset();
    CHECK(RemoveSecureMemoryCacheCallback(cb0));
    CHECK_EQ(RtlFlushSecureMemoryCache((PVOID)0x30000, 1), FALSE);
    check_calls("1", (PVOID)0x30000, 1);
    CHECK_FAILS(RemoveSecureMemoryCacheCallback(cb0), ERROR_INVALID_PARAMETER);
    CHECK(RemoveSecureMemoryCacheCallback(cb1));
    CHECK_FAILS(RemoveSecureMemoryCacheCallback(cb1), ERROR_INVALID_PARAMETER);
    reset();
    CHECK_EQ(RtlFlushSecureMemoryCache((PVOID)0x30000, 1), FALSE);
    CHECK_EQ(ncalls, 0);
}

/* No limit on registrations: every one of thousands is called by a flush, once. */
static BOOLEAN CALLBACK count_cb(PVOID a, SIZE_T s)
{
    (void)a, (void)s;
    ncalls++;
    return FALSE;
}

static void test_many(void)
{
    enum { MANY = 3000 };
    int added = 0;

    reset();
    for (int i = 0; i < MANY; i++)
        added += AddSecureMemoryCacheCallback(count_cb) != FALSE;
    CHECK_EQ(added, MANY);
    CHECK_EQ(RtlFlushSecureMemoryCache((PVOID)0x10000, 1), FALSE);
    CHECK_EQ(ncalls, MANY);
    for (int i = 0; i < added; i++)
        CHECK(RemoveSecureMemoryCacheCallback(count_cb));
    CHECK_FAILS(RemoveSecureMemoryCacheCallback(count_cb), ERROR_INVALID_PARAMETER);
}

/* The NT calls run the protocol themselves: a program (or the heap) calling them directly
 * gets the callbacks and the retry too, on the range it passed. */
static void test_nt_level(void)
{
    BYTE *p = commit(4);
    REQUIRE_VOID(p != NULL);
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb0));
    PVOID a;
    SIZE_T n;
    ULONG old;

    reset();
    cfg[0].unsecure[0] = MmSecureVirtualMemory(p, PAGE, PAGE_READWRITE);
    cfg[0].ret = TRUE;
    a = p, n = PAGE;
    CHECK_EQ(NtProtectVirtualMemory(NtCurrentProcess(), &a, &n, PAGE_READONLY, &old),
             STATUS_SUCCESS);
    check_calls("0", p, PAGE);
    CHECK_EQ(old, PAGE_READWRITE);

    reset();
    cfg[0].unsecure[0] = MmSecureVirtualMemory(p + PAGE, PAGE, PAGE_READONLY);
    cfg[0].ret = TRUE;
    a = p + PAGE, n = 2 * PAGE;
    CHECK_EQ(NtFreeVirtualMemory(NtCurrentProcess(), &a, &n, MEM_DECOMMIT), STATUS_SUCCESS);
    check_calls("0", p + PAGE, 2 * PAGE);
    CHECK(a == p + PAGE && n == 2 * PAGE);

    reset();
    cfg[0].unsecure[0] = MmSecureVirtualMemory(p + 3 * PAGE, PAGE, PAGE_READONLY);
    cfg[0].ret = TRUE;
    a = p, n = 0;
    CHECK_EQ(NtFreeVirtualMemory(NtCurrentProcess(), &a, &n, MEM_RELEASE), STATUS_SUCCESS);
    check_calls("0", p, 4 * PAGE);

    /* A view: the callbacks see the whole view, then the unmap goes through. */
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 2 * PAGE, NULL);
    BYTE *v = m ? MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    REQUIRE_VOID(v != NULL);
    reset();
    cfg[0].unsecure[0] = MmSecureVirtualMemory(v + PAGE, PAGE, PAGE_READWRITE);
    cfg[0].ret = TRUE;
    CHECK_EQ(NtUnmapViewOfSection(NtCurrentProcess(), v + PAGE + 5), STATUS_SUCCESS);
    check_calls("0", v, 2 * PAGE);
    CloseHandle(m);
    CHECK(RemoveSecureMemoryCacheCallback(cb0));
}

/* A callback that unsecures and returns TRUE lets the operation through, run on the range
 * as the caller passed it. */
static void test_unsecure_and_retry(void)
{
    BYTE *p = commit(4);
    REQUIRE_VOID(p != NULL);
    DWORD old;
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb0));

    reset();
    cfg[0].unsecure[0] = MmSecureVirtualMemory(p + PAGE, 2 * PAGE, PAGE_READWRITE);
    cfg[0].ret = TRUE;
    CHECK(VirtualProtect(p + PAGE + 3, PAGE, PAGE_READONLY, &old));
    check_calls("0", p + PAGE + 3, PAGE);
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_REGION(p + PAGE, p + PAGE, p, PAGE_READWRITE, 2 * PAGE, MEM_COMMIT, PAGE_READONLY,
                 MEM_PRIVATE);

    reset();
    cfg[0].unsecure[0] = MmSecureVirtualMemory(p + 2 * PAGE, PAGE, PAGE_READONLY);
    cfg[0].ret = TRUE;
    CHECK(VirtualFree(p + PAGE, 2 * PAGE, MEM_DECOMMIT));
    check_calls("0", p + PAGE, 2 * PAGE);
    CHECK_REGION(p + PAGE, p + PAGE, p, PAGE_READWRITE, 2 * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);

    /* Whole-allocation decommit and release: the callbacks see the allocation's size. */
    reset();
    cfg[0].unsecure[0] = MmSecureVirtualMemory(p + 3 * PAGE, PAGE, PAGE_READWRITE);
    cfg[0].ret = TRUE;
    CHECK(VirtualFree(p, 0, MEM_DECOMMIT));
    check_calls("0", p, 4 * PAGE);
    CHECK_REGION(p, p, p, PAGE_READWRITE, 4 * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(VirtualAlloc(p, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE) == p);

    reset();
    cfg[0].unsecure[0] = MmSecureVirtualMemory(p, PAGE, PAGE_READWRITE);
    cfg[0].unsecure[1] = MmSecureVirtualMemory(p + 3 * PAGE, 1, PAGE_READONLY);
    cfg[0].ret = TRUE;
    CHECK(VirtualFree(p + 5, 0, MEM_RELEASE));
    check_calls("0", p + 5, 4 * PAGE);
    CHECK_FREE(p, 4 * PAGE);
    CHECK(RemoveSecureMemoryCacheCallback(cb0));
}

/* Failures: no callback said TRUE, or the retry is refused too.  Nothing changes. */
static void test_refused(void)
{
    BYTE *p = commit(4);
    REQUIRE_VOID(p != NULL);
    DWORD old;
    HANDLE h1 = MmSecureVirtualMemory(p, 2 * PAGE, PAGE_READWRITE);
    HANDLE h2 = MmSecureVirtualMemory(p + PAGE, PAGE, PAGE_READONLY);
    REQUIRE_VOID(h1 && h2);
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb0));
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb1));

    /* FALSE from everyone: one round, no retry. */
    reset();
    CHECK_FAILS_NOCHANGE(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, p, 4 * PAGE);
    check_calls("01", p, 4 * PAGE);
    reset();
    CHECK_FAILS_NOCHANGE(VirtualProtect(p, 4 * PAGE, PAGE_NOACCESS, &old), ERROR_INVALID_PARAMETER,
                         p, 4 * PAGE);
    check_calls("01", p, 4 * PAGE);

    /* TRUE after unsecuring one of two secures: the retry is refused, no second round. */
    reset();
    cfg[1].unsecure[0] = h1;
    cfg[1].ret = TRUE;
    CHECK_FAILS_NOCHANGE(VirtualFree(p + PAGE, PAGE, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p,
                         4 * PAGE);
    check_calls("01", p + PAGE, PAGE);
    CHECK_EQ(cfg[1].unsecure[0], NULL);
    CHECK_REGION(p, p, p, PAGE_READWRITE, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

    /* TRUE without unsecuring anything: the same. */
    reset();
    cfg[0].ret = TRUE;
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + PAGE, 1, PAGE_NOACCESS, &old), ERROR_INVALID_PARAMETER,
                         p, 4 * PAGE);
    check_calls("01", p + PAGE, 1);

    /* An invalid protection is not a secure's refusal: no callback. */
    reset();
    cfg[0].ret = TRUE;
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + PAGE, PAGE, 0, &old), ERROR_INVALID_PARAMETER, p,
                         4 * PAGE);
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + PAGE, PAGE, PAGE_WRITECOPY, &old),
                         ERROR_INVALID_PARAMETER, p, 4 * PAGE);
    CHECK_EQ(ncalls, 0);

    /* The NT call runs the protocol itself (so every caller gets it, the heap included):
     * a refused release calls each callback once, on the whole allocation, and is retried;
     * still secured, it stays refused. */
    PVOID a = p;
    SIZE_T n = 0;
    CHECK_EQ(NtFreeVirtualMemory(NtCurrentProcess(), &a, &n, MEM_RELEASE),
             STATUS_INVALID_PAGE_PROTECTION);
    check_calls("01", p, 4 * PAGE);
    CHECK(a == p && n == 0); /* a refused call writes no output */
    reset();
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + PAGE, PAGE, PAGE_WRITECOPY, &old),
                         ERROR_INVALID_PARAMETER, p, 4 * PAGE);
    /* The refusal the NT call above met must not make this invalid protection flush. */
    CHECK_EQ(ncalls, 0);

    /* Changes a secure allows call nobody. */
    reset();
    CHECK(VirtualProtect(p, 2 * PAGE, PAGE_EXECUTE_READWRITE, &old));
    CHECK(VirtualFree(p + 2 * PAGE, 2 * PAGE, MEM_DECOMMIT));
    CHECK(VirtualProtect(p + PAGE, PAGE, PAGE_EXECUTE_READ, &old));
    CHECK_EQ(ncalls, 0);
    CHECK_FAILS_NOCHANGE(VirtualProtect(p + PAGE, PAGE, PAGE_EXECUTE, &old),
                         ERROR_INVALID_PARAMETER, p, 4 * PAGE);
    check_calls("01", p + PAGE, PAGE);
    for (SIZE_T i = 0; i < 2 * PAGE; i += 97)
        CHECK_EQ(p[i], 0x77);

    /* The first says FALSE, the second unsecures: success. */
    reset();
    cfg[0].ret = FALSE;
    cfg[1].unsecure[0] = h2;
    cfg[1].ret = TRUE;
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    check_calls("01", p, 4 * PAGE);
    CHECK_FREE(p, 4 * PAGE);
    CHECK(RemoveSecureMemoryCacheCallback(cb1));
    CHECK(RemoveSecureMemoryCacheCallback(cb0));
}

/* Callbacks run in registration order with no lock held: they may query, loosen the
 * protection and unsecure. */
static void test_order_and_locks(void)
{
    BYTE *p = commit(2);
    REQUIRE_VOID(p != NULL);
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb2));
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb0));
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb1));
    HANDLE h = MmSecureVirtualMemory(p, 2 * PAGE, PAGE_READWRITE);
    REQUIRE_VOID(h != NULL);

    reset();
    query_ok = 0;
    cfg[2].query = TRUE;
    cfg[1].unsecure[0] = h;
    cfg[1].ret = TRUE;
    CHECK(VirtualFree(p, 2 * PAGE, MEM_DECOMMIT));
    check_calls("201", p, 2 * PAGE); /* the protection in cb2 called nobody */
    CHECK(query_ok);
    CHECK_REGION(p, p, p, PAGE_READWRITE, 2 * PAGE, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK(RemoveSecureMemoryCacheCallback(cb0));
    CHECK(RemoveSecureMemoryCacheCallback(cb1));
    CHECK(RemoveSecureMemoryCacheCallback(cb2));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

/* VirtualLock is not a secure. */
static void test_locked(void)
{
    BYTE *p = commit(2);
    DWORD old;
    REQUIRE_VOID(p != NULL);
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb0));
    reset();
    if (VirtualLock(p, 2 * PAGE)) { /* RLIMIT_MEMLOCK may forbid it */
        CHECK(VirtualProtect(p, PAGE, PAGE_NOACCESS, &old));
        CHECK(VirtualFree(p + PAGE, PAGE, MEM_DECOMMIT));
        CHECK(VirtualFree(p, 0, MEM_RELEASE));
        CHECK_FREE(p, 2 * PAGE);
    } else {
        CHECK(VirtualFree(p, 0, MEM_RELEASE));
    }
    CHECK_EQ(ncalls, 0);
    CHECK(RemoveSecureMemoryCacheCallback(cb0));
}

/* A callback removing itself during the flush: the removal succeeds, the flush goes on to
 * the next callback, and the next flush does not call it. */
static void test_self_remove(void)
{
    BYTE *p = commit(1);
    REQUIRE_VOID(p != NULL);
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb0));
    REQUIRE_VOID(AddSecureMemoryCacheCallback(cb1));
    HANDLE h = MmSecureVirtualMemory(p, PAGE, PAGE_READONLY);
    REQUIRE_VOID(h != NULL);

    reset();
    self_remove_ok = -1;
    cfg[0].remove = TRUE;
    CHECK_FAILS_NOCHANGE(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, p, PAGE);
    CHECK_EQ(self_remove_ok, TRUE);
    check_calls("01", p, PAGE);
    reset();
    cfg[1].unsecure[0] = h;
    cfg[1].ret = TRUE;
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    check_calls("1", p, PAGE);
    CHECK_FAILS(RemoveSecureMemoryCacheCallback(cb0), ERROR_INVALID_PARAMETER);
    CHECK(RemoveSecureMemoryCacheCallback(cb1));
}

static BOOLEAN CALLBACK remove_cb1(PVOID a, SIZE_T s)
{
    (void)a;
    (void)s;
    return RemoveSecureMemoryCacheCallback(cb1) ? FALSE : TRUE;
}

/* A callback removing a later callback of the same flush: must not wait for itself.  Run in
 * a child so a hang shows as a failure (SIGALRM) rather than stopping this program. */
static void test_remove_other(void)
{
    pid_t pid = fork();
    REQUIRE_VOID(pid >= 0);
    if (pid == 0) {
        alarm(5);
        reset();
        if (!AddSecureMemoryCacheCallback(remove_cb1) || !AddSecureMemoryCacheCallback(cb1))
            _exit(2);
        BOOLEAN r = RtlFlushSecureMemoryCache((PVOID)0x10000, PAGE);
        /* cb1 was removed before its turn: not called; remove_cb1 returned FALSE. */
        _exit(r == FALSE && ncalls == 0 && !RemoveSecureMemoryCacheCallback(cb1) ? 0 : 3);
    }
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), 0);
}

int main(void)
{
    alarm(60);
    at_init();
    test_registration();
    test_many();
    test_nt_level();
    test_unsecure_and_retry();
    test_refused();
    test_order_and_locks();
    test_locked();
    test_self_remove();
    /* A callback removing a callback later in the same flush must not wait for itself. */
    test_remove_other();
    return wmt_report();
}
