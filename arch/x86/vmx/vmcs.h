/* VMCS field encodings (SDM vol. 3D, appendix B) and VMX instruction wrappers. */
#ifndef SHOAL_VMX_VMCS_H
#define SHOAL_VMX_VMCS_H
#include <stdint.h>

enum vmcs_field {
    VPID = 0x0000,
    GUEST_ES_SEL = 0x0800, GUEST_CS_SEL = 0x0802, GUEST_SS_SEL = 0x0804, GUEST_DS_SEL = 0x0806,
    GUEST_FS_SEL = 0x0808, GUEST_GS_SEL = 0x080A, GUEST_LDTR_SEL = 0x080C, GUEST_TR_SEL = 0x080E,
    HOST_ES_SEL = 0x0C00, HOST_CS_SEL = 0x0C02, HOST_SS_SEL = 0x0C04, HOST_DS_SEL = 0x0C06,
    HOST_FS_SEL = 0x0C08, HOST_GS_SEL = 0x0C0A, HOST_TR_SEL = 0x0C0C,
    MSR_BITMAP = 0x2004, EXIT_MSR_STORE_ADDR = 0x2006, EXIT_MSR_LOAD_ADDR = 0x2008,
    ENTRY_MSR_LOAD_ADDR = 0x200A, TSC_OFFSET = 0x2010, EPT_POINTER = 0x201A,
    GUEST_PHYS_ADDR = 0x2400,
    VMCS_LINK = 0x2800, GUEST_DEBUGCTL = 0x2802, GUEST_PAT = 0x2804, GUEST_EFER = 0x2806,
    HOST_PAT = 0x2C00, HOST_EFER = 0x2C02,
    PIN_CTLS = 0x4000, PROC_CTLS = 0x4002, EXC_BITMAP = 0x4004, PF_MASK = 0x4006, PF_MATCH = 0x4008,
    CR3_TARGETS = 0x400A, EXIT_CTLS = 0x400C, EXIT_MSR_STORE_CNT = 0x400E, EXIT_MSR_LOAD_CNT = 0x4010,
    ENTRY_CTLS = 0x4012, ENTRY_MSR_LOAD_CNT = 0x4014, ENTRY_INTR_INFO = 0x4016, ENTRY_EXC_ERR = 0x4018,
    ENTRY_INSN_LEN = 0x401A, TPR_THRESHOLD = 0x401C, PROC_CTLS2 = 0x401E,
    VM_INSN_ERROR = 0x4400, EXIT_REASON = 0x4402, EXIT_INTR_INFO = 0x4404, EXIT_INTR_ERR = 0x4406,
    IDT_VECT_INFO = 0x4408, IDT_VECT_ERR = 0x440A, EXIT_INSN_LEN = 0x440C, EXIT_INSN_INFO = 0x440E,
    GUEST_ES_LIMIT = 0x4800, GUEST_CS_LIMIT = 0x4802, GUEST_SS_LIMIT = 0x4804, GUEST_DS_LIMIT = 0x4806,
    GUEST_FS_LIMIT = 0x4808, GUEST_GS_LIMIT = 0x480A, GUEST_LDTR_LIMIT = 0x480C, GUEST_TR_LIMIT = 0x480E,
    GUEST_GDTR_LIMIT = 0x4810, GUEST_IDTR_LIMIT = 0x4812,
    GUEST_ES_AR = 0x4814, GUEST_CS_AR = 0x4816, GUEST_SS_AR = 0x4818, GUEST_DS_AR = 0x481A,
    GUEST_FS_AR = 0x481C, GUEST_GS_AR = 0x481E, GUEST_LDTR_AR = 0x4820, GUEST_TR_AR = 0x4822,
    GUEST_INTERRUPTIBILITY = 0x4824, GUEST_ACTIVITY = 0x4826, GUEST_SYSENTER_CS = 0x482A,
    PREEMPT_TIMER = 0x482E,
    HOST_SYSENTER_CS = 0x4C00,
    CR0_MASK = 0x6000, CR4_MASK = 0x6002, CR0_SHADOW = 0x6004, CR4_SHADOW = 0x6006,
    EXIT_QUAL = 0x6400, GUEST_LINEAR = 0x640A,
    GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804,
    GUEST_ES_BASE = 0x6806, GUEST_CS_BASE = 0x6808, GUEST_SS_BASE = 0x680A, GUEST_DS_BASE = 0x680C,
    GUEST_FS_BASE = 0x680E, GUEST_GS_BASE = 0x6810, GUEST_LDTR_BASE = 0x6812, GUEST_TR_BASE = 0x6814,
    GUEST_GDTR_BASE = 0x6816, GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681A, GUEST_RSP = 0x681C,
    GUEST_RIP = 0x681E, GUEST_RFLAGS = 0x6820, GUEST_PENDING_DBG = 0x6822,
    GUEST_SYSENTER_ESP = 0x6824, GUEST_SYSENTER_EIP = 0x6826,
    HOST_CR0 = 0x6C00, HOST_CR3 = 0x6C02, HOST_CR4 = 0x6C04, HOST_FS_BASE = 0x6C06, HOST_GS_BASE = 0x6C08,
    HOST_TR_BASE = 0x6C0A, HOST_GDTR_BASE = 0x6C0C, HOST_IDTR_BASE = 0x6C0E,
    HOST_SYSENTER_ESP = 0x6C10, HOST_SYSENTER_EIP = 0x6C12, HOST_RSP = 0x6C14, HOST_RIP = 0x6C16,
};

static inline uint64_t vmread(uint64_t field)
{
    uint64_t v;
    __asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
    return v;
}

static inline void vmwrite(uint64_t field, uint64_t v)
{
    __asm__ volatile("vmwrite %1, %0" : : "r"(field), "rm"(v) : "cc");
}

/* VMX instructions report failure in CF (VMfailInvalid) or ZF (VMfailValid): 0 on success. */
#define VMX_PA_INSN(name, insn) \
    static inline int name(uint64_t pa) { \
        uint8_t bad; \
        __asm__ volatile(insn " %1; setbe %0" : "=q"(bad) : "m"(pa) : "cc", "memory"); \
        return bad ? -1 : 0; \
    }
VMX_PA_INSN(vmxon, "vmxon")
VMX_PA_INSN(vmclear, "vmclear")
VMX_PA_INSN(vmptrld, "vmptrld")

/* INVEPT / INVVPID with a 128-bit descriptor (SDM vol. 2). type: 1 single context, 2 all contexts. */
static inline int invept(uint64_t type, uint64_t eptp)
{
    struct { uint64_t eptp, zero; } desc = { eptp, 0 };
    uint8_t bad;
    __asm__ volatile("invept %1, %2; setbe %0" : "=q"(bad) : "m"(desc), "r"(type) : "cc", "memory");
    return bad ? -1 : 0;
}

static inline int invvpid(uint64_t type, uint16_t vpid)
{
    struct { uint64_t vpid, addr; } desc = { vpid, 0 };
    uint8_t bad;
    __asm__ volatile("invvpid %1, %2; setbe %0" : "=q"(bad) : "m"(desc), "r"(type) : "cc", "memory");
    return bad ? -1 : 0;
}
#endif
