/* The XSETBV exit: the guest's XCR0, checked as the CPU would check it before the host loads it. */
#include "vmm/exits.h"
#include "arch/x86/xstate.h"
#include "arch/x86/cpu.h"

/*
 * XSETBV (SDM 2 "XSETBV", SDM 1 13.3): #UD without CR4.OSXSAVE; #GP at CPL > 0, for an XCR other than
 * XCR0, or for a value the CPU would refuse or that the guest's CPUID leaf 0xD does not offer. The host
 * loads the accepted value itself before each entry: an unchecked one would fault in the host.
 */
int exit_xsetbv(struct vcpu *v, struct vm_exit *ex)
{
    uint32_t index = (uint32_t)v->regs.gpr[GPR_RCX];
    uint64_t val = (v->regs.gpr[GPR_RAX] & 0xffffffffu) | ((v->regs.gpr[GPR_RDX] & 0xffffffffu) << 32);
    uint64_t offered = cpuid_guest_xcr0(v);

    vcpu_sync_full(v);
    if (!(v->regs.cr4 & CR4_OSXSAVE)) {
        vcpu_queue_exception(v, 6, 0, 0);
        return 0;
    }
    if (index != 0 || ((v->regs.ss.attr >> 5) & 3) || !xcr0_valid(val, offered)) {
        vcpu_queue_exception(v, 13, 1, 0);
        return 0;
    }
    v->regs.xcr0 = val;
    vcpu_skip(v, ex);
    return 0;
}
