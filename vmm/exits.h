/* Exit handlers that live in their own files, for the dispatch table in exit.c. */
#ifndef SHOAL_VMM_EXITS_H
#define SHOAL_VMM_EXITS_H
#include "vmm/vm.h"

/* Each: 0 to resume the guest, 1 to end the slice, negative after stopping the VM. */
int exit_cpuid(struct vcpu *v, struct vm_exit *ex);
int exit_msr(struct vcpu *v, struct vm_exit *ex);
int exit_xsetbv(struct vcpu *v, struct vm_exit *ex);
/* The XCR0 bits v may enable: what the host supports and v's CPUID leaf 0xD offers (XSETBV, restore). */
uint64_t cpuid_guest_xcr0(struct vcpu *v);
int exit_io(struct vcpu *v, struct vm_exit *ex);
int exit_npf(struct vcpu *v, struct vm_exit *ex);
/* Advance RIP past the exiting instruction. */
void vcpu_skip(struct vcpu *v, const struct vm_exit *ex);
#endif
