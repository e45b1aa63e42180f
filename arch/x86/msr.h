/* Model-specific register numbers (SDM 4 chapter 2, APM 2 appendix A) and the reset values shoal relies on. */
#ifndef SHOAL_ARCH_MSR_H
#define SHOAL_ARCH_MSR_H

/* Architectural and Intel MSRs. */
#define MSR_TSC              0x10
#define MSR_PLATFORM_ID      0x17
#define MSR_APIC_BASE        0x1B
#define MSR_FEATURE_CONTROL  0x3A
#define MSR_SPEC_CTRL        0x48
#define MSR_PRED_CMD         0x49
#define MSR_UCODE_REV        0x8B             /* BIOS_SIGN_ID: microcode revision, read after writing 0 */
#define MSR_MTRRCAP          0xFE
#define MSR_ARCH_CAPS        0x10A
#define MSR_FLUSH_CMD        0x10B
#define MSR_SYSENTER_CS      0x174
#define MSR_SYSENTER_ESP     0x175
#define MSR_SYSENTER_EIP     0x176
#define MSR_MISC_ENABLE      0x1A0
#define MSR_PAT              0x277
#define MSR_MTRR_DEF_TYPE    0x2FF
#define MSR_TSC_DEADLINE     0x6E0

/* VMX capability MSRs (SDM 3D appendix A). */
#define MSR_VMX_BASIC        0x480
#define MSR_VMX_PINBASED     0x481
#define MSR_VMX_PROCBASED    0x482
#define MSR_VMX_EXIT         0x483
#define MSR_VMX_ENTRY        0x484
#define MSR_VMX_MISC         0x485
#define MSR_VMX_CR0_FIXED0   0x486
#define MSR_VMX_CR0_FIXED1   0x487
#define MSR_VMX_CR4_FIXED0   0x488
#define MSR_VMX_CR4_FIXED1   0x489
#define MSR_VMX_PROCBASED2   0x48B
#define MSR_VMX_EPT_VPID_CAP 0x48C
#define MSR_VMX_TRUE_PIN     0x48D
#define MSR_VMX_TRUE_PROC    0x48E
#define MSR_VMX_TRUE_EXIT    0x48F
#define MSR_VMX_TRUE_ENTRY   0x490
#define MSR_VMX_VMFUNC       0x491

/* Long mode and SYSCALL (SDM 4 table 2-2). */
#define MSR_EFER             0xC0000080
#define MSR_STAR             0xC0000081
#define MSR_LSTAR            0xC0000082
#define MSR_CSTAR            0xC0000083
#define MSR_SFMASK           0xC0000084
#define MSR_FS_BASE          0xC0000100
#define MSR_GS_BASE          0xC0000101
#define MSR_KERNEL_GS_BASE   0xC0000102
#define MSR_TSC_AUX          0xC0000103

/* AMD SVM (APM 2 15.30). */
#define MSR_VM_CR            0xC0010114
#define MSR_VM_HSAVE_PA      0xC0010117

/* IA32_PAT after reset: WB, WT, UC-, UC in each half (SDM 3A 12.12.4). */
#define PAT_POWER_ON         0x0007040600070406ull
#endif
