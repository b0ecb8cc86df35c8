/*
 * Fault: WINMEM_TRACE.  The switch is read once, at load, so each case runs this program again
 * (exec, not fork) with the environment under test; the child makes a fixed list of calls,
 * some failing, takes one access violation that a vectored handler fixes, and writes the
 * lines it expects (built from the addresses and handles it got) to a file the parent
 * compares with what was traced, byte for byte.
 * - WINMEM_TRACE=all: every family's lines on stderr, in call order (a callback's and an
 *   exception handler's calls before the line of the call they ran in).
 * - a subset (heap,except): only those families' lines.
 * - WINMEM_TRACE_FILE: the lines go to the file (appended), nothing to stderr.
 * - WINMEM_TRACE unset, or empty: nothing at all on stderr.
 * - an unknown family: one warning naming it, the known ones still traced.
 * - two threads tracing at once: every line whole (one write each).
 * - after fork(), the child's lines carry the child's id.
 * - a handler that leaves a traced call by longjmp: the last error is the thread's own (not
 *   the tracer's marker) and later calls are traced.
 */
#define _GNU_SOURCE
#include <windows.h>
#include <winternl.h>
#include <ntddk.h>

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wmtest.h"

enum { VIRTUAL = 1, SECTION = 2, EXCEPT = 4, SECURE = 8, HEAP = 16 };

/* ---- the child ------------------------------------------------------------------------- */

static unsigned families;
static char expected[32768];
static size_t expected_len;

static void expect(unsigned family, const char *fmt, ...)
{
    va_list ap;
    if (!(families & family))
        return;
    expected_len += (size_t)snprintf(expected + expected_len, sizeof(expected) - expected_len,
                                     "winmem %ld: ", (long)syscall(SYS_gettid));
    va_start(ap, fmt);
    expected_len +=
        (size_t)vsnprintf(expected + expected_len, sizeof(expected) - expected_len, fmt, ap);
    va_end(ap);
    expected_len +=
        (size_t)snprintf(expected + expected_len, sizeof(expected) - expected_len, "\n");
}

static unsigned long u(const void *p)
{
    return (unsigned long)(uintptr_t)p;
}

static char *page;
static void *volatile fault_pc; /* set in the handler */
static DWORD handler_old;

static LONG CALLBACK fix_page(EXCEPTION_POINTERS *ep)
{
    fault_pc = ep->ExceptionRecord->ExceptionAddress;
    VirtualProtect(page, 1, PAGE_READWRITE, &handler_old);
    return EXCEPTION_CONTINUE_EXECUTION;
}

static BOOLEAN CALLBACK cache_callback(PVOID addr, SIZE_T size)
{
    (void)addr;
    (void)size;
    return FALSE;
}

