/* CPU report: CPUID identification, VMX capabilities (from the VT-x backend), SVM capabilities, other features. */
#include "arch/x86/cpuinfo.h"
#include "arch/x86/spec.h"
#include "arch/x86/cpu.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/log.h"

static struct cpu_info ci;

const struct cpu_info *cpuinfo_get(void)
{
    return &ci;
}

static void read_ident(void)
{
    struct cpuid_regs r = cpuid(0, 0);
    uint32_t ext_max = cpuid(0x80000000, 0).eax, fam;
    memcpy(ci.vendor, &r.ebx, 4);
    memcpy(ci.vendor + 4, &r.edx, 4);
    memcpy(ci.vendor + 8, &r.ecx, 4);
    ci.vendor[12] = 0;
    r = cpuid(1, 0);
    /* SDM 2A CPUID: display family/model fold in the extended fields for families 6 and 15. */
    fam = (r.eax >> 8) & 0xf;
    ci.family = fam == 0xf ? fam + ((r.eax >> 20) & 0xff) : fam;
    ci.model = (r.eax >> 4) & 0xf;
    if (fam == 6 || fam == 0xf)
        ci.model |= ((r.eax >> 16) & 0xf) << 4;
    ci.stepping = r.eax & 0xf;
    ci.brand[0] = 0;
    if (ext_max >= 0x80000004) {
        const char *b = ci.brand;
        for (uint32_t i = 0; i < 3; i++) {
            struct cpuid_regs s = cpuid(0x80000002 + i, 0);
            memcpy(ci.brand + 16 * i, &s, 16);
        }
        ci.brand[48] = 0;
        while (*b == ' ')
            b++;
        memmove(ci.brand, b, strlen(b) + 1);
    }
}

static void read_features(void)
{
    uint32_t max = cpuid(0, 0).eax, ext_max = cpuid(0x80000000, 0).eax;
    struct cpuid_regs r = cpuid(1, 0);
    ci.vmx = (r.ecx >> 5) & 1;
    ci.x2apic = (r.ecx >> 21) & 1;
    ci.hypervisor = (r.ecx >> 31) & 1;
    if (max >= 7)
        ci.sha_ni = (cpuid(7, 0).ebx >> 29) & 1;
    if (ext_max >= 0x80000001) {
        r = cpuid(0x80000001, 0);
        ci.svm = (r.ecx >> 2) & 1;
        ci.pdpe1gb = (r.edx >> 26) & 1;
    }
    if (ext_max >= 0x80000007)
        ci.invariant_tsc = (cpuid(0x80000007, 0).edx >> 8) & 1;
}

/* SVM features: CPUID 0x8000000A (APM 2 15.4, APM 3 appendix E.4.9). */
static void read_svm(void)
{
    struct cpuid_regs r;
    if (cpuid(0x80000000, 0).eax < 0x8000000A)
        return;
    r = cpuid(0x8000000A, 0);
    ci.svm_asids = r.ebx;
    ci.npt = r.edx & 1;
    ci.svm_lock = (r.edx >> 2) & 1;
    ci.nrip_save = (r.edx >> 3) & 1;
    ci.vmcb_clean = (r.edx >> 5) & 1;
    ci.flush_by_asid = (r.edx >> 6) & 1;
    ci.decode_assists = (r.edx >> 7) & 1;
}

void cpuinfo_detect(void)
{
    char sum[160];
    memset(&ci, 0, sizeof(ci));
    read_ident();
    read_features();
    if (ci.vmx)
        vmx_report(&ci.vmxr);
    if (ci.svm)
        read_svm();
    cpuinfo_virt_summary(sum, sizeof(sum));
    log_info("cpu: %s family %u model %u, virtualization: %s%s", ci.vendor, ci.family, ci.model, sum,
             ci.vmxr.locked_off ? " [disabled by firmware: IA32_FEATURE_CONTROL locked]" : "");
}

static const char *yn(int v)
{
    return v ? "yes" : "no";
}

void cpuinfo_virt_summary(char *buf, size_t size)
{
    const struct vmx_report *v = &ci.vmxr;
    if (ci.vmx && v->ept)
        ksnprintf(buf, size, "VMX+EPT (vpid %s, unrestricted %s, ept-2m %s, ept-1g %s, ept-ad %s, "
                  "preemption-timer %s)", yn(v->vpid), yn(v->unrestricted), yn(v->ept_2m), yn(v->ept_1g),
                  yn(v->ept_ad), yn(v->preempt_timer));
    else if (ci.vmx)
        ksnprintf(buf, size, "VMX (no EPT)");
    else if (ci.svm && ci.npt)
        ksnprintf(buf, size, "SVM+NPT (asids %u, nrip-save %s, decode-assists %s, vmcb-clean %s, "
                  "flush-by-asid %s)", ci.svm_asids, yn(ci.nrip_save), yn(ci.decode_assists),
                  yn(ci.vmcb_clean), yn(ci.flush_by_asid));
    else if (ci.svm)
        ksnprintf(buf, size, "SVM (no NPT)");
    else
        ksnprintf(buf, size, "none");
}

void cpuinfo_print(void)
{
    char sum[160];
    cpuinfo_virt_summary(sum, sizeof(sum));
    kprintf("cpu: %s family %u model %u stepping %u: %s\n", ci.vendor, ci.family, ci.model, ci.stepping,
            ci.brand[0] ? ci.brand : "(no brand string)");
    kprintf("virtualization: %s\n", sum);
    if (ci.vmx)
        kprintf("vmx: feature-control %s, vmx %s; basic %#llx, true-ctls %s, secondary %s, vmfunc %s\n",
                ci.vmxr.feature_locked ? "locked" : "unlocked", ci.vmxr.locked_off ? "disabled" : "allowed",
                (unsigned long long)ci.vmxr.basic, yn(ci.vmxr.true_ctls), yn(ci.vmxr.secondary), yn(ci.vmxr.vmfunc));
    if (ci.svm)
        kprintf("svm: svm-lock %s\n", yn(ci.svm_lock));
    kprintf("features: x2apic %s, invariant-tsc %s, sha-ni %s, 1g-pages %s, hypervisor %s\n", yn(ci.x2apic),
            yn(ci.invariant_tsc), yn(ci.sha_ni), yn(ci.pdpe1gb), yn(ci.hypervisor));
    spec_print();
}
