/*
 * signal.c - the signal entry: SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP become Windows
 * exceptions.  The handler builds the EXCEPTION_RECORD and CONTEXT, asks mm/fault.c what a
 * memory fault means (a guard page, a stale fault to retry, an access violation), runs the
 * dispatch, and writes the CONTEXT back; unhandled, it chains to the handler that was
 * installed before winmem (ASan, a JVM, a debugger's helper), and only then ends the process.
 *
 * Why the handler is async-signal-safe: it uses stack buffers, atomics, raw system calls
 * (mprotect, futex, write, getrlimit), memset/memcpy and the model's lock-free reads; the VM lock
 * it may take is a futex lock that no thread holds while touching caller memory, so the faulting
 * thread never waits on itself.
 *
 * The handler runs on a per-thread alternate stack, so a stack overflow can still be
 * reported.  Nested exceptions (a handler that faults) stack signal frames on it, and a frame
 * holds the CPU's whole register state (over 3 KiB with AVX-512), so the stack is sized from
 * the machine's frame size and the nesting limit; a thread's existing alternate stack (its
 * own, or a sanitizer's) is kept only when it is at least as big.  Before running anything,
 * the handler checks that the stack it runs on has room for one more level: if not, the
 * process ends with the report now, rather than silently when the kernel finds no room for
 * the next frame.
 */
#include "except.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "mm/mm.h"

/* Stack one nesting level may take beyond the kernel's signal frame: winmem's own frames
 * (the EXCEPTION_RECORD and CONTEXT, bigger under sanitizers) and the handlers'. */
#define LEVEL_BUDGET (24u << 10)
/* What ending the process with the report takes. */
#define REPORT_RESERVE (4u << 10)
#define ALT_STACK_MIN (256u << 10)
/* How near the stack pointer a fault must be to count as running off the stack. */
#define STACK_SLOP (64u << 10)

static const int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
static struct sigaction previous[sizeof(signals) / sizeof(signals[0])];
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t alt_key;

/* Per thread: the alternate stack is set up, and the last retried fault (to stop a fault
 * the model says should not happen from looping forever): its address, the model's sequence
 * count after it was classified, and how many times in a row it recurred with the model
 * unchanged in between. */
static __thread bool thread_ready __attribute__((tls_model("initial-exec")));
static __thread uintptr_t retry_addr __attribute__((tls_model("initial-exec")));
static __thread uint32_t retry_seq __attribute__((tls_model("initial-exec")));
static __thread unsigned retry_count __attribute__((tls_model("initial-exec")));
/* The thread's alternate stack as set up by wm_signal_init (winmem's own, or one it kept), so
 * the handler knows its room without a system call; and the one winmem's replaced. */
static __thread struct wm_os_altstack alt_known __attribute__((tls_model("initial-exec")));
static __thread struct wm_os_altstack alt_prev __attribute__((tls_model("initial-exec")));
static __thread bool alt_owned __attribute__((tls_model("initial-exec")));

static size_t level_size(void)
{
    return wm_os_signal_frame_size() + LEVEL_BUDGET;
}

static int slot_of(int sig)
{
    for (unsigned i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (signals[i] == sig)
            return (int)i;
    return 0;
}

/* Hand the signal to whoever had it before winmem; false when that is the default action. */
static bool chain(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *p = &previous[slot_of(sig)];

    if (p->sa_flags & SA_SIGINFO) {
        if (p->sa_sigaction) {
            p->sa_sigaction(sig, si, uc);
            return true;
        }
    } else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
        p->sa_handler(sig);
        return true;
    }
    return false;
}

