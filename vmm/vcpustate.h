/* The vCPU record of a VM's saved state (migration, `vm move`): plain data, checked before any of it is loaded. */
#ifndef SHOAL_VMM_VCPUSTATE_H
#define SHOAL_VMM_VCPUSTATE_H
#include <stdint.h>
#include "arch/x86/hvm.h"
#include "arch/x86/cpu.h"
#include "vmm/dev/snapshot.h"

#define SNAP_TAG_VCPU        0x55504356u      /* "VCPU" */
#define VCPU_RECORD_VERSION  1

/* EFER bits a guest may set with WRMSR (vmm/msr.c) and a restored record may hold: SCE, LME, LMA, NXE. */
#define EFER_GUEST_ALLOWED   (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

/* Everything of one vCPU but its XSAVE area and DR0-3/DR6 (xstate_snapshot) and its LAPIC (a device). */
struct vcpu_record {
    struct guest_regs regs;          /* GPRs, RIP, RFLAGS, segments, GDTR/IDTR, CRs, EFER, XCR0, MSRs */
    struct hvm_events ev;            /* queued event, interrupt shadow, NMI blocking, TSC offset, DR7, PAT */
    uint64_t guest_tsc;              /* the guest's TSC when saved: the restored one continues from it */
    uint64_t irq_pending[4];         /* direct vectors (VMs without an interrupt chip) */
    struct hvm_event exc;            /* exception the VMM queued and has not yet handed to the backend */
    uint8_t exc_pending, halted, wait_sipi;
};

/* What the destination allows: XCR0 bits (host and the guest's CPUID), CR4 bits, physical address width,
 * SPEC_CTRL bits (the host loads the guest's value with WRMSR before each entry: a reserved bit would #GP). */
struct vcpu_limits {
    uint64_t xcr0_allowed;
    uint64_t cr4_allowed;
    int maxphyaddr;
    uint64_t spec_ctrl_allowed;      /* IA32_SPEC_CTRL bits this CPU has (0: no such MSR) */
};

/*
 * Walk r both ways through s (versioned). Restoring, the record is hostile: after reading it is checked
 * with vcpu_record_check against lim and refused (s->err -EINVAL, s->why) when bad.
 */
void vcpu_record_snapshot(struct vcpu_record *r, struct snap *s, const struct vcpu_limits *lim);
/*
 * Check r as the hardware's VM-entry checks would (SDM 3C 27.3.1, APM 15.5.1) and as the VMM's own
 * exits would (XSETBV, WRMSR): 0, or -EINVAL with *why naming the first bad field.
 */
int vcpu_record_check(const struct vcpu_record *r, const struct vcpu_limits *lim, const char **why);

struct vcpu;
/*
 * Save or restore vCPU v through s: the record above, then xstate_snapshot. v must not run (its VM
 * paused, not inside its slice). Restoring checks everything before loading anything into the backend.
 * Returns s->err (0, -EINVAL with s->why, -EPROTO for another version, -ENOSPC saving).
 */
int vcpu_snapshot(struct vcpu *v, struct snap *s);
/* A record big enough for every vCPU record and XSAVE area of this host (sizing save buffers). */
#define VCPU_RECORD_MAX (sizeof(struct vcpu_record) + 128 + 16384)
#endif
