/* Bind the virtualization backend this CPU supports, once at boot. */
#include "arch/x86/hvm.h"
#include "arch/x86/xstate.h"
#include "arch/x86/spec.h"
#include "arch/x86/msr.h"
#include "kernel/errno.h"
#include "kernel/log.h"

const struct hvm_ops *hvm;

void hvm_msr_pass_through(uint8_t *map, void (*pass)(uint8_t *map, uint32_t msr))
{
    static const uint32_t guest_owned[] = {
        MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
    };
    for (unsigned i = 0; i < sizeof(guest_owned) / sizeof(guest_owned[0]); i++)
        pass(map, guest_owned[i]);
    if (spec_get()->spec_ctrl)
        pass(map, MSR_SPEC_CTRL);
    if (spec_get()->ibpb)
        pass(map, MSR_PRED_CMD);
}

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
