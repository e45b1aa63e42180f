/* Speculative side channels between guests: what the CPU offers and which mitigations shoal applies. */
#ifndef SHOAL_ARCH_SPEC_H
#define SHOAL_ARCH_SPEC_H
#include <stdint.h>
#include "arch/x86/msr.h"

struct spec_caps {
    int spec_ctrl;              /* IA32_SPEC_CTRL exists (IBRS, STIBP or SSBD): guests own it, per vCPU */
    int ibpb;                   /* IA32_PRED_CMD.IBPB */
    int md_clear;               /* VERW clears the CPU's buffers */
    int l1d_flush;              /* IA32_FLUSH_CMD.L1D_FLUSH */
    uint64_t arch_caps;         /* IA32_ARCH_CAPABILITIES, 0 where absent */
    int verw_entry;             /* chosen: VERW before every entry (MDS-affected, MD_CLEAR) */
    int l1d_entry;              /* chosen: L1D flush before every VMX entry (L1TF-affected) */
    uint64_t ibpbs;             /* barriers issued on VM switches */
    uint64_t host_spec_ctrl;    /* the host's SPEC_CTRL value, put back after each exit */
};

/* Once at boot: read CPUID and IA32_ARCH_CAPABILITIES, choose the mitigations. */
void spec_init(void);
/* The capabilities and counters (never NULL). */
const struct spec_caps *spec_get(void);
/* The CPU is about to run a vCPU of another VM than the last: IBPB where the CPU has it (SDM 2 IBPB). */
void spec_vm_switch(void);
/*
 * Just before VMRUN/VMLAUNCH: load the vCPU's SPEC_CTRL (the guest reads and writes the MSR directly),
 * then flush L1D (vmx set) or clear the CPU buffers with VERW where the CPU is affected and offers it.
 */
void spec_enter(uint64_t guest_spec_ctrl, int vmx);
/* Just after the exit: returns the guest's SPEC_CTRL as it left it, and puts the host's back. */
uint64_t spec_exit(uint64_t guest_spec_ctrl);
/* Print the `info` line naming each mitigation and whether it is active or not available. */
void spec_print(void);
#endif
