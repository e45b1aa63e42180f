/* Intel VT-x backend (placeholder while the VMX backend is written). */
#include "arch/x86/hvm.h"
#include "kernel/errno.h"
static int vmx_probe(void) { return -ENODEV; }
const struct hvm_ops vmx_ops = { .name = "VMX+EPT", .probe = vmx_probe };