static void child_calls(void)
{
    DWORD old = 0;
    MEMORY_BASIC_INFORMATION mbi;

    /* virtual */
    page = VirtualAlloc(NULL, 0x10000, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    expect(VIRTUAL,
           "VirtualAlloc(addr=NULL, size=0x10000, type=MEM_COMMIT|MEM_RESERVE, "
           "prot=PAGE_READWRITE) = 0x%lx",
           u(page));
    VirtualProtect(page, 0x1000, PAGE_READONLY, &old);
    expect(VIRTUAL,
           "VirtualProtect(addr=0x%lx, size=0x1000, prot=PAGE_READONLY, old=0x%lx) = TRUE; "
           "*old=PAGE_READWRITE",
           u(page), u(&old));
    SetLastError(1234);
    VirtualFree(page, 0x1000, MEM_RELEASE);
    expect(VIRTUAL,
           "VirtualFree(addr=0x%lx, size=0x1000, type=MEM_RELEASE) = FALSE, last error "
           "ERROR_INVALID_PARAMETER (87)",
           u(page));
    VirtualProtect(page + 0x10000, 0x1000, PAGE_READONLY, &old);
    expect(VIRTUAL,
           "VirtualProtect(addr=0x%lx, size=0x1000, prot=PAGE_READONLY, old=0x%lx) = FALSE, "
           "last error ERROR_INVALID_ADDRESS (487)",
           u(page + 0x10000), u(&old));
    VirtualAlloc(NULL, 0x1000, MEM_COMMIT | 0x10000000, PAGE_READWRITE | PAGE_GUARD | 0x8000000);
    expect(VIRTUAL,
           "VirtualAlloc(addr=NULL, size=0x1000, type=MEM_COMMIT|0x10000000, "
           "prot=PAGE_READWRITE|PAGE_GUARD|0x8000000) = NULL, last error ERROR_INVALID_PARAMETER "
           "(87)");
    VirtualQuery(page, &mbi, sizeof(mbi));
    expect(VIRTUAL, "VirtualQuery(addr=0x%lx, info=0x%lx, len=0x30) = 0x30", u(page), u(&mbi));
    /* A call that leaves the last error alone shows none, and the value survives. */
    CHECK_EQ(GetLastError(), ERROR_INVALID_PARAMETER);

    PVOID base = NULL;
    SIZE_T size = 0x10000;
    NtAllocateVirtualMemory(GetCurrentProcess(), &base, 0, &size, MEM_RESERVE, PAGE_NOACCESS);
    expect(VIRTUAL,
           "NtAllocateVirtualMemory(process=-1, *base=NULL, zero_bits=0x0, *size=0x10000, "
           "type=MEM_RESERVE, prot=PAGE_NOACCESS) = STATUS_SUCCESS; *base=0x%lx, *size=0x10000",
           u(base));
    size = 0x1000;
    NtFreeVirtualMemory(GetCurrentProcess(), &base, &size, 0);
    expect(VIRTUAL,
           "NtFreeVirtualMemory(process=-1, *base=0x%lx, *size=0x1000, type=0) = "
           "STATUS_INVALID_PARAMETER_4 (0xc00000f2)",
           u(base));
    size = 0;
    NtFreeVirtualMemory(GetCurrentProcess(), &base, &size, MEM_RELEASE);
    expect(VIRTUAL,
           "NtFreeVirtualMemory(process=-1, *base=0x%lx, *size=0x0, type=MEM_RELEASE) = "
           "STATUS_SUCCESS; *base=0x%lx, *size=0x10000",
           u(base), u(base));

    /* section */
    WCHAR wname[64];
    char name[64];
    snprintf(name, sizeof(name), "Local\\wmtrace%d", (int)getpid());
    for (size_t i = 0; i < sizeof(name); i++)
        wname[i] = (WCHAR)name[i];
    HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_COMMIT, 0,
                                  0x10000, wname);
    expect(SECTION,
           "CreateFileMappingW(file=-1, sa=NULL, prot=PAGE_READWRITE|SEC_COMMIT, size_hi=0x0, "
           "size_lo=0x10000, name=\"Local\\\\wmtrace%d\") = 0x%lx, last error ERROR_SUCCESS (0)",
           (int)getpid(), u(m));
    HANDLE m2 = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0x10000, name);
    expect(SECTION,
           "CreateFileMappingA(file=-1, sa=NULL, prot=PAGE_READWRITE, size_hi=0x0, "
           "size_lo=0x10000, name=\"Local\\\\wmtrace%d\") = 0x%lx, last error "
           "ERROR_ALREADY_EXISTS (183)",
           (int)getpid(), u(m2));
    void *view = MapViewOfFile(m, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    expect(SECTION,
           "MapViewOfFile(mapping=0x%lx, access=FILE_MAP_WRITE|FILE_MAP_READ, off_hi=0x0, "
           "off_lo=0x0, size=0x0) = 0x%lx",
           u(m), u(view));
    UnmapViewOfFile(view);
    expect(SECTION, "UnmapViewOfFile(addr=0x%lx) = TRUE", u(view));
    UnmapViewOfFile(view);
    expect(SECTION, "UnmapViewOfFile(addr=0x%lx) = FALSE, last error ERROR_INVALID_ADDRESS (487)",
           u(view));
    OpenFileMappingA(FILE_MAP_READ, FALSE, "Local\\wmtrace-none");
    expect(SECTION,
           "OpenFileMappingA(access=FILE_MAP_READ, inherit=0, name=\"Local\\\\wmtrace-none\") = "
           "NULL, last error ERROR_FILE_NOT_FOUND (2)");
    CloseHandle(m2);
    CloseHandle(m);

    /* except: the handler's own call is traced, between dispatch and outcome */
    PVOID veh = AddVectoredExceptionHandler(1, fix_page);
    expect(EXCEPT, "AddVectoredExceptionHandler(first=1, handler=0x%lx) = 0x%lx", u(fix_page),
           u(veh));
    *(volatile char *)page = 1;
    expect(EXCEPT,
           "exception STATUS_ACCESS_VIOLATION (0xc0000005) at 0x%lx, writing 0x%lx: dispatching",
           u(fault_pc), u(page));
    expect(VIRTUAL,
           "VirtualProtect(addr=0x%lx, size=0x1, prot=PAGE_READWRITE, old=0x%lx) = TRUE; "
           "*old=PAGE_READONLY",
           u(page), u(&handler_old));
    expect(EXCEPT,
           "exception STATUS_ACCESS_VIOLATION (0xc0000005) = EXCEPTION_CONTINUE_EXECUTION from "
           "vectored handler 0x%lx",
           u(fix_page));
    RemoveVectoredExceptionHandler(veh);
    expect(EXCEPT, "RemoveVectoredExceptionHandler(handle=0x%lx) = 1", u(veh));
    RemoveVectoredExceptionHandler(veh);
    expect(EXCEPT, "RemoveVectoredExceptionHandler(handle=0x%lx) = 0", u(veh));

    /* secure: the callback runs inside VirtualFree, so its line comes first */
    AddSecureMemoryCacheCallback(cache_callback);
    expect(SECURE, "AddSecureMemoryCacheCallback(callback=0x%lx) = TRUE", u(cache_callback));
    HANDLE sec = MmSecureVirtualMemory(page, 0x1000, PAGE_READWRITE);
    expect(SECURE, "MmSecureVirtualMemory(addr=0x%lx, size=0x1000, probe=PAGE_READWRITE) = 0x%lx",
           u(page), u(sec));
    VirtualFree(page, 0, MEM_RELEASE);
    expect(SECURE, "secure memory cache callback 0x%lx(addr=0x%lx, size=0x10000) = FALSE",
           u(cache_callback), u(page));
    expect(VIRTUAL,
           "VirtualFree(addr=0x%lx, size=0x0, type=MEM_RELEASE) = FALSE, last error "
           "ERROR_INVALID_PARAMETER (87)",
           u(page));
    MmUnsecureVirtualMemory(sec);
    expect(SECURE, "MmUnsecureVirtualMemory(handle=0x%lx)", u(sec));
    RemoveSecureMemoryCacheCallback(cache_callback);
    expect(SECURE, "RemoveSecureMemoryCacheCallback(callback=0x%lx) = TRUE", u(cache_callback));
    RemoveSecureMemoryCacheCallback(cache_callback);
    expect(SECURE,
           "RemoveSecureMemoryCacheCallback(callback=0x%lx) = FALSE, last error "
           "ERROR_INVALID_PARAMETER (87)",
           u(cache_callback));

    /* heap: the heap's own page calls are not the program's, so not traced */
    HANDLE heap = HeapCreate(0, 0, 0x100000);
    expect(HEAP, "HeapCreate(options=0, initial=0x0, max=0x100000) = 0x%lx", u(heap));
    void *block = HeapAlloc(heap, HEAP_ZERO_MEMORY, 100);
    expect(HEAP, "HeapAlloc(heap=0x%lx, flags=HEAP_ZERO_MEMORY, bytes=0x64) = 0x%lx", u(heap),
           u(block));
    HeapSize(heap, 0, block);
    expect(HEAP, "HeapSize(heap=0x%lx, flags=0, mem=0x%lx) = 0x64", u(heap), u(block));
    HeapFree(heap, 0, block);
    expect(HEAP, "HeapFree(heap=0x%lx, flags=0, mem=0x%lx) = TRUE", u(heap), u(block));
    HeapAlloc(heap, 0, 0x200000);
    expect(HEAP,
           "HeapAlloc(heap=0x%lx, flags=0, bytes=0x200000) = NULL, last error "
           "ERROR_NOT_ENOUGH_MEMORY (8)",
           u(heap));
    HeapDestroy(heap);
    expect(HEAP, "HeapDestroy(heap=0x%lx) = TRUE", u(heap));
    HLOCAL l = LocalAlloc(LMEM_MOVEABLE | LMEM_ZEROINIT, 16);
    expect(HEAP, "LocalAlloc(flags=LMEM_MOVEABLE|LMEM_ZEROINIT, bytes=0x10) = 0x%lx", u(l));
    void *lp = LocalLock(l);
    expect(HEAP, "LocalLock(mem=0x%lx) = 0x%lx", u(l), u(lp));
    LocalSize(l);
    expect(HEAP, "LocalSize(mem=0x%lx) = 0x10", u(l));
    LocalUnlock(l);
    expect(HEAP, "LocalUnlock(mem=0x%lx) = FALSE, last error ERROR_SUCCESS (0)", u(l));
    LocalFree(l);
    expect(HEAP, "LocalFree(mem=0x%lx) = NULL", u(l));
    GlobalSize(l);
    expect(HEAP, "GlobalSize(mem=0x%lx) = 0x0, last error ERROR_INVALID_HANDLE (6)", u(l));

    /* the write watches' Nt calls and the process-memory copies */
    BYTE *ww =
        VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    expect(VIRTUAL,
           "VirtualAlloc(addr=NULL, size=0x10000, type=MEM_COMMIT|MEM_RESERVE|MEM_WRITE_WATCH, "
           "prot=PAGE_READWRITE) = 0x%lx",
           u(ww));
    NtResetWriteWatch(GetCurrentProcess(), ww, 0x10000);
    expect(VIRTUAL, "NtResetWriteWatch(process=-1, base=0x%lx, size=0x10000) = STATUS_SUCCESS",
           u(ww));
    SIZE_T copied = 0;
    static const char text[] = "abcd";
    WriteProcessMemory(GetCurrentProcess(), ww, text, 4, &copied);
    expect(VIRTUAL,
           "WriteProcessMemory(process=-1, base=0x%lx, buffer=0x%lx, size=0x4, *count=0x0) = "
           "TRUE; *count=0x4",
           u(ww), u(text));
    VirtualFree(ww, 0, MEM_RELEASE);
    expect(VIRTUAL, "VirtualFree(addr=0x%lx, size=0x0, type=MEM_RELEASE) = TRUE", u(ww));

    VirtualFree(page, 0, MEM_RELEASE);
    expect(VIRTUAL, "VirtualFree(addr=0x%lx, size=0x0, type=MEM_RELEASE) = TRUE", u(page));
}

