/* Guest execution mode from control registers and the CS descriptor (SDM 3A 2.2, APM 2 4.8). */
#include "vmm/regs.h"
#include "arch/x86/cpu.h"

int guest_cpu_mode(const struct guest_regs *r)
{
    if (!(r->cr0 & CR0_PE))
        return 16;
    if ((r->efer & EFER_LMA) && (r->cs.attr & SEG_ATTR_L))
        return 64;
    return (r->cs.attr & SEG_ATTR_DB) ? 32 : 16;
}