static DWORD fpe_code(int si_code)
{
    switch (si_code) {
    case FPE_INTDIV:
        return EXCEPTION_INT_DIVIDE_BY_ZERO;
    case FPE_INTOVF:
        return EXCEPTION_INT_OVERFLOW;
    case FPE_FLTDIV:
        return EXCEPTION_FLT_DIVIDE_BY_ZERO;
    case FPE_FLTOVF:
        return EXCEPTION_FLT_OVERFLOW;
    case FPE_FLTUND:
        return EXCEPTION_FLT_UNDERFLOW;
    case FPE_FLTRES:
        return EXCEPTION_FLT_INEXACT_RESULT;
    case FPE_FLTSUB:
        return EXCEPTION_ARRAY_BOUNDS_EXCEEDED;
    default:
        return EXCEPTION_FLT_INVALID_OPERATION;
    }
}

/* Fill rec for a SIGSEGV/SIGBUS; false when the fault is stale and the access should simply
 * be retried. */
static bool memory_fault(int sig, siginfo_t *si, ucontext_t *uc, const CONTEXT *ctx,
                         EXCEPTION_RECORD *rec)
{
    uintptr_t addr;
    unsigned acc = wm_context_fault_sigsafe(uc, si, &addr);
    DWORD code = EXCEPTION_ACCESS_VIOLATION;

    if (sig == SIGBUS) {
        code =
            si->si_code == BUS_ADRALN ? EXCEPTION_DATATYPE_MISALIGNMENT : EXCEPTION_IN_PAGE_ERROR;
    } else {
        uint32_t seq = wm_vmstate_read_begin();
        enum wm_fault f = wm_fault_classify_sigsafe(addr, acc);
        if (f == WM_FAULT_WATCHED) {
            retry_count = 0; /* progress: the write is recorded */
            return false;
        }
        if (f == WM_FAULT_RETRY) {
            /* The model allows the access now: another thread changed the page since the
             * fault, or the classification itself did (a copy-on-write page got its copy).
             * Retry, but not forever if the kernel keeps disagreeing with a model nobody
             * changes: only a fault at the same address with the model unchanged since the
             * last retry counts (counting every fault at an address would turn the fourth
             * legitimate copy-on-write fault on a reused page into an access violation). */
            if (addr != retry_addr || seq != retry_seq)
                retry_count = 0;
            retry_addr = addr;
            retry_seq = wm_vmstate_read_begin();
            if (++retry_count <= 3)
                return false;
        }
        retry_count = 0;
        if (f == WM_FAULT_GUARD) {
            code = EXCEPTION_GUARD_PAGE;
        } else {
            uintptr_t sp = wm_context_sp(ctx);
            if (addr + STACK_SLOP >= sp && addr <= sp + STACK_SLOP)
                code = EXCEPTION_STACK_OVERFLOW; /* ran off the end of the thread's stack */
        }
    }
    rec->ExceptionCode = code;
    if (code == EXCEPTION_DATATYPE_MISALIGNMENT)
        return true;
    rec->NumberParameters = 2;
    rec->ExceptionInformation[0] = acc == WM_ACC_X   ? EXCEPTION_EXECUTE_FAULT
                                   : acc == WM_ACC_W ? EXCEPTION_WRITE_FAULT
                                                     : EXCEPTION_READ_FAULT;
    rec->ExceptionInformation[1] = addr;
    if (code == EXCEPTION_IN_PAGE_ERROR) {
        rec->NumberParameters = 3;
        rec->ExceptionInformation[2] = (ULONG_PTR)(DWORD)STATUS_IN_PAGE_ERROR;
    }
    return true;
}

/* The exception code of a signal other than SIGSEGV/SIGBUS (0 for none we translate). */
static DWORD signal_code(int sig, const siginfo_t *si)
{
    switch (sig) {
    case SIGILL:
        return si->si_code == ILL_PRVOPC || si->si_code == ILL_PRVREG
                   ? EXCEPTION_PRIV_INSTRUCTION
                   : EXCEPTION_ILLEGAL_INSTRUCTION;
    case SIGFPE:
        return fpe_code(si->si_code);
    case SIGTRAP:
        return si->si_code == TRAP_TRACE ? EXCEPTION_SINGLE_STEP : EXCEPTION_BREAKPOINT;
    default:
        return 0;
    }
}

