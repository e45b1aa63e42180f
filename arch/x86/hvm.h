/* The vendor-neutral virtualization interface: one ops table per backend, exits normalised to struct vm_exit. */
#ifndef SHOAL_ARCH_HVM_H
#define SHOAL_ARCH_HVM_H
#include <stdint.h>
#include "arch/x86/guest_regs.h"

/* Normalised exit codes: the VMM core dispatches on these through one table. */
enum vm_exit_code {
    EXIT_NONE = 0,      /* slice over or host interrupt: nothing for the core to do */
    EXIT_CPUID,
    EXIT_MSR_READ,
    EXIT_MSR_WRITE,
    EXIT_IO,
    EXIT_NPF,           /* EPT violation / nested page fault: MMIO or a stray access */
    EXIT_HLT,
    EXIT_INTR_WINDOW,
    EXIT_XSETBV,
    EXIT_INVD,          /* INVD or WBINVD */
    EXIT_SHUTDOWN,      /* triple fault */
    EXIT_HYPERCALL,     /* VMCALL / VMMCALL */
    EXIT_VMINSN,        /* the guest tried a VMX or SVM instruction */
    EXIT_EXCEPTION,     /* an intercepted guest exception */
    EXIT_CR_ACCESS,
    EXIT_FAIL_ENTRY,    /* VM entry failed: the VM cannot run */
    EXIT_UNKNOWN,       /* anything else the backend could not normalise */
    EXIT_CODE_COUNT
};

struct vm_exit {
    enum vm_exit_code code;
    uint32_t inst_len;          /* length of the exiting instruction; 0 when the CPU did not say */
    uint64_t raw;               /* the vendor's own exit reason, for dumps */
    union {
        struct { uint16_t port; uint8_t size, in, string, rep; } io;
        struct { uint64_t gpa; uint8_t write, fetch, present; } npf;
        struct { uint32_t vector, error; } exc;
        struct { uint64_t qual, info; const char *why; } fail;
    };
};

enum hvm_event_type { EVENT_EXTINT = 0, EVENT_NMI = 2, EVENT_EXCEPTION = 3, EVENT_SOFTINT = 4 };

struct hvm_event {
    uint8_t vector;
    uint8_t type;               /* enum hvm_event_type */
    uint8_t has_error;
    uint32_t error;
};

/*
 * What only the VMCS/VMCB holds beyond struct guest_regs (the vCPU record of migration, vmm/vcpustate.c):
 * the event queued for the next entry (an injection, or the re-delivery of one an exit interrupted,
 * SDM 3C 27.2.4 / APM 15.7.2), blocking by STI/MOV SS and by NMI, the activity state, the TSC offset
 * (guest TSC = host TSC + offset), DR7, the guest PAT, DR6 where the VMCB holds it (SVM), SPEC_CTRL.
 */
struct hvm_events {
    uint32_t inject;            /* vector | type << 8 | has_error << 11 | valid << 31 (SDM 3C 24.8.3) */
    uint32_t inject_error;
    uint32_t inject_len;        /* instruction length of a software event (VMX; 0 on SVM) */
    uint8_t int_shadow;         /* 1: blocking by STI or MOV SS */
    uint8_t nmi_blocked;
    uint8_t activity;           /* 0 active (shoal intercepts HLT: never anything else) */
    uint8_t pad;
    uint64_t tsc_offset;
    uint64_t dr7, pat;
    uint64_t dr6;               /* SVM: the VMCB's; VMX: unused, 0 (DR6 stays in hardware: arch/x86/xstate.c) */
    uint64_t spec_ctrl;         /* the guest's IA32_SPEC_CTRL (it writes the MSR directly: arch/x86/spec.h) */
};
#define HVM_INJECT_VALID (1u << 31)

enum hvm_prot { HVM_R = 1, HVM_W = 2, HVM_X = 4, HVM_RWX = 7 };

struct hvm_vm;                  /* backend state of one VM (second-level tables, ASID/VPID) */
struct hvm_vcpu;                /* backend state of one vCPU (VMCS or VMCB) */

