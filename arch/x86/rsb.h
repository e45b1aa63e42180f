/* RSB_FILL: overwrite the return stack buffer after a VM exit (included by the entry stubs). */
#ifndef SHOAL_ARCH_RSB_H
#define SHOAL_ARCH_RSB_H
/*
 * The guest trained the CPU's 32-entry return stack buffer: a host RET could speculate to a guest-chosen
 * address. 32 CALLs whose return addresses are speculation traps (PAUSE; LFENCE loops) replace every
 * entry; the stack pointer is put back afterwards. \reg is a free 32-bit register. Host interrupts are
 * off where the stubs use it.
 */
.macro RSB_FILL reg
    mov $16, \reg
1001:
    call 1002f
1003:
    pause
    lfence
    jmp 1003b
1002:
    call 1004f
1005:
    pause
    lfence
    jmp 1005b
1004:
    dec \reg
    jnz 1001b
    add $(32 * 8), %rsp
.endm
#endif
