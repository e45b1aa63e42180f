/* vmx_enter: load guest GPRs, VMLAUNCH/VMRESUME; the exit lands at vmx_exit_stub (HOST_RIP), which stores them. */
/* int vmx_enter(uint64_t *gprs, int launched): 0 after a VM exit, 1 when the VMX instruction itself failed. */
#include "arch/x86/entry_regs.h"
#include "arch/x86/rsb.h"
#define HOST_RSP 0x6C14
#define G(n) (n*8)(%rdi)

    .text
    .global vmx_enter, vmx_exit_stub
vmx_enter:
    HOST_REGS_PUSH
    pushfq                      /* a VM exit clears RFLAGS: the host's IF comes back from here */
    push %rdi                   /* gprs pointer: the top of the stack the exit lands on */
    mov $HOST_RSP, %rax
    vmwrite %rsp, %rax
    mov %esi, %eax
    mov G(0), %rcx              /* guest RAX goes last through rcx... */
    push %rcx
    GUEST_GPRS load, %rdi, 1    /* all but RAX, RSP (the VMCS has it) and RDI */
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
    GUEST_GPRS store, %rdi, 0, 7 /* RAX to RSI; RSP is in the VMCS */
    pop %rax                    /* guest RDI, pushed above, to its slot */
    mov %rax, G(7)
    GUEST_GPRS store, %rdi, 8   /* R8 to R15 */
    RSB_FILL %eax                 /* host interrupts stay off until the popfq */
    pop %rdi
    popfq
    xor %eax, %eax
3:  HOST_REGS_POP
    ret
