/* CPU report: vendor, model, virtualization extensions and their capabilities, other features. */
#ifndef SHOAL_ARCH_CPUINFO_H
#define SHOAL_ARCH_CPUINFO_H
#include <stdint.h>
#include <stddef.h>
#include "arch/x86/vmx/vmxcap.h"

struct cpu_info {
    char vendor[13];
    char brand[49];
    uint32_t family, model, stepping;
    int vmx, svm;                 /* extension present (CPUID) */
    struct vmx_report vmxr;       /* VMX capabilities, from the VT-x backend (zero without VMX) */
    int npt, nrip_save, decode_assists, svm_lock, vmcb_clean, flush_by_asid; /* SVM capabilities */
    uint32_t svm_asids;
    int x2apic, invariant_tsc, sha_ni, pdpe1gb, hypervisor;
};

/* Read CPUID, and ask the VT-x backend for the VMX capabilities where CPUID reports VMX. */
void cpuinfo_detect(void);
const struct cpu_info *cpuinfo_get(void);
/* Print the report lines `info` shows, including "virtualization: VMX+EPT" or "SVM+NPT" or "none". */
void cpuinfo_print(void);
/* Write the one-line virtualization summary (e.g. "SVM+NPT (asids 16, ...)") into buf. */
void cpuinfo_virt_summary(char *buf, size_t size);
#endif
