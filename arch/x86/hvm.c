/* Bind the virtualization backend this CPU supports, once at boot. */
#include "arch/x86/hvm.h"
#include "arch/x86/xstate.h"
#include "arch/x86/spec.h"
#include "kernel/errno.h"
#include "kernel/log.h"

const struct hvm_ops *hvm;

int hvm_init(void)
{
    xstate_init();
    xsavec_probe();
    spec_init();
    static const struct hvm_ops *const candidates[] = { &vmx_ops, &svm_ops };
    for (unsigned i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        const struct hvm_ops *ops = candidates[i];
        if (ops->probe() == 0) {
            int rc = ops->cpu_prepare(0);
            if (!rc)
                rc = ops->cpu_enable(0);
            if (rc) {
                log_err("hvm: %s present but could not be enabled (%d)", ops->name, rc);
                return rc;
            }
            hvm = ops;
            log_info("hvm: using %s", ops->name);
            return 0;
        }
    }
    log_warn("hvm: no usable VMX+EPT or SVM+NPT: guests cannot run");
    return -ENODEV;
}

int hvm_cpu_prepare(int cpu)
{
    return hvm ? hvm->cpu_prepare(cpu) : 0;
}

int hvm_cpu_start(int cpu)
{
    xstate_cpu_init();
    return hvm ? hvm->cpu_enable(cpu) : -ENODEV;
}
