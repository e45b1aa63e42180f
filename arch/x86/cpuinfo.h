/* CPU report: vendor, model, virtualization extensions and their capabilities, other features. */
#ifndef SHOAL_ARCH_CPUINFO_H
#define SHOAL_ARCH_CPUINFO_H
#include <stdint.h>
#include <stddef.h>

struct cpu_info {
    char vendor[13];
    char brand[49];
    uint32_t family, model, stepping;
    int vmx, svm;                 /* extension present (CPUID) */
    int vmx_locked_off;           /* IA32_FEATURE_CONTROL locked with VMX disabled */
    int ept, vpid, unrestricted, ept_2m, ept_1g, ept_ad, preempt_timer;   /* VMX capabilities */
    int npt, nrip_save, decode_assists, svm_lock, vmcb_clean, flush_by_asid; /* SVM capabilities */
    uint32_t svm_asids;
    int x2apic, invariant_tsc, sha_ni, pdpe1gb, hypervisor;
    /* VMX detail: the raw capability MSRs that were read (0 when their gate said absent). */
    int vmx_feature_locked;       /* IA32_FEATURE_CONTROL bit 0 */
    int vmx_true_ctls, vmx_secondary, vmfunc;
    uint64_t vmx_basic, vmx_pinbased, vmx_procbased, vmx_procbased2, vmx_ept_vpid_cap, vmx_vmfunc;
};

/* Read CPUID (and the VMX capability MSRs, only where their capability bits say they exist). */
void cpuinfo_detect(void);
const struct cpu_info *cpuinfo_get(void);
/* Print the report lines `info` shows, including "virtualization: VMX+EPT" or "SVM+NPT" or "none". */
void cpuinfo_print(void);
/* Write the one-line virtualization summary (e.g. "SVM+NPT (asids 16, ...)") into buf. */
void cpuinfo_virt_summary(char *buf, size_t size);
#endif
