/*
 * context_arm64.c - the ARM64 CONTEXT <-> Linux ucontext_t translation.  Designed in, built
 * on aarch64 only; the x86-64 file is the tested one.  Async-signal-safe (copies only).
 */
#include "except.h"

#if defined(__aarch64__)

#include <string.h>

#include "vm/vm.h"

/* The fpsimd and esr records Linux appends to the signal frame. */
static const struct _aarch64_ctx *find_record(const ucontext_t *uc, uint32_t magic)
{
    const unsigned char *p = (const unsigned char *)uc->uc_mcontext.__reserved;
    const unsigned char *end = p + sizeof(uc->uc_mcontext.__reserved);
    while (p + sizeof(struct _aarch64_ctx) <= end) {
        const struct _aarch64_ctx *h = (const struct _aarch64_ctx *)p;
        if (h->magic == 0 || h->size == 0)
            return NULL;
        if (h->magic == magic)
            return h;
        p += h->size;
    }
    return NULL;
}

void wm_context_from_ucontext(CONTEXT *c, const ucontext_t *uc)
{
    memset(c, 0, sizeof(*c));
    c->ContextFlags = CONTEXT_FULL;
    for (int i = 0; i < 31; i++)
        c->X[i] = uc->uc_mcontext.regs[i];
    c->Sp = uc->uc_mcontext.sp;
    c->Pc = uc->uc_mcontext.pc;
    c->Cpsr = (DWORD)uc->uc_mcontext.pstate;
    const struct fpsimd_context *fp = (const struct fpsimd_context *)find_record(uc, FPSIMD_MAGIC);
    if (fp) {
        memcpy(c->V, fp->vregs, sizeof(c->V));
        c->Fpsr = fp->fpsr;
        c->Fpcr = fp->fpcr;
    }
}

void wm_context_to_ucontext(ucontext_t *uc, const CONTEXT *c)
{
    for (int i = 0; i < 31; i++)
        uc->uc_mcontext.regs[i] = c->X[i];
    uc->uc_mcontext.sp = c->Sp;
    uc->uc_mcontext.pc = c->Pc;
    /* Only the condition flags user code may change. */
    uc->uc_mcontext.pstate = (uc->uc_mcontext.pstate & ~0xf0000000ull) | (c->Cpsr & 0xf0000000u);
    struct fpsimd_context *fp = (struct fpsimd_context *)find_record(uc, FPSIMD_MAGIC);
    if (fp) {
        memcpy(fp->vregs, c->V, sizeof(c->V));
        fp->fpsr = c->Fpsr;
        fp->fpcr = c->Fpcr;
    }
}

uintptr_t wm_context_uc_pc_sigsafe(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.pc;
}

void wm_context_uc_set_pc_sigsafe(ucontext_t *uc, uintptr_t pc)
{
    uc->uc_mcontext.pc = pc;
}

uintptr_t wm_context_pc(const CONTEXT *c)
{
    return (uintptr_t)c->Pc;
}

uintptr_t wm_context_sp(const CONTEXT *c)
{
    return (uintptr_t)c->Sp;
}

void wm_context_set_pc(CONTEXT *c, uintptr_t pc)
{
    c->Pc = pc;
}

unsigned wm_context_fault_sigsafe(const ucontext_t *uc, const siginfo_t *si, uintptr_t *addr)
{
    const struct esr_context *esr = (const struct esr_context *)find_record(uc, ESR_MAGIC);

    *addr = (uintptr_t)si->si_addr;
    if (!esr)
        return WM_ACC_R;
    unsigned ec = (unsigned)(esr->esr >> 26) & 0x3f;
    if (ec == 0x20 || ec == 0x21) /* instruction abort */
        return WM_ACC_X;
    return (esr->esr & (1u << 6)) ? WM_ACC_W : WM_ACC_R; /* data abort: WnR */
}

#endif