static void *query_loop(void *arg)
{
    (void)arg;
    MEMORY_BASIC_INFORMATION mbi;
    for (int i = 0; i < 2000; i++)
        VirtualQuery((void *)(uintptr_t)-4096, &mbi, sizeof(mbi)); /* fails: a long line */
    return NULL;
}

static sigjmp_buf escape;

static LONG CALLBACK leave_by_longjmp(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode == STATUS_NO_MEMORY)
        siglongjmp(escape, 1);
    return EXCEPTION_CONTINUE_SEARCH;
}

/* A handler leaving a traced call by longjmp: the thread keeps its last error and goes on
 * tracing. */
static int child_longjmp(const char *out)
{
    families = HEAP;
    HANDLE heap = HeapCreate(HEAP_GENERATE_EXCEPTIONS, 0, 0x10000);
    expect(HEAP, "HeapCreate(options=HEAP_GENERATE_EXCEPTIONS, initial=0x0, max=0x10000) = 0x%lx",
           u(heap));
    PVOID h = AddVectoredExceptionHandler(1, leave_by_longjmp);
    SetLastError(4242);
    if (!sigsetjmp(escape, 1)) {
        HeapAlloc(heap, 0, 0x100000); /* raises STATUS_NO_MEMORY; never returns */
        return 120;
    }
    RemoveVectoredExceptionHandler(h);
    CHECK_EQ(GetLastError(), 4242);
    HeapDestroy(heap);
    expect(HEAP, "HeapDestroy(heap=0x%lx) = TRUE", u(heap));
    FILE *f = fopen(out, "w");
    if (!f || fwrite(expected, 1, expected_len, f) != expected_len || fclose(f))
        return 121;
    return wmt_failed ? 122 : 0;
}

