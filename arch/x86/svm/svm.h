/* AMD-V backend internals shared by svm.c and npt.c. */
#ifndef SHOAL_SVM_H
#define SHOAL_SVM_H
#include "arch/x86/slpt.h"

extern const struct slpt_fmt npt_fmt;

/* Assembly: run the guest once (see entry.S). gprs points at struct guest_regs.gpr. */
void svm_enter(uint64_t vmcb_pa, uint64_t *gprs, uint64_t host_save_pa);
struct vm_exit;
/* Translate the VMCB's exit code and info fields into ex; rip is the guest RIP at the exit. */
void svm_normalise_exit(void *vmcb, uint64_t rip, struct vm_exit *ex);
#endif
