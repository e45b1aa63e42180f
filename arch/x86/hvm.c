/* Bind the virtualization backend this CPU supports, once at boot. */
#include "arch/x86/hvm.h"
#include "arch/x86/cpu.h"
#include "kernel/errno.h"
#include "kernel/log.h"

const struct hvm_ops *hvm;
static int have_xsave;

/*
 * No cached "current" value: where the CPU does not honour the XSETBV intercept (QEMU TCG's SVM),
 * a guest changes XCR0 behind the VMM's back, so the hardware register is the only truth.
 */
void hvm_load_xcr0(uint64_t xcr0)
{
    if (have_xsave)
        __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0 | 1u), "d"((uint32_t)(xcr0 >> 32)));  /* x87 is never off */
}

uint64_t hvm_read_xcr0(uint64_t fallback)
{
    uint32_t lo, hi;
    if (!have_xsave)
        return fallback;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return lo | ((uint64_t)hi << 32);
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