/* Room left below sp on the alternate stack the handler runs on; SIZE_MAX when it runs on
 * the thread's ordinary stack.  No system call: the kernel records the thread's alternate
 * stack in the signal frame (uc_stack), which covers the threads winmem never set up (they
 * never called it) and stacks swapped in after it did, at no cost per fault. */
static size_t stack_room_sigsafe(uintptr_t sp, const ucontext_t *uc)
{
    if (sp > alt_known.lo && sp <= alt_known.hi)
        return sp - alt_known.lo;
    uintptr_t lo = (uintptr_t)uc->uc_stack.ss_sp, hi = lo + uc->uc_stack.ss_size;
    if ((uc->uc_stack.ss_flags & SS_DISABLE) || sp <= lo || sp > hi)
        return SIZE_MAX;
    return sp - lo;
}

bool wm_signal_same_stack_sigsafe(uintptr_t a, uintptr_t b)
{
    bool in_a = a > alt_known.lo && a <= alt_known.hi;
    bool in_b = b > alt_known.lo && b <= alt_known.hi;
    return in_a == in_b;
}

/* Report the exception as unhandled and end the process, saying why no handler may run, on
 * whatever little stack is left (no CONTEXT is built). */
static __attribute__((noinline, noreturn)) void die_now(int sig, siginfo_t *si, ucontext_t *uc,
                                                        const char *why)
{
    EXCEPTION_RECORD rec;

    memset(&rec, 0, sizeof(rec));
    rec.ExceptionAddress = (PVOID)wm_context_uc_pc_sigsafe(uc);
    rec.ExceptionCode = signal_code(sig, si);
    if (sig == SIGSEGV || sig == SIGBUS) {
        uintptr_t addr;
        unsigned acc = wm_context_fault_sigsafe(uc, si, &addr);
        rec.ExceptionCode = sig == SIGBUS ? EXCEPTION_IN_PAGE_ERROR : EXCEPTION_ACCESS_VIOLATION;
        rec.NumberParameters = 2;
        rec.ExceptionInformation[0] = acc == WM_ACC_X   ? EXCEPTION_EXECUTE_FAULT
                                      : acc == WM_ACC_W ? EXCEPTION_WRITE_FAULT
                                                        : EXCEPTION_READ_FAULT;
        rec.ExceptionInformation[1] = addr;
    }
    wm_dispatch_terminate_sigsafe(&rec, sig, why);
}

/* A signal someone sent (kill, tkill, sigqueue: si_code <= 0) is not a fault, whatever its
 * number: it goes to the handler that was there before winmem, or gets the default action,
 * so the process ends by that signal as it would without winmem. */
static __attribute__((noinline)) void pass_on(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *p = &previous[slot_of(sig)];
    struct sigaction dfl;
    sigset_t set;

    if (chain(sig, si, uc) || (!(p->sa_flags & SA_SIGINFO) && p->sa_handler == SIG_IGN))
        return;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
}

