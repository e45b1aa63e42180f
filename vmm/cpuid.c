/* The CPUID exit: the host's CPUID filtered (virtualization hidden, hypervisor leaves added). */
#include "vmm/exits.h"
#include "arch/x86/cpu.h"
#include "arch/x86/xstate.h"
#include "arch/x86/spec.h"
#include "kernel/kstring.h"

#define HV_LEAF_MAX   0x40000001u

static void set_result(struct vcpu *v, struct cpuid_regs r)
{
    v->regs.gpr[GPR_RAX] = r.eax;
    v->regs.gpr[GPR_RBX] = r.ebx;
    v->regs.gpr[GPR_RCX] = r.ecx;
    v->regs.gpr[GPR_RDX] = r.edx;
}

static struct cpuid_regs hypervisor_leaf(uint32_t leaf)
{
    struct cpuid_regs r = { 0, 0, 0, 0 };
    if (leaf == 0x40000000) {
        r.eax = HV_LEAF_MAX;
        memcpy(&r.ebx, "Shoa", 4);       /* signature "ShoalShoalHV" */
        memcpy(&r.ecx, "lSho", 4);
        memcpy(&r.edx, "alHV", 4);
    }
    return r;                            /* 0x40000001: no paravirtual features yet */
}

/*
 * XSAVE area sizes for the guest's XCR0 (SDM 1 13.2, 13.4.3): leaf 0xD.0 EBX is the standard-format size,
 * leaf 0xD.1 EBX the compacted one (IA32_XSS is 0 here), both from the per-component sub-leaves rather
 * than the host's answer (Bochs gets 0xD.1 wrong). XCR0 is read from the hardware: at an exit it holds the
 * guest's value, also where an XSETBV intercept is not honoured (QEMU TCG's SVM) and v->regs.xcr0 is stale.
 */
static uint64_t guest_xcr0(struct vcpu *v)
{
    uint32_t lo, hi;
    if (!(read_cr4() & CR4_OSXSAVE))
        return v->regs.xcr0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return lo | ((uint64_t)hi << 32);
}

static uint32_t xsave_size(uint64_t xcr0, int compacted)
{
    uint32_t size = 576;                                   /* legacy region + XSAVE header */
    for (uint32_t i = 2; i < 63; i++) {
        if (!(xcr0 & (1ull << i)))
            continue;
        struct cpuid_regs c = cpuid(0xD, i);
        if (!compacted) {
            if (c.ebx + c.eax > size)
                size = c.ebx + c.eax;
            continue;
        }
        if (c.ecx & 2)                                     /* 64-byte aligned in the compacted form */
            size = (size + 63) & ~63u;
        size += c.eax;
    }
    return size;
}

/*
 * Speculation control, Intel's way (leaf 7 EDX): IBRS/IBPB (26), STIBP (27) and SSBD (31) only where the
 * guest owns SPEC_CTRL (spec_enter/spec_exit switch it); no ARCH_CAPABILITIES (29), L1D_FLUSH (28) or
 * CORE_CAPABILITIES (30): their MSRs are not emulated. MD_CLEAR (10) stays: VERW is the guest's own.
 */
static uint32_t spec_leaf7_edx(uint32_t edx)
{
    edx &= ~((1u << 28) | (1u << 29) | (1u << 30));
    if (!spec_get()->spec_ctrl)
        edx &= ~((1u << 26) | (1u << 27) | (1u << 31));
    return edx;
}

/* AMD's way (leaf 0x80000008 EBX): IBPB (12), IBRS (14), STIBP (15), SSBD (24); never VIRT_SSBD (25). */
static uint32_t spec_ext8_ebx(uint32_t ebx)
{
    ebx &= ~(1u << 25);
    if (!spec_get()->ibpb)
        ebx &= ~(1u << 12);
    if (!spec_get()->spec_ctrl)
        ebx &= ~((1u << 14) | (1u << 15) | (1u << 24));
    return ebx;
}