static int child(const char *what, const char *fam, const char *out)
{
    if (!strcmp(what, "longjmp"))
        return child_longjmp(out);
    if (!strcmp(what, "fork")) {
        MEMORY_BASIC_INFORMATION mbi;
        const char *line = "winmem %d: VirtualQuery(addr=0xfffffffffffff000, info=0x%lx, len=0x30) "
                           "= 0x0, last error ERROR_INVALID_PARAMETER (87)\n";
        VirtualQuery((void *)(uintptr_t)-4096, &mbi, sizeof(mbi));
        pid_t pid = fork();
        if (pid == 0) {
            VirtualQuery((void *)(uintptr_t)-4096, &mbi, sizeof(mbi));
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        FILE *f = fopen(out, "w");
        if (!f)
            return 121;
        fprintf(f, line, (int)getpid(), u(&mbi));
        fprintf(f, line, (int)pid, u(&mbi));
        return fclose(f) ? 121 : 0;
    }
    if (!strcmp(what, "threads")) {
        pthread_t t;
        pthread_create(&t, NULL, query_loop, NULL);
        query_loop(NULL);
        pthread_join(t, NULL);
        return 0;
    }
    for (const char *p = fam; *p;) {
        size_t n = strcspn(p, ",");
        static const char *const names[] = { "virtual", "section", "except", "secure", "heap" };
        for (unsigned i = 0; i < 5; i++)
            if (strlen(names[i]) == n && !strncmp(names[i], p, n))
                families |= 1u << i;
        if (n == 3 && !strncmp(p, "all", 3))
            families = ~0u;
        p += n + (p[n] == ',');
    }
    child_calls();
    FILE *f = fopen(out, "w");
    if (!f || fwrite(expected, 1, expected_len, f) != expected_len || fclose(f))
        return 121;
    return wmt_failed ? 122 : 0;
}

/* ---- the parent ------------------------------------------------------------------------ */

static char self[4096], dir[64];

extern char **environ;

/* Run the child with this environment less any WINMEM_TRACE* and plus env (a NULL-terminated
 * "NAME=value" list: sanitizer options and the like pass through); its stderr into err. */
static int run(const char *what, const char *fam, char *const env[], char *err, size_t errsz)
{
    static char *full[512];
    size_t k = 0;
    for (char **e = environ; *e && k < 500; e++)
        if (strncmp(*e, "WINMEM_TRACE", 12))
            full[k++] = *e;
    for (size_t i = 0; env[i]; i++)
        full[k++] = env[i];
    full[k] = NULL;
    int fds[2];
    char out[128];
    snprintf(out, sizeof(out), "%s/expected", dir);
    if (pipe(fds))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        char *argv[] = { self, (char *)"child", (char *)what, (char *)fam, out, NULL };
        execve(self, argv, full);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], err + n, errsz - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t slurp(const char *path, char *buf, size_t size)
{
    size_t n = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        n = fread(buf, 1, size - 1, f);
        fclose(f);
    }
    buf[n] = 0;
    return n;
}

