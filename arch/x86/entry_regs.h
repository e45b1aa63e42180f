/* Register moves both VM entry stubs share: host callee-saved registers, guest GPRs to and from struct guest_regs. */
#ifndef SHOAL_ARCH_ENTRY_REGS_H
#define SHOAL_ARCH_ENTRY_REGS_H
/*
 * HOST_REGS_PUSH / HOST_REGS_POP: the System V ABI's callee-saved registers, which the guest's values
 * overwrite while it runs; RBP also links a frame for the panic backtrace. The caller adds the RET.
 */
.macro HOST_REGS_PUSH
    push %rbp
    mov %rsp, %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
.endm

.macro HOST_REGS_POP
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
.endm

/*
 * GUEST_GPRS: \dir is load (gpr[n] -> register) or store (register -> gpr[n]); \base points at gpr[], which
 * begins struct guest_regs (guest_regs.h), indexed by enum gpr: the x86 encoding order, the order the .irp
 * list below walks and the order of the instructions it emits. Only slots \lo..\hi are moved. RSP is never
 * moved: guest RSP is in the VMCB / VMCS guest-state area, which VMRUN and VM entry and exit swap
 * (APM 2 15.5.1, SDM 3C 25.4.1). \base is never moved either: it holds the array's address; the caller
 * moves its slot.
 */
.macro GUEST_GPRS dir, base, lo=0, hi=15
    .set .Lguest_gpr, 0
    .irp reg, %rax, %rcx, %rdx, %rbx, %rsp, %rbp, %rsi, %rdi, %r8, %r9, %r10, %r11, %r12, %r13, %r14, %r15
    .if .Lguest_gpr >= \lo && .Lguest_gpr <= \hi
    .ifnc \reg,%rsp
    .ifnc \reg,\base
    .ifc \dir,load
    mov (.Lguest_gpr * 8)(\base), \reg
    .else
    mov \reg, (.Lguest_gpr * 8)(\base)
    .endif
    .endif
    .endif
    .endif
    .set .Lguest_gpr, .Lguest_gpr + 1
    .endr
.endm
#endif
