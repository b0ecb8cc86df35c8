/*
 * uaccess.c - reading and writing the caller's memory without trusting it: the copy the NT
 * calls use for their pointer arguments, so a bad pointer (a buffer at 0x10, an output in a
 * page the call itself just made read-only) fails the call with STATUS_ACCESS_VIOLATION, as
 * Windows' probing does, instead of crashing the process.
 *
 * The copies are a few instructions of assembly in one known range: when one faults,
 * winmem's SIGSEGV handler (except/signal.c) asks wm_os_copy_fixup_sigsafe whether the fault
 * happened there and, if so, resumes at the shared failure exit instead of raising an
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

#include "vm/vm.h"

_Static_assert(EFAULT == 14, "the copy routine returns -14 for EFAULT");

/* The routines below lie between wm_os_uaccess_begin and wm_os_uaccess_fault; each is a leaf
 * (no stack frame) whose only instructions that may fault touch the caller's memory, so a
 * fault anywhere in the range can resume at the shared failure exit, which returns -EFAULT
 * to the routine's caller.  They sit with the other hot code (WM_HOT, vm.h): every call with a
 * pointer argument runs them. */
#if defined(__x86_64__)
__asm__(".pushsection .text.hot.wm_uaccess, \"ax\", @progbits\n"
        ".p2align 4\n"
        ".globl wm_os_uaccess_begin\n"
        ".hidden wm_os_uaccess_begin\n"
        "wm_os_uaccess_begin:\n"
        /* int wm_os_copy_bytes(void *dst = rdi, const void *src = rsi, size_t n = rdx) */
        ".globl wm_os_copy_bytes\n"
        ".hidden wm_os_copy_bytes\n"
        ".type wm_os_copy_bytes, @function\n"
        "wm_os_copy_bytes:\n"
        "    mov %rdx, %rcx\n"
        "    rep movsb\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        ".size wm_os_copy_bytes, .-wm_os_copy_bytes\n"
        /* int wm_os_copy_8(void *dst = rdi, const void *src = rsi) */
        ".globl wm_os_copy_8\n"
        ".hidden wm_os_copy_8\n"
        ".type wm_os_copy_8, @function\n"
        "wm_os_copy_8:\n"
        "    mov (%rsi), %rax\n"
        "    mov %rax, (%rdi)\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        ".size wm_os_copy_8, .-wm_os_copy_8\n"
        /* int wm_os_copy_words(void *dst = rdi, const void *src = rsi, size_t words = rdx) */
        ".globl wm_os_copy_words\n"
        ".hidden wm_os_copy_words\n"
        ".type wm_os_copy_words, @function\n"
        "wm_os_copy_words:\n"
        "1:  mov (%rsi), %rax\n"
        "    mov %rax, (%rdi)\n"
        "    add $8, %rsi\n"
        "    add $8, %rdi\n"
        "    dec %rdx\n"
        "    jnz 1b\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        ".size wm_os_copy_words, .-wm_os_copy_words\n"
        /* int wm_os_copy_4(void *dst = rdi, const void *src = rsi) */
        ".globl wm_os_copy_4\n"
        ".hidden wm_os_copy_4\n"
        ".type wm_os_copy_4, @function\n"
        "wm_os_copy_4:\n"
        "    mov (%rsi), %eax\n"
        "    mov %eax, (%rdi)\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        ".size wm_os_copy_4, .-wm_os_copy_4\n"
        ".globl wm_os_uaccess_fault\n"
        ".hidden wm_os_uaccess_fault\n"
        "wm_os_uaccess_fault:\n"
        "    mov $-14, %eax\n"
        "    ret\n"
        ".popsection\n");
#elif defined(__aarch64__)
__asm__(".pushsection .text.hot.wm_uaccess, \"ax\", %progbits\n"
        ".p2align 4\n"
        ".globl wm_os_uaccess_begin\n"
        ".hidden wm_os_uaccess_begin\n"
        "wm_os_uaccess_begin:\n"
        /* int wm_os_copy_bytes(void *dst = x0, const void *src = x1, size_t n = x2) */
        ".globl wm_os_copy_bytes\n"
        ".hidden wm_os_copy_bytes\n"
        ".type wm_os_copy_bytes, %function\n"
        "wm_os_copy_bytes:\n"
        "    cbz x2, 2f\n"
        "1:  ldrb w3, [x1], #1\n"
        "    strb w3, [x0], #1\n"
        "    subs x2, x2, #1\n"
        "    b.ne 1b\n"
        "2:  mov w0, #0\n"
        "    ret\n"
        ".size wm_os_copy_bytes, .-wm_os_copy_bytes\n"
        ".globl wm_os_copy_8\n"
        ".hidden wm_os_copy_8\n"
        ".type wm_os_copy_8, %function\n"
        "wm_os_copy_8:\n"
        "    ldr x2, [x1]\n"
        "    str x2, [x0]\n"
        "    mov w0, #0\n"
        "    ret\n"
        ".size wm_os_copy_8, .-wm_os_copy_8\n"
        ".globl wm_os_copy_words\n"
        ".hidden wm_os_copy_words\n"
        ".type wm_os_copy_words, %function\n"
        "wm_os_copy_words:\n"
        "1:  ldr x3, [x1], #8\n"
        "    str x3, [x0], #8\n"
        "    subs x2, x2, #1\n"
        "    b.ne 1b\n"
        "    mov w0, #0\n"
        "    ret\n"
        ".size wm_os_copy_words, .-wm_os_copy_words\n"
        ".globl wm_os_copy_4\n"
        ".hidden wm_os_copy_4\n"
        ".type wm_os_copy_4, %function\n"
        "wm_os_copy_4:\n"
        "    ldr w2, [x1]\n"
        "    str w2, [x0]\n"
        "    mov w0, #0\n"
        "    ret\n"
        ".size wm_os_copy_4, .-wm_os_copy_4\n"
        ".globl wm_os_uaccess_fault\n"
        ".hidden wm_os_uaccess_fault\n"
        "wm_os_uaccess_fault:\n"
        "    mov w0, #-14\n"
        "    ret\n"
        ".popsection\n");
#else
#error "uaccess.c: no copy routines for this architecture"
#endif

extern const char wm_os_uaccess_begin[], wm_os_uaccess_fault[];
int wm_os_copy_bytes(void *dst, const void *src, size_t n);
int wm_os_copy_8(void *dst, const void *src);
int wm_os_copy_4(void *dst, const void *src);
int wm_os_copy_words(void *dst, const void *src, size_t words);

static atomic_bool fixup_ready;

void wm_os_copy_enable_fixup(void)
{
    atomic_store_explicit(&fixup_ready, true, memory_order_release);
}

WM_HOT int wm_os_copy(void *dst, const void *src, size_t n)
{
    if (__builtin_expect(atomic_load_explicit(&fixup_ready, memory_order_acquire), 1)) {
        /* The arguments are pointers, sizes and protections: one load and one store. */
        if (n == 8)
            return wm_os_copy_8(dst, src);
        if (n == 4)
            return wm_os_copy_4(dst, src);
        /* Records (MEMORY_BASIC_INFORMATION, IO_STATUS_BLOCK): word by word. */
        if (n && n % 8 == 0)
            return wm_os_copy_words(dst, src, n / 8);
        return wm_os_copy_bytes(dst, src, n);
    }
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
    if (pc >= (uintptr_t)wm_os_uaccess_begin && pc < (uintptr_t)wm_os_uaccess_fault)
        return (uintptr_t)wm_os_uaccess_fault;
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
