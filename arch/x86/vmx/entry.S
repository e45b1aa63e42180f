/* vmx_enter: load guest GPRs, VMLAUNCH/VMRESUME; the exit lands at vmx_exit_stub (HOST_RIP), which stores them. */
/* int vmx_enter(uint64_t *gprs, int launched): 0 after a VM exit, 1 when the VMX instruction itself failed. */
#include "arch/x86/rsb.h"
#define HOST_RSP 0x6C14
#define G(n) (n*8)(%rdi)

    .text
    .global vmx_enter, vmx_exit_stub
vmx_enter:
    push %rbp
    mov %rsp, %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    pushfq                      /* a VM exit clears RFLAGS: the host's IF comes back from here */
    push %rdi                   /* gprs pointer: the top of the stack the exit lands on */
    mov $HOST_RSP, %rax
    vmwrite %rsp, %rax
    mov %esi, %eax
    mov G(0), %rcx              /* guest RAX goes last through rcx... */
    push %rcx
    mov G(1), %rcx
    mov G(2), %rdx
    mov G(3), %rbx
    mov G(5), %rbp
    mov G(6), %rsi
    mov G(8), %r8
    mov G(9), %r9
    mov G(10), %r10
    mov G(11), %r11
    mov G(12), %r12
    mov G(13), %r13
    mov G(14), %r14
    mov G(15), %r15
    test %eax, %eax
    pop %rax                    /* ...so that eax could select the instruction first */
    mov G(7), %rdi
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  /* Only reached when VMLAUNCH/VMRESUME failed: HOST_RSP still points at the gprs pointer. */
    pop %rdi
    popfq
    mov $1, %eax
    jmp 3f

vmx_exit_stub:
    push %rdi                   /* guest RDI; the gprs pointer is just above it */
    mov 8(%rsp), %rdi
    mov %rax, G(0)
    mov %rcx, G(1)
    mov %rdx, G(2)
    mov %rbx, G(3)
    mov %rbp, G(5)
    mov %rsi, G(6)
    pop %rax
    mov %rax, G(7)
    mov %r8, G(8)
    mov %r9, G(9)
    mov %r10, G(10)
    mov %r11, G(11)
    mov %r12, G(12)
    mov %r13, G(13)
    mov %r14, G(14)
    mov %r15, G(15)
    RSB_FILL %eax                 /* host interrupts stay off until the popfq */
    pop %rdi
    popfq
    xor %eax, %eax
3:  pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
