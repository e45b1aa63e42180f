/* A valid vCPU record (a 64-bit guest as carryon64 runs, an interrupt queued) for the unit tests and fuzz seeds. */
#ifndef SHOAL_TESTS_VCPUREC_SAMPLE_H
#define SHOAL_TESTS_VCPUREC_SAMPLE_H
#include <string.h>
#include "vmm/vcpustate.h"
#include "arch/x86/msr.h"

static const struct vcpu_limits sample_limits = { .xcr0_allowed = 7, .cr4_allowed = 0x770fff, .maxphyaddr = 40,
                                                   .spec_ctrl_allowed = 7 };

static inline struct vcpu_record sample_record(void)
{
    struct vcpu_record r;
    memset(&r, 0, sizeof(r));
    for (int i = 0; i < GPR_COUNT; i++)
        r.regs.gpr[i] = 0x1111111111111111ull * (uint64_t)i;
    r.regs.rip = 0x10040;
    r.regs.rflags = 0x202;
    r.regs.cr0 = 0x80000031;
    r.regs.cr3 = 0x1000;
    r.regs.cr4 = 0x620;
    r.regs.efer = 0x500;
    r.regs.xcr0 = 7;
    r.regs.cs = (struct seg){ 0x08, 0xA9B, 0xffffffff, 0 };
    r.regs.ds = r.regs.es = r.regs.ss = r.regs.fs = r.regs.gs = (struct seg){ 0x10, 0xC93, 0xffffffff, 0 };
    r.regs.tr = (struct seg){ 0, 0x8B, 0x67, 0 };
    r.regs.gdtr_base = 0x10800;
    r.regs.gdtr_limit = 23;
    r.regs.idtr_limit = 0xfff;
    r.regs.lstar = 0xffffffff81000000ull;
    r.ev.inject = HVM_INJECT_VALID | 0x40;           /* external interrupt 0x40 */
    r.ev.tsc_offset = (uint64_t)-12345;
    r.ev.dr7 = 0x400;
    r.ev.pat = PAT_POWER_ON;
    r.ev.spec_ctrl = 4;                              /* SSBD */
    r.guest_tsc = 123456789;
    r.irq_pending[1] = 1;
    return r;
}
#endif