static struct cpuid_regs filtered(struct vcpu *v, uint32_t leaf, uint32_t sub)
{
    struct cpuid_regs r = cpuid(leaf, sub);
    switch (leaf) {
    case 1:
        r.ecx &= ~((1u << 5) | (1u << 6) | (1u << 3) | (1u << 27));  /* VMX, SMX, MONITOR, OSXSAVE */
        r.ecx |= 1u << 31;                                             /* hypervisor present */
        r.edx &= ~((1u << 7) | (1u << 14));                            /* MCE, MCA: no machine-check MSRs */
        r.edx &= ~((1u << 22) | (1u << 29));                           /* ACPI thermal, TM: no thermal MSRs */
        r.ecx &= ~((1u << 7) | (1u << 8));                             /* EST, TM2: no P-state MSRs */
        vcpu_sync_full(v);
        if (v->regs.cr4 & CR4_OSXSAVE)
            r.ecx |= 1u << 27;
        r.ebx = (r.ebx & 0x0000ffffu) | ((uint32_t)v->vm->nvcpus << 16) | ((uint32_t)v->id << 24);
        /* x2APIC (21) and TSC-deadline (24) exist only as vmm/dev/lapic.c models them */
        r.ecx &= ~((1u << 21) | (1u << 24));
        if (v->lapic)
            r.ecx |= (1u << 21) | (1u << 24);
        break;
    case 0xB:                                                          /* x2APIC ID of this vCPU */
        r.edx = (uint32_t)v->id;
        break;
    case 7:
        if (sub == 0) {
            r.ecx &= ~(1u << 22);                                      /* RDPID: TSC_AUX is not virtualized */
            r.ebx &= ~(1u << 1);                                       /* nor is IA32_TSC_ADJUST */
            r.edx = spec_leaf7_edx(r.edx);
        }
        break;
    case 0xD:
        if (sub == 0) {
            r.ebx = xsave_size(guest_xcr0(v), 0);
        } else if (sub == 1) {                                         /* XSAVES and IA32_XSS are not */
            r.eax &= ~(1u << 3);                                       /* virtualized (VMX would #UD it) */
            if (!xsavec_usable())                                      /* XSAVEC: only where the CPU */
                r.eax &= ~(1u << 1);                                   /* writes it right (xsavec.c) */
            r.ebx = xsave_size(guest_xcr0(v), 1);
            r.ecx = r.edx = 0;
        }
        break;
    case 6:                                          /* power management: only ARAT (the APIC timer */
        r.eax &= 1u << 2;                            /* runs in deep C-states); no APERF/MPERF, HWP, */
        r.ebx = r.ecx = r.edx = 0;                   /* thermal or energy-bias MSRs */
        break;
    case 0xA:                                                          /* no performance counters */
        r.eax = r.ebx = r.ecx = r.edx = 0;
        break;
    case 0x80000001:
        r.ecx &= ~(1u << 2);                                           /* SVM */
        r.edx &= ~(1u << 27);                                          /* RDTSCP: TSC_AUX is not virtualized */
        break;
    case 0x80000008:
        r.ebx = spec_ext8_ebx(r.ebx);
        break;
    case 0x8000000A:                                                   /* SVM features */
        r.eax = r.ebx = r.ecx = r.edx = 0;
        break;
    default:
        break;
    }
    return r;
}

int exit_cpuid(struct vcpu *v, struct vm_exit *ex)
{
    uint32_t leaf = (uint32_t)v->regs.gpr[GPR_RAX], sub = (uint32_t)v->regs.gpr[GPR_RCX];
    if (leaf >= 0x40000000 && leaf <= 0x400000ff)
        set_result(v, leaf <= HV_LEAF_MAX ? hypervisor_leaf(leaf) : (struct cpuid_regs){ 0, 0, 0, 0 });
    else
        set_result(v, filtered(v, leaf, sub));
    vcpu_skip(v, ex);
    return 0;
}

/* The XCR0 bits the guest's CPUID leaf 0xD offers, within what the host enables. */
uint64_t cpuid_guest_xcr0(struct vcpu *v)
{
    struct cpuid_regs d = filtered(v, 0xD, 0);
    return xstate_host_xcr0() & (d.eax | ((uint64_t)d.edx << 32));
}
