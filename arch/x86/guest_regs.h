/* Guest register state: the plain data the vendor backends load and save and the VMM core works on. */
#ifndef SHOAL_ARCH_GUEST_REGS_H
#define SHOAL_ARCH_GUEST_REGS_H
#include <stdint.h>

/* General-purpose registers indexed by their x86 encoding (ModRM/REX numbering). */
enum gpr { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
           GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15, GPR_COUNT };

/* RFLAGS bits the VMM reads or emulates (SDM 1, 3.4.3). */
#define RFLAGS_CF 0x001ull
#define RFLAGS_PF 0x004ull
#define RFLAGS_AF 0x010ull
#define RFLAGS_ZF 0x040ull
#define RFLAGS_SF 0x080ull
#define RFLAGS_IF 0x200ull
#define RFLAGS_DF 0x400ull
#define RFLAGS_OF 0x800ull
#define RFLAGS_AC (1ull << 18)
#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* Bits of struct seg's attr (SVM's packed layout, APM 2 15.5.1): S, P, L, D/B, G. */
#define SEG_ATTR_S  (1u << 4)
#define SEG_ATTR_P  (1u << 7)
#define SEG_ATTR_L  (1u << 9)
#define SEG_ATTR_DB (1u << 10)
#define SEG_ATTR_G  (1u << 11)

struct seg {
    uint16_t sel;
    uint16_t attr;     /* VMX access-rights layout compressed to SVM's 12 bits: type, s, dpl, p, avl, l, db, g */
    uint32_t limit;
    uint64_t base;
};

struct guest_regs {
    uint64_t gpr[GPR_COUNT];
    uint64_t rip, rflags;
    uint64_t cr0, cr2, cr3, cr4, efer, xcr0;
    struct seg cs, ds, es, fs, gs, ss, tr, ldtr;
    uint64_t gdtr_base, idtr_base;
    uint32_t gdtr_limit, idtr_limit;
    /* MSRs the guest owns while it runs (FS/GS base are fs.base/gs.base): SYSCALL and SYSENTER state. */
    uint64_t kernel_gs_base, star, lstar, cstar, sfmask;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
};

#endif