struct hvm_ops {
    const char *name;           /* "VMX+EPT" or "SVM+NPT" */
    /* 0 when this CPU has the extension and second-level paging, else -ENODEV (with a logged reason). */
    int (*probe)(void);
    /* On the boot CPU, before CPU cpu starts (0: the boot CPU itself, first): allocate what that CPU will
     * need (VMXON region, host save areas) and, for cpu 0, what all share. 0 or -ENOMEM. */
    int (*cpu_prepare)(int cpu);
    /* On CPU cpu itself: turn the extension on (VMXON / EFER.SVME). 0 or negative errno. */
    int (*cpu_enable)(int cpu);
    /* Create an empty address space. 0 and *out, or -ENOMEM. */
    int (*vm_init)(struct hvm_vm **out);
    void (*vm_destroy)(struct hvm_vm *vm);
    /* Map [gpa, gpa+len) to host physical hpa with prot; 2 MiB pages where both are aligned. */
    int (*map)(struct hvm_vm *vm, uint64_t gpa, uint64_t hpa, uint64_t len, int prot);
    /* Create a vCPU of vm with regs as its first state. 0 and *out, or negative errno. */
    int (*vcpu_init)(struct hvm_vm *vm, const struct guest_regs *regs, struct hvm_vcpu **out);
    void (*vcpu_destroy)(struct hvm_vcpu *vcpu);
    /* On the CPU that last ran vcpu: hand its state back to memory (VMCLEAR) so that another CPU may run it
     * next; that CPU loads it and its own host state then. */
    void (*vcpu_release)(struct hvm_vcpu *vcpu);
    /*
     * Enter the guest until something needs the VMM or slice_ns passes. GPRs, RIP and RFLAGS in regs
     * are loaded before entry and stored after exit; the rest of the state stays in the backend.
     * Fills *exit. Returns 0, or a negative errno when the backend itself failed.
     */
    int (*vcpu_run)(struct hvm_vcpu *vcpu, struct guest_regs *regs, struct vm_exit *exit, uint64_t slice_ns);
    /* Bulk state transfer of everything beyond GPRs/RIP/RFLAGS (segments, control registers, ...). */
    void (*get_state)(struct hvm_vcpu *vcpu, struct guest_regs *regs);
    void (*set_state)(struct hvm_vcpu *vcpu, const struct guest_regs *regs);
    /* Queue ev for delivery at the next entry. -EBUSY when an event is already queued. */
    int (*inject_event)(struct hvm_vcpu *vcpu, const struct hvm_event *ev);
    /* 1 when the guest can take an external interrupt now (IF set, no interrupt shadow, nothing queued). */
    int (*irq_ready)(struct hvm_vcpu *vcpu);
    /* Ask for (on=1) or stop (on=0) an exit as soon as the guest can take an interrupt. */
    void (*irq_window)(struct hvm_vcpu *vcpu, int on);
    /* Read the state of struct hvm_events from the VMCS/VMCB (after an exit, vCPU not running). */
    void (*get_events)(struct hvm_vcpu *vcpu, struct hvm_events *ev);
    /* Load it (a checked record: vmm/vcpurec.c). 0, or -EINVAL for what this backend cannot represent. */
    int (*set_events)(struct hvm_vcpu *vcpu, const struct hvm_events *ev);
    /*
     * Clear (on=1) or restore (on=0) the write permission of every 4 KiB page of [gpa, gpa+len) (4 KiB
     * aligned; 2 MiB mappings are split first). Stale writable translations are gone before any vCPU of
     * vm writes again: INVEPT on VMX, a TLB flush at each vCPU's next VMRUN on SVM. Restoring needs no
     * flush and never allocates (the dirty-page fault path). 0, or -ENOMEM when a split found no table.
     */
    int (*write_protect)(struct hvm_vm *vm, uint64_t gpa, uint64_t len, int on);
};

extern const struct hvm_ops svm_ops;
extern const struct hvm_ops vmx_ops;

/*
 * Clear the intercept of every MSR the guest owns while it runs, calling pass(map, msr) for each: SYSENTER_*,
 * STAR/LSTAR/CSTAR/SFMASK, FS/GS base and KernelGSBase (switched with the guest's state by VM entry and exit
 * on VMX, by VMLOAD/VMSAVE on SVM), and SPEC_CTRL and PRED_CMD where the CPU has them (spec_enter/spec_exit
 * switch the guest's SPEC_CTRL around each run). Each backend's pass encodes its own bitmap format.
 */
void hvm_msr_pass_through(uint8_t *map, void (*pass)(uint8_t *map, uint32_t msr));

/* The backend bound at boot (NULL when the CPU has neither usable extension). */
extern const struct hvm_ops *hvm;
/* Probe both backends and bind the one this CPU supports. Returns 0 or -ENODEV. */
int hvm_init(void);
/* On the boot CPU, before starting CPU cpu: the backend's per-CPU allocations. 0 (also without a backend). */
int hvm_cpu_prepare(int cpu);
/* On an application processor: its x87/SSE control bits and the backend's extension turned on. 0, or
 * negative errno (-ENODEV without a backend). */
int hvm_cpu_start(int cpu);
#endif
