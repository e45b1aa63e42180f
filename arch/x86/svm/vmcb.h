/* VMCB layout (AMD APM vol. 2, appendix B, tables B-1 and B-2): control area and state save area offsets. */
#ifndef SHOAL_SVM_VMCB_H
#define SHOAL_SVM_VMCB_H
#include <stdint.h>

/* Control area */
#define VMCB_INTERCEPT_CR       0x000   /* u32: reads 0-15, writes 16-31 */
#define VMCB_INTERCEPT_EXC      0x008   /* u32: one bit per exception vector */
#define VMCB_INTERCEPT_MISC1    0x00C
#define VMCB_INTERCEPT_MISC2    0x010
#define VMCB_IOPM_BASE          0x040
#define VMCB_MSRPM_BASE         0x048
#define VMCB_TSC_OFFSET         0x050
#define VMCB_ASID               0x058   /* u32 */
#define VMCB_TLB_CONTROL        0x05C   /* u8 */
#define VMCB_VINTR              0x060   /* u64: V_TPR, V_IRQ (8), V_INTR_PRIO (16-19), V_IGN_TPR (20), V_INTR_MASKING (24), vector (32-39) */
#define VMCB_INT_SHADOW         0x068   /* bit 0: interrupt shadow */
#define VMCB_EXITCODE           0x070
#define VMCB_EXITINFO1          0x078
#define VMCB_EXITINFO2          0x080
#define VMCB_EXITINTINFO        0x088
#define VMCB_NP_ENABLE          0x090
#define VMCB_EVENTINJ           0x0A8
#define VMCB_N_CR3              0x0B0
#define VMCB_CLEAN              0x0C0
#define VMCB_NRIP               0x0C8

/* State save area */
#define VMCB_ES                 0x400   /* each segment: u16 sel, u16 attr, u32 limit, u64 base */
#define VMCB_CS                 0x410
#define VMCB_SS                 0x420
#define VMCB_DS                 0x430
#define VMCB_FS                 0x440
#define VMCB_GS                 0x450
#define VMCB_GDTR               0x460
#define VMCB_LDTR               0x470
#define VMCB_IDTR               0x480
#define VMCB_TR                 0x490
#define VMCB_CPL                0x4CB
#define VMCB_EFER               0x4D0
#define VMCB_CR4                0x548
#define VMCB_CR3                0x550
#define VMCB_CR0                0x558
#define VMCB_DR7                0x560
#define VMCB_DR6                0x568
#define VMCB_RFLAGS             0x570
#define VMCB_RIP                0x578
#define VMCB_RSP                0x5D8
#define VMCB_RAX                0x5F8
#define VMCB_CR2                0x640
#define VMCB_G_PAT              0x668

/* MISC1 intercepts */
#define INTERCEPT_INTR          (1u << 0)
#define INTERCEPT_NMI           (1u << 1)
#define INTERCEPT_VINTR         (1u << 4)
#define INTERCEPT_CPUID         (1u << 18)
#define INTERCEPT_INVD          (1u << 22)
#define INTERCEPT_HLT           (1u << 24)
#define INTERCEPT_IOIO          (1u << 27)
#define INTERCEPT_MSR           (1u << 28)
#define INTERCEPT_SHUTDOWN      (1u << 31)
/* MISC2 intercepts */
#define INTERCEPT_VMRUN         (1u << 0)
#define INTERCEPT_VMMCALL       (1u << 1)
#define INTERCEPT_VMLOAD        (1u << 2)
#define INTERCEPT_VMSAVE        (1u << 3)
#define INTERCEPT_STGI          (1u << 4)
#define INTERCEPT_CLGI          (1u << 5)
#define INTERCEPT_SKINIT        (1u << 6)
#define INTERCEPT_RDTSCP        (1u << 7)
#define INTERCEPT_WBINVD        (1u << 9)
#define INTERCEPT_XSETBV        (1u << 13)

/* Exit codes (APM vol. 2, appendix C) */
#define SVM_EXIT_EXC_BASE       0x40
#define SVM_EXIT_INTR           0x60
#define SVM_EXIT_NMI            0x61
#define SVM_EXIT_VINTR          0x64
#define SVM_EXIT_CPUID          0x72
#define SVM_EXIT_INVD           0x76
#define SVM_EXIT_HLT            0x78
#define SVM_EXIT_IOIO           0x7B
#define SVM_EXIT_MSR            0x7C
#define SVM_EXIT_SHUTDOWN       0x7F
#define SVM_EXIT_VMRUN          0x80
#define SVM_EXIT_VMMCALL        0x81
#define SVM_EXIT_VMLOAD         0x82
#define SVM_EXIT_VMSAVE         0x83
#define SVM_EXIT_STGI           0x84
#define SVM_EXIT_CLGI           0x85
#define SVM_EXIT_SKINIT         0x86
#define SVM_EXIT_RDTSCP         0x87
#define SVM_EXIT_WBINVD         0x89
#define SVM_EXIT_XSETBV         0x8D
#define SVM_EXIT_NPF            0x400
#define SVM_EXIT_INVALID        0xFFFFFFFFFFFFFFFFull

static inline uint64_t *vmcb64(void *vmcb, unsigned off) { return (uint64_t *)((uint8_t *)vmcb + off); }
static inline uint32_t *vmcb32(void *vmcb, unsigned off) { return (uint32_t *)((uint8_t *)vmcb + off); }
static inline uint16_t *vmcb16(void *vmcb, unsigned off) { return (uint16_t *)((uint8_t *)vmcb + off); }
static inline uint8_t *vmcb8(void *vmcb, unsigned off) { return (uint8_t *)vmcb + off; }
#endif