/* The exception itself: build the record and CONTEXT, dispatch, resume or end. */
static __attribute__((noinline)) void handle_signal(int sig, siginfo_t *si, ucontext_t *uc)
{
    EXCEPTION_RECORD rec;
    CONTEXT ctx;

    memset(&rec, 0, wm_opaque_size(sizeof(rec)));
    wm_context_from_ucontext(&ctx, uc);
    rec.ExceptionAddress = (PVOID)wm_context_pc(&ctx);

    switch (sig) {
    case SIGSEGV:
    case SIGBUS: {
        if (!memory_fault(sig, si, uc, &ctx, &rec))
            return;
        /* An NT call copying the caller's memory met a bad pointer: the call fails with
         * STATUS_ACCESS_VIOLATION (os/uaccess.c), as Windows' probing makes it; no
         * exception reaches the program. */
        uintptr_t fix = wm_os_copy_fixup_sigsafe(wm_context_uc_pc_sigsafe(uc));
        if (fix) {
            wm_context_uc_set_pc_sigsafe(uc, fix);
            return;
        }
        break;
    }
    case SIGTRAP:
        rec.ExceptionCode = signal_code(sig, si);
        if (rec.ExceptionCode == EXCEPTION_BREAKPOINT) {
            rec.NumberParameters = 1;
#if defined(__x86_64__)
            /* The kernel reports int3 with the pc after it; Windows points at it. */
            if (si->si_code == SI_KERNEL) {
                wm_context_set_pc(&ctx, wm_context_pc(&ctx) - 1);
                rec.ExceptionAddress = (PVOID)wm_context_pc(&ctx);
            }
#endif
        }
        break;
    default:
        rec.ExceptionCode = signal_code(sig, si);
        if (!rec.ExceptionCode)
            return;
        break;
    }

    switch (wm_dispatch_sigsafe(&rec, &ctx)) {
    case WM_DISP_CONTINUE:
        wm_context_to_ucontext(uc, &ctx);
        return;
    case WM_DISP_UNHANDLED:
        if (chain(sig, si, uc))
            return;
        break;
    case WM_DISP_TERMINATE:
        break;
    }
    wm_dispatch_terminate_sigsafe(&rec, sig, NULL);
}

/* The handler entry.  Async-signal-safe: see the file comment.  Its own frame is small: the
 * room check runs before the frames that need room. */
static void on_signal(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

    if (si->si_code <= 0) {
        pass_on(sig, si, ucv);
    } else {
        /* A genuine fault on a thread holding the VM lock is winmem's own: any handler that
         * called winmem would wait on this thread forever. */
        if (wm_vmstate_held_sigsafe())
            die_now(sig, si, ucv, "inside winmem, which holds its lock");
        /* This level's frames and handlers, the next nested signal frame, and the report. */
        if (stack_room_sigsafe(sp, ucv) < level_size() + wm_os_signal_frame_size() + REPORT_RESERVE)
            die_now(sig, si, ucv, "no stack left for its exception handlers");
        handle_signal(sig, si, ucv);
    }
    errno = saved_errno;
}

/* At thread exit: the thread's previous alternate stack back, winmem's unmapped. */
static void restore_alt_stack(void *unused)
{
    (void)unused;
    if (alt_owned)
        wm_os_altstack_restore(&alt_known, &alt_prev);
    alt_owned = false;
}

static void install(void)
{
    struct sigaction sa;

    pthread_key_create(&alt_key, restore_alt_stack);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    /* SA_NODEFER: a fault inside a handler nests (and is reported past a depth) instead of
     * killing the process silently; SA_ONSTACK: stack overflows are reportable. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        sigaction(signals[i], &sa, &previous[i]);
    wm_os_copy_enable_fixup();
}

WM_HOT void wm_signal_init(void)
{
    if (__builtin_expect(thread_ready, 1))
        return;
    pthread_once(&install_once, install);
    thread_ready = true;

    /* Room for every nesting level, each a signal frame plus its handlers' frames. */
    size_t need = (WM_MAX_NESTING + 1) * level_size() + REPORT_RESERVE;
    if (need < ALT_STACK_MIN)
        need = ALT_STACK_MIN;
    struct wm_os_altstack old;
    if (wm_os_altstack_query(&old) != 0)
        return;
    if (old.enabled && (old.active || old.hi - old.lo >= need)) {
        alt_known = old; /* big enough (or in use, so it cannot be swapped) */
        return;
    }
    /* None, or too small for nested frames on this CPU (a sanitizer's, or one sized by the
     * legacy MINSIGSTKSZ): winmem's own replaces it until the thread exits. */
    if (wm_os_altstack_install(need, &alt_known) != 0)
        return; /* no memory: the handler's room check still ends the process cleanly */
    alt_prev = old;
    alt_owned = true;
    pthread_setspecific(alt_key, &alt_owned); /* non-NULL, so the destructor runs */
}
