/* Guest register state shared by the VMM core, the backends and the instruction emulator. */
#ifndef SHOAL_VMM_REGS_H
#define SHOAL_VMM_REGS_H
#include "arch/x86/guest_regs.h"

/* Execution mode the decoder needs: 16, 32 or 64 (CS.L in long mode; else CS.D/B; real mode is 16). */
int guest_cpu_mode(const struct guest_regs *r);
#endif
