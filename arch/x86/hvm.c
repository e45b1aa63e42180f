/* Bind the virtualization backend this CPU supports, once at boot. */
#include "arch/x86/hvm.h"
#include "arch/x86/cpu.h"
#include "kernel/errno.h"
#include "kernel/log.h"

const struct hvm_ops *hvm;
static uint64_t cur_xcr0 = 1;
static int have_xsave;

void hvm_load_xcr0(uint64_t xcr0)
{
    if (!have_xsave || xcr0 == cur_xcr0)
        return;
    __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
    cur_xcr0 = xcr0;
}

/* Guests keep their own XCR0 in hardware while they run; the host itself uses no extended state. */
static void xsave_init(void)
{
    if (!((cpuid(1, 0).ecx >> 26) & 1))
        return;
    write_cr4(read_cr4() | (1ull << 18));      /* CR4.OSXSAVE, so XSETBV is legal for the host */
    have_xsave = 1;
}

int hvm_init(void)
{
    xsave_init();
    static const struct hvm_ops *const candidates[] = { &vmx_ops, &svm_ops };
    for (unsigned i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        const struct hvm_ops *ops = candidates[i];
        if (ops->probe() == 0) {
            int rc = ops->cpu_enable();
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
