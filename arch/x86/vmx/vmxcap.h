/* What the CPU's VMX capability MSRs offer, as the VT-x backend reads them: for the `info` report. */
#ifndef SHOAL_VMX_VMXCAP_H
#define SHOAL_VMX_VMXCAP_H
#include <stdint.h>

struct vmx_report {
    int feature_locked;           /* IA32_FEATURE_CONTROL bit 0 */
    int locked_off;               /* locked with VMX outside SMX disabled: firmware turned VMX off */
    int true_ctls, secondary, vmfunc;
    int ept, vpid, unrestricted, ept_2m, ept_1g, ept_ad, preempt_timer;
    /* The raw capability MSRs that were read (0 when their gate said absent). */
    uint64_t basic, pinbased, procbased, procbased2, ept_vpid_cap, vmfunc_ctls;
};

/*
 * Fill r from IA32_FEATURE_CONTROL and the VMX capability MSRs (SDM 3D appendix A), reading each only
 * when an earlier one says it exists. Only on a CPU whose CPUID reports VMX; changes nothing.
 */
void vmx_report(struct vmx_report *r);
#endif
