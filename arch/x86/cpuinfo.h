/* CPU report: vendor, model, virtualization extensions and their capabilities, other features. */
#ifndef SHOAL_ARCH_CPUINFO_H
#define SHOAL_ARCH_CPUINFO_H
#include <stdint.h>

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
};

/* Read CPUID (and the VMX capability MSRs, only where their capability bits say they exist). */
void cpuinfo_detect(void);
const struct cpu_info *cpuinfo_get(void);
/* Print the report lines `info` shows, including "virtualization: VMX+EPT" or "SVM+NPT" or "none". */
void cpuinfo_print(void);
#endif
