/* Intel VT-x backend internals shared by its files. */
#ifndef SHOAL_VMX_H
#define SHOAL_VMX_H
#include <stdint.h>
#include "arch/x86/asid.h"
#include "arch/x86/slpt.h"
#include "arch/x86/hvm.h"

/* Control values computed once from the (TRUE) capability MSRs (SDM 3D A.3-A.5). */
struct vmx_caps {
    uint32_t revision;
    uint32_t pin, proc, proc2, exit, entry;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint32_t preempt_shift;          /* timer ticks = TSC >> preempt_shift */
    int has_vpid;
};
extern struct vmx_caps vmx_caps;
extern const struct slpt_fmt ept_fmt;

struct hvm_vm {
    struct slpt ept;
    uint64_t eptp;
    uint32_t wp_gen;                 /* bumped when write protection is added: every vCPU flushes once */
};

/*
 * MSRs outside the VMCS that the guest owns while it runs (SDM 3C 25.7.2, 25.8.2): the VM-exit
 * MSR-store area and the VM-entry MSR-load area are one array of these, the host's values another.
 */
enum { VMX_KERNEL_GS_BASE, VMX_STAR, VMX_LSTAR, VMX_CSTAR, VMX_SFMASK, VMX_NR_AUTO_MSRS };
struct vmx_msr_entry {
    uint32_t index, reserved;
    uint64_t value;
};

struct hvm_vcpu {
    struct hvm_vm *vm;
    uint64_t vmcs_pa;
    uint64_t msr_page_pa;            /* guest area at offset 0, host area at VMX_HOST_MSR_OFF */
    uint64_t cr2;                    /* the guest's CR2: not in the VMCS, switched by vmx_vcpu_run */
    uint64_t cr8;                    /* the guest's CR8 (TPR): without a TPR shadow or CR8 exiting its MOV to
                                        CR8 writes the physical TPR, switched like CR2 (SDM 3C 25.3); it is
                                        not part of the vCPU record (Linux leaves CR8 at 0) */
    uint16_t vpid;                   /* 0 until its first entry */
    struct asid_vcpu tag;            /* its VPID, given by the CPU it enters (arch/x86/asid.h) */
    int launched;
    int exited;                      /* it ran and left at least once (exit_rip is its) */
    int cpu;                         /* where the VMCS was last current (-1: released) */
    int tlb_cpu;                     /* where it entered last: what other CPUs cached of it may be stale */
    uint32_t wp_seen;                /* the VM's wp_gen its CPU's TLB was flushed for */
    uint64_t cr4_guest;              /* what the guest believes CR4 holds (VMXE hidden) */
    uint64_t exit_rip;               /* guest RIP at the last exit */
    uint64_t spec_ctrl;              /* the guest's IA32_SPEC_CTRL while it does not run */
};

#define VMX_HOST_MSR_OFF 0x800

static inline struct vmx_msr_entry *vmx_guest_msrs(struct hvm_vcpu *v)
{
    return (struct vmx_msr_entry *)(uintptr_t)v->msr_page_pa;
}

/* Assembly (entry.S). */
int vmx_enter(uint64_t *gprs, int launched);
void vmx_exit_stub(void);

/* Let the guest read and write the MSRs it owns (hvm_msr_pass_through's list) in bitmap. */
void vmx_msr_pass_through(uint8_t *bitmap);
/* Set up the VMCS of v (current) for regs; v->msr_page_pa must be a zeroed page. */
void vmx_vmcs_setup(struct hvm_vcpu *v, const struct guest_regs *regs);
/* Write the calling CPU's host state (control registers, TR/GDTR/IDTR bases, exit RIP) into the current VMCS. */
void vmx_vmcs_host_state(void);
void vmx_set_state(struct hvm_vcpu *v, const struct guest_regs *r);
void vmx_get_state(struct hvm_vcpu *v, struct guest_regs *r);
/* Translate the current VMCS's exit information into ex. */
void vmx_normalise_exit(struct vm_exit *ex);
/* Text for a VM-instruction error number (SDM 3C 31.4). */
const char *vmx_insn_error(uint32_t err);
#endif
