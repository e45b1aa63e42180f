/* RDMSR/WRMSR exits: an explicit list of emulated MSRs; anything else is #GP to the guest. */
#include "vmm/exits.h"
#include "arch/x86/cpu.h"
#include "vmm/vcpustate.h"
#include "kernel/log.h"
#include "kernel/errno.h"

/*
 * AMD model-specific MSRs that Linux reads and writes without a fault handler on the family 17h (EPYC)
 * model: KVM answers them the same way (reads give these values, writes are accepted and ignored).
 * AMD PPR for family 17h: NB_CFG bit 46 is EnableCF8ExtCfg, which Linux's amd_bus code sets; DE_CFG bit 1
 * says LFENCE is dispatch-serializing, true of every Zen core.
 */
static const struct { uint32_t msr; uint64_t val; } amd_msrs[] = {
    { 0xC0010010, 0 },                         /* SYSCFG: no memory encryption, no MTRR fix-ups */
    { 0xC0010015, 0 },                         /* HWCR */
    { 0xC001001F, 0 },                         /* NB_CFG */
    { 0xC0010058, 0 },                         /* MMIO_CONF_BASE: no MMCONFIG window */
    { 0xC0011029, 2 },                         /* DE_CFG: LFENCE serializing */
    { 0xC001102A, 0 },                         /* BU_CFG2 */
};

/* Index of msr in amd_msrs, or -1. */
static int amd_msr(uint32_t msr)
{
    for (unsigned i = 0; i < sizeof(amd_msrs) / sizeof(amd_msrs[0]); i++)
        if (amd_msrs[i].msr == msr)
            return (int)i;
    return -1;
}

static int msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    int amd = amd_msr(msr);
    if (amd >= 0) {
        *val = amd_msrs[amd].val;
        return 0;
    }
    switch (msr) {
    case MSR_TSC: *val = rdtsc() + v->tsc_offset; return 0;   /* what RDTSC shows the guest */
    case MSR_FEATURE_CONTROL: *val = 1; return 0;         /* locked, VMX and SMX off */
    case MSR_PLATFORM_ID: case MSR_MTRRCAP: case MSR_MTRR_DEF_TYPE: case MSR_UCODE_REV: *val = 0; return 0;
    case MSR_APIC_BASE: *val = 0xFEE00000ull | (1u << 11) | (v->id == 0 ? 1u << 8 : 0); return 0;
    case MSR_MISC_ENABLE: *val = 1; return 0;    /* fast strings */
    case MSR_PAT: *val = PAT_POWER_ON; return 0;
    case MSR_EFER: vcpu_sync_full(v); *val = v->regs.efer; return 0;
    default: return -1;
    }
}

static int msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    if (amd_msr(msr) >= 0)
        return 0;
    switch (msr) {
    case MSR_APIC_BASE: case MSR_MTRR_DEF_TYPE: case MSR_PAT: case MSR_MISC_ENABLE: case MSR_UCODE_REV:
        return 0;                                /* accepted and ignored: guest RAM is write-back */
    case MSR_EFER:
        if (val & ~EFER_GUEST_ALLOWED)
            return -1;
        vcpu_sync_full(v);
        /* LMA is the CPU's to set; keep the current one (it follows CR0.PG with LME). */
        v->regs.efer = (val & ~EFER_LMA) | (v->regs.efer & EFER_LMA);
        vcpu_put_full(v);
        return 0;
    default:
        return -1;
    }
}

/* The interrupt chip's MSRs first (x2APIC, TSC deadline, APIC base), then shoal's own list. */
static int chip_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    const struct irq_chip *c = v->vm->irqchip;
    int rc = c && c->msr_read ? c->msr_read(v, msr, val) : -ENOENT;
    return rc == -ENOENT ? msr_read(v, msr, val) : rc;
}

static int chip_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    const struct irq_chip *c = v->vm->irqchip;
    int rc = c && c->msr_write ? c->msr_write(v, msr, val) : -ENOENT;
    return rc == -ENOENT ? msr_write(v, msr, val) : rc;
}

int exit_msr(struct vcpu *v, struct vm_exit *ex)
{
    uint32_t msr = (uint32_t)v->regs.gpr[GPR_RCX];
    uint64_t val;
    if (ex->code == EXIT_MSR_READ) {
        if (chip_read(v, msr, &val) < 0) {
            log_debug("vm %s: rdmsr %#x: #GP", v->vm->name, msr);
            vcpu_queue_exception(v, 13, 1, 0);
            return 0;
        }
        v->regs.gpr[GPR_RAX] = val & 0xffffffffu;
        v->regs.gpr[GPR_RDX] = val >> 32;
    } else {
        val = (v->regs.gpr[GPR_RAX] & 0xffffffffu) | (v->regs.gpr[GPR_RDX] << 32);
        if (chip_write(v, msr, val) < 0) {
            log_debug("vm %s: wrmsr %#x <- %#llx: #GP", v->vm->name, msr, (unsigned long long)val);
            vcpu_queue_exception(v, 13, 1, 0);
            return 0;
        }
    }
    vcpu_skip(v, ex);
    return 0;
}