static char err[1 << 20], want[32768], got[1 << 20];

static void check_same(const char *what, const char *a, const char *b)
{
    if (!strcmp(a, b)) {
        wmt_passed++;
        return;
    }
    WMT_FAIL("%s: traced lines differ\n--- expected\n%s--- traced\n%s", what, a, b);
}

static void case_stderr(const char *trace, const char *fam)
{
    char var[64], path[128];
    snprintf(var, sizeof(var), "WINMEM_TRACE=%s", trace);
    char *env[] = { var, NULL };
    snprintf(path, sizeof(path), "%s/expected", dir);
    CHECK_EQ(run("calls", fam, env, err, sizeof(err)), 0);
    slurp(path, want, sizeof(want));
    CHECK(want[0] != 0);
    check_same(trace, want, err);
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "child"))
        return child(argv[2], argv[3], argv[4]);

    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    snprintf(dir, sizeof(dir), "/tmp/wmtraceXXXXXX");
    if (!mkdtemp(dir))
        return 1;
    char path[128], expected_path[128];
    snprintf(path, sizeof(path), "%s/trace.log", dir);
    snprintf(expected_path, sizeof(expected_path), "%s/expected", dir);

    /* Every family, and subsets. */
    case_stderr("all", "all");
    case_stderr("virtual,section,except,secure,heap", "all");
    case_stderr("heap,except", "heap,except");
    case_stderr("section", "section");

    /* To a file: appended, nothing on stderr. */
    {
        char var[] = "WINMEM_TRACE=all", file[160];
        snprintf(file, sizeof(file), "WINMEM_TRACE_FILE=%s", path);
        char *env[] = { var, file, NULL };
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CHECK(fd >= 0 && write(fd, "before\n", 7) == 7);
        close(fd);
        CHECK_EQ(run("calls", "all", env, err, sizeof(err)), 0);
        CHECK_EQ(strlen(err), 0);
        slurp(expected_path, want + 7, sizeof(want) - 7);
        memcpy(want, "before\n", 7);
        slurp(path, got, sizeof(got));
        check_same("WINMEM_TRACE_FILE", want, got);
    }

    /* Off: unset, empty, or naming no family: not a byte. */
    {
        char *env[] = { NULL };
        CHECK_EQ(run("calls", "", env, err, sizeof(err)), 0);
        CHECK_EQ(strlen(err), 0);
        char empty[] = "WINMEM_TRACE=";
        char *env2[] = { empty, NULL };
        CHECK_EQ(run("calls", "", env2, err, sizeof(err)), 0);
        CHECK_EQ(strlen(err), 0);
    }

    /* An unknown family is named once; the rest still trace. */
    {
        char var[] = "WINMEM_TRACE=heap,bogus";
        char *env[] = { var, NULL };
        CHECK_EQ(run("calls", "heap", env, err, sizeof(err)), 0);
        slurp(expected_path, want, sizeof(want));
        const char *warn = "winmem: WINMEM_TRACE: unknown family 'bogus' (known: virtual, "
                           "section, except, secure, heap, all)\n";
        CHECK(!strncmp(err, warn, strlen(warn)));
        check_same("heap,bogus", want, err + strlen(warn));
    }

    /* Two threads at once: 4000 whole lines. */
    {
        char var[] = "WINMEM_TRACE=virtual";
        char *env[] = { var, NULL };
        CHECK_EQ(run("threads", "", env, err, sizeof(err)), 0);
        int lines = 0, whole = 0;
        for (char *p = err; *p;) {
            char *end = strchr(p, '\n');
            if (!end)
                break;
            *end = 0;
            lines++;
            const char *tail = ", last error ERROR_INVALID_PARAMETER (87)";
            size_t len = (size_t)(end - p), tl = strlen(tail);
            if (!strncmp(p, "winmem ", 7) && strstr(p, ": VirtualQuery(addr=0xfffffffffffff000") &&
                len > tl && !strcmp(end - tl, tail))
                whole++;
            p = end + 1;
        }
        CHECK_EQ(lines, 4000);
        CHECK_EQ(whole, 4000);
    }

    /* A handler leaving a traced call by longjmp. */
    {
        char var[] = "WINMEM_TRACE=heap";
        char *env[] = { var, NULL };
        CHECK_EQ(run("longjmp", "heap", env, err, sizeof(err)), 0);
        slurp(expected_path, want, sizeof(want));
        check_same("longjmp", want, err);
    }

    /* fork: the parent's line, then the child's, each with its own id. */
    {
        char var[] = "WINMEM_TRACE=virtual";
        char *env[] = { var, NULL };
        CHECK_EQ(run("fork", "", env, err, sizeof(err)), 0);
        slurp(expected_path, want, sizeof(want));
        check_same("fork", want, err);
    }

    unlink(path);
    unlink(expected_path);
    rmdir(dir);
    return wmt_report();
}
