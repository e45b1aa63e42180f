/* Fakes for the chip unit tests: a fake clock and TSC, recorded vCPU calls, console bytes and GSI levels. */
#ifndef SHOAL_VMM_DEV_SHIM_H
#define SHOAL_VMM_DEV_SHIM_H
#include <stdint.h>
#include "vmm/vm.h"

extern uint64_t fake_now, fake_tsc;
extern char fake_console[256];
extern int fake_console_len, fake_kicks, fake_inits[4], fake_sipis[4], fake_gsi[24];
/* A zeroed VM with n vCPUs (ids 0..n-1); fake_vm_free runs its destroy hooks. */
struct vm *fake_vm(int n);
void fake_vm_free(struct vm *vm);
/* Move the fake clock forward and run due timers. */
void fake_advance(uint64_t ns);
#endif
