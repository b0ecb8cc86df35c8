/*
 * context_x86_64.c - the x86-64 CONTEXT <-> Linux ucontext_t translation, and how to read a
 * fault's access kind from the page-fault error code.  Async-signal-safe (copies only).
 */
#include "except.h"

#if defined(__x86_64__)

#include <string.h>

#include "vm/vm.h"

/* Linux's user data selector: what SegDs/SegEs/SegSs hold in every 64-bit process. */
#define USER_DS 0x2b

void wm_context_from_ucontext(CONTEXT *c, const ucontext_t *uc)
{
    const greg_t *g = uc->uc_mcontext.gregs;

    memset(c, 0, wm_opaque_size(sizeof(*c)));
    c->ContextFlags = CONTEXT_FULL | CONTEXT_SEGMENTS;
    c->Rax = (DWORD64)g[REG_RAX];
    c->Rcx = (DWORD64)g[REG_RCX];
    c->Rdx = (DWORD64)g[REG_RDX];
    c->Rbx = (DWORD64)g[REG_RBX];
    c->Rsp = (DWORD64)g[REG_RSP];
    c->Rbp = (DWORD64)g[REG_RBP];
    c->Rsi = (DWORD64)g[REG_RSI];
    c->Rdi = (DWORD64)g[REG_RDI];
    c->R8 = (DWORD64)g[REG_R8];
    c->R9 = (DWORD64)g[REG_R9];
    c->R10 = (DWORD64)g[REG_R10];
    c->R11 = (DWORD64)g[REG_R11];
    c->R12 = (DWORD64)g[REG_R12];
    c->R13 = (DWORD64)g[REG_R13];
    c->R14 = (DWORD64)g[REG_R14];
    c->R15 = (DWORD64)g[REG_R15];
    c->Rip = (DWORD64)g[REG_RIP];
    c->EFlags = (DWORD)g[REG_EFL];
    c->SegCs = (WORD)(g[REG_CSGSFS] & 0xffff);
    c->SegGs = (WORD)((g[REG_CSGSFS] >> 16) & 0xffff);
    c->SegFs = (WORD)((g[REG_CSGSFS] >> 32) & 0xffff);
    c->SegDs = c->SegEs = c->SegSs = USER_DS;
    if (uc->uc_mcontext.fpregs) {
        /* The kernel's fxsave image has XMM_SAVE_AREA32's layout exactly. */
        memcpy(&c->FltSave, uc->uc_mcontext.fpregs, wm_opaque_size(sizeof(c->FltSave)));
        c->MxCsr = c->FltSave.MxCsr;
    }
}

void wm_context_to_ucontext(ucontext_t *uc, const CONTEXT *c)
{
    greg_t *g = uc->uc_mcontext.gregs;

    g[REG_RAX] = (greg_t)c->Rax;
    g[REG_RCX] = (greg_t)c->Rcx;
    g[REG_RDX] = (greg_t)c->Rdx;
    g[REG_RBX] = (greg_t)c->Rbx;
    g[REG_RSP] = (greg_t)c->Rsp;
    g[REG_RBP] = (greg_t)c->Rbp;
    g[REG_RSI] = (greg_t)c->Rsi;
    g[REG_RDI] = (greg_t)c->Rdi;
    g[REG_R8] = (greg_t)c->R8;
    g[REG_R9] = (greg_t)c->R9;
    g[REG_R10] = (greg_t)c->R10;
    g[REG_R11] = (greg_t)c->R11;
    g[REG_R12] = (greg_t)c->R12;
    g[REG_R13] = (greg_t)c->R13;
    g[REG_R14] = (greg_t)c->R14;
    g[REG_R15] = (greg_t)c->R15;
    g[REG_RIP] = (greg_t)c->Rip;
    /* Only the flags user code may change (CF PF AF ZF SF TF DF OF). */
    g[REG_EFL] = (g[REG_EFL] & ~(greg_t)0xdd5) | (greg_t)(c->EFlags & 0xdd5);
    if (uc->uc_mcontext.fpregs) {
        XMM_SAVE_AREA32 *f = (XMM_SAVE_AREA32 *)uc->uc_mcontext.fpregs;
        memcpy(f, &c->FltSave, wm_opaque_size(sizeof(*f)));
        f->MxCsr = c->MxCsr;
    }
}

uintptr_t wm_context_uc_pc_sigsafe(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

void wm_context_uc_set_pc_sigsafe(ucontext_t *uc, uintptr_t pc)
{
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
}

uintptr_t wm_context_pc(const CONTEXT *c)
{
    return (uintptr_t)c->Rip;
}

uintptr_t wm_context_sp(const CONTEXT *c)
{
    return (uintptr_t)c->Rsp;
}

void wm_context_set_pc(CONTEXT *c, uintptr_t pc)
{
    c->Rip = pc;
}

unsigned wm_context_fault_sigsafe(const ucontext_t *uc, const siginfo_t *si, uintptr_t *addr)
{
    greg_t err = uc->uc_mcontext.gregs[REG_ERR];

    *addr = (uintptr_t)si->si_addr;
    if (uc->uc_mcontext.gregs[REG_TRAPNO] == 13) {
        /* A general-protection fault (a non-canonical address): Windows reports it as a read
         * of 0xffffffffffffffff. */
        *addr = ~(uintptr_t)0;
        return WM_ACC_R;
    }
    /* Page-fault error code: bit 1 write, bit 4 instruction fetch. */
    if (err & 0x10)
        return WM_ACC_X;
    return (err & 0x2) ? WM_ACC_W : WM_ACC_R;
}

#endif
