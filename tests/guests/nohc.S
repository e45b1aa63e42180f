/*
 * Test guest: a guest without shoal's test hypercalls (as every Linux guest is) gets #UD for VMCALL and
 * VMMCALL, with RIP on the instruction and RAX untouched. It gives up its own test hypercalls first
 * (HC_NOTEST), then tries HC_EXIT: the #UD handler writes 0x600d to the test device's echo port (0xbad
 * if the call went through, with RAX or RIP wrong) and halts for good; the test reads it in `vm stats`.
 * guest modes: 64
 */
#include "tests/guests/guest.h"
#define HC_NOTEST 8
guest_main:
    HANDLE(6, on_ud)
    mov $HC_NOTEST, %eax
    call hypercall
    mov $HC_EXIT, %eax
    mov $7, %ebx
    cmpb $0, is_amd
    jne 1f
insn_intel:
    vmcall
    jmp wrong
1:
insn_amd:
    vmmcall
wrong:
    mov $0xbad, %eax
    jmp done

on_ud:
    mov cur_frame, %rax
    cmpq $HC_EXIT, 40(%rax)                /* RAX as the guest left it */
    jne wrong
    mov FRAME_IP(%rax), %rcx
    cmp $insn_intel, %rcx                  /* RIP still on the instruction */
    je 2f
    cmp $insn_amd, %rcx
    jne wrong
2:  mov $0x600d, %eax
done:
    mov $0x500, %dx
    out %eax, %dx
    cli
3:  hlt
    jmp 3b
