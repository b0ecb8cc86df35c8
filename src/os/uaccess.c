/*
 * uaccess.c - reading and writing the caller's memory without trusting it: the copy the NT
 * calls use for their pointer arguments, so a bad pointer (a buffer at 0x10, an output in a
 * page the call itself just made read-only) fails the call with STATUS_ACCESS_VIOLATION, as
 * Windows' probing does, instead of crashing the process.
 *
 * The copy is a few instructions of assembly whose one faulting instruction is known: when
 * it faults, winmem's SIGSEGV handler (except/signal.c) asks wm_os_copy_fixup_sigsafe whether the
 * fault happened there and, if so, resumes at the copy's failure exit instead of raising an
 * exception, as the Linux kernel's own exception tables do.  Nothing is checked up front, so
 * a good pointer costs no more than a memcpy of a few bytes.  The caller must not hold the
 * VM lock (a fault then waits for nothing).  Until winmem's signal handler is installed (a
 * program that only ever calls the Nt functions), the copy is made by the kernel instead
 * (process_vm_writev on this process), which reports a bad address as EFAULT.
 */
#include "os.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(EFAULT == 14, "the copy routine returns -14 for EFAULT");

#if defined(__x86_64__)
/* rdi = dst, rsi = src, rdx = n; eax = 0, or -EFAULT from the fixup. */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl wm_os_copy_raw\n"
        ".hidden wm_os_copy_raw\n"
        ".type wm_os_copy_raw, @function\n"
        "wm_os_copy_raw:\n"
        "    mov %rdx, %rcx\n"
        ".globl wm_os_copy_insn\n"
        ".hidden wm_os_copy_insn\n"
        "wm_os_copy_insn:\n"
        "    rep movsb\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        ".globl wm_os_copy_fault\n"
        ".hidden wm_os_copy_fault\n"
        "wm_os_copy_fault:\n"
        "    mov $-14, %eax\n"
        "    ret\n"
        ".size wm_os_copy_raw, .-wm_os_copy_raw\n");
#elif defined(__aarch64__)
/* x0 = dst, x1 = src, x2 = n; w0 = 0, or -EFAULT from the fixup.  The byte loop's load and
 * store are the instructions that may fault. */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl wm_os_copy_raw\n"
        ".hidden wm_os_copy_raw\n"
        ".type wm_os_copy_raw, %function\n"
        "wm_os_copy_raw:\n"
        "    cbz x2, 2f\n"
        ".globl wm_os_copy_insn\n"
        ".hidden wm_os_copy_insn\n"
        "wm_os_copy_insn:\n"
        "1:  ldrb w3, [x1], #1\n"
        "    strb w3, [x0], #1\n"
        "    subs x2, x2, #1\n"
        "    b.ne 1b\n"
        "2:  mov w0, #0\n"
        "    ret\n"
        ".globl wm_os_copy_fault\n"
        ".hidden wm_os_copy_fault\n"
        "wm_os_copy_fault:\n"
        "    mov w0, #-14\n"
        "    ret\n"
        ".size wm_os_copy_raw, .-wm_os_copy_raw\n");
#else
#error "wm_os_copy: no copy routine for this architecture"
#endif

extern const char wm_os_copy_insn[], wm_os_copy_fault[];
/* The assembly routine, usable once the fixup handler is in place. */
int wm_os_copy_asm(void *dst, const void *src, size_t n) __asm__("wm_os_copy_raw");

static atomic_bool fixup_ready;

void wm_os_copy_enable_fixup(void)
{
    atomic_store_explicit(&fixup_ready, true, memory_order_release);
}

int wm_os_copy(void *dst, const void *src, size_t n)
{
    if (__builtin_expect(atomic_load_explicit(&fixup_ready, memory_order_acquire), 1))
        return wm_os_copy_asm(dst, src, n);
    struct iovec local = { (void *)src, n }, remote = { dst, n };
    ssize_t done = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
    if (done == (ssize_t)n)
        return 0;
    if (done < 0 && (errno == ENOSYS || errno == EPERM)) {
        memcpy(dst, src, n); /* no kernel help and no handler: trust the pointer */
        return 0;
    }
    return -EFAULT;
}

uintptr_t wm_os_copy_fixup_sigsafe(uintptr_t pc)
{
    /* The faulting instructions lie between the copy's first instruction and its failure
     * exit (x86-64: the rep movsb alone; arm64: the load and the store). */
    if (pc >= (uintptr_t)wm_os_copy_insn && pc < (uintptr_t)wm_os_copy_fault)
        return (uintptr_t)wm_os_copy_fault;
    return 0;
}

int wm_os_probe(void *p, size_t n)
{
    unsigned char buf[64];
    int rc;

    if (n > sizeof(buf))
        return -EINVAL;
    if ((rc = wm_os_copy(buf, p, n)) != 0)
        return rc;
    return wm_os_copy(p, buf, n);
}
