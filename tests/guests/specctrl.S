/*
 * Test guest: the speculation-control MSRs and RDTSCP agree with CPUID. SPEC_CTRL (0x48) reads, and
 * takes and returns a bit CPUID offers, exactly when CPUID offers IBRS, STIBP or SSBD; PRED_CMD (0x49)
 * takes IBPB exactly when CPUID offers it; RDTSCP is #UD unless CPUID offers it, and then ECX is
 * TSC_AUX. Where RDTSCP is hidden but runs anyway (QEMU TCG ignores the RDTSCP intercept) its ECX must
 * be 0, the TSC_AUX every guest shares (report 6=1 says so). Reports what CPUID offered (report 5: bit 0 SPEC_CTRL, 1 IBPB, 2 RDTSCP) and the first
 * disagreement (report 3: 1 SPEC_CTRL read, 2 SPEC_CTRL write, 3 PRED_CMD, 4 RDTSCP, 5 TSC_AUX).
 * guest modes: 64
 */
#include "tests/guests/guest.h"
guest_main:
    HANDLE(6, on_ud)
    HANDLE(13, on_gp)
    call offered
    mov $HC_REPORT, %eax
    mov $5, %ebx
    mov offer, %ecx
    call hypercall
    movl $1, step                  /* SPEC_CTRL read */
    movl $0, faults
    mov $0x48, %ecx
    rdmsr
    call agree_spec
    testl $1, offer
    jz 1f
    movl $2, step                  /* SPEC_CTRL write and read back */
    mov $0x48, %ecx
    mov spec_bit, %eax
    xor %edx, %edx
    wrmsr
    rdmsr
    cmp spec_bit, %eax
    jne wrong
    xor %eax, %eax
    wrmsr
1:  movl $3, step                  /* PRED_CMD.IBPB */
    movl $0, faults
    mov $0x49, %ecx
    mov $1, %eax
    xor %edx, %edx
    wrmsr
    mov faults, %eax
    xor $1, %eax                   /* 1 when it did not fault */
    mov offer, %edx
    shr $1, %edx
    and $1, %edx
    cmp %edx, %eax
    jne wrong
    movl $4, step                  /* RDTSCP */
    movl $0, faults
    movl $0xdead, %ecx
    rdtscp                         /* 3 bytes: the #UD handler skips it */
    mov %ecx, aux
    mov faults, %eax
    xor $1, %eax
    mov offer, %edx
    shr $2, %edx
    and $1, %edx
    cmp %edx, %eax
    je 3f
    test %edx, %edx                /* hidden yet it ran: only TSC_AUX 0 is acceptable */
    jnz wrong
    cmpl $0, aux
    jne wrong
    mov $HC_REPORT, %eax
    mov $6, %ebx
    mov $1, %ecx
    call hypercall
    jmp 2f
3:
    test %eax, %eax
    jz 2f
    movl $5, step                  /* RDTSCP's ECX is TSC_AUX */
    mov $0xC0000103, %ecx
    rdmsr
    cmp aux, %eax
    jne wrong
2:  PRINT(ok, ok_end - ok)
    EXIT(0)
wrong:
    mov $HC_REPORT, %eax
    mov $3, %ebx
    mov step, %ecx
    call hypercall
    FAIL(no, no_end - no)

/* The SPEC_CTRL read did not fault exactly when CPUID offers the MSR (faults = 0 or 1). */
agree_spec:
    mov faults, %eax
    xor $1, %eax
    mov offer, %edx
    and $1, %edx
    cmp %edx, %eax
    jne wrong
    ret

/* offer: what CPUID says (Intel leaf 7 EDX, AMD leaf 0x80000008 EBX, leaf 0x80000001 EDX for RDTSCP). */
offered:
    mov $7, %eax
    xor %ecx, %ecx
    cpuid
    mov %edx, %esi
    test $(1 << 26), %esi          /* IBRS and IBPB */
    jz 1f
    orl $3, offer
    movl $1, spec_bit
1:  test $(1 << 27), %esi          /* STIBP */
    jz 2f
    orl $1, offer
    movl $2, spec_bit
2:  mov $0x80000000, %eax
    cpuid
    cmp $0x80000008, %eax
    jb 5f
    mov $0x80000008, %eax
    cpuid
    test $(1 << 12), %ebx          /* IBPB */
    jz 3f
    orl $2, offer
3:  test $(1 << 14), %ebx          /* IBRS */
    jz 4f
    orl $1, offer
    movl $1, spec_bit
4:  test $(1 << 15), %ebx          /* STIBP */
    jz 5f
    orl $1, offer
    movl $2, spec_bit
5:  mov $0x80000001, %eax
    cpuid
    test $(1 << 27), %edx          /* RDTSCP */
    jz 6f
    orl $4, offer
6:  ret

on_ud:
    incl faults
    mov cur_frame, %rax
    addq $3, FRAME_IP(%rax)
    ret
on_gp:
    incl faults
    mov cur_frame, %rax
    addq $2, FRAME_IP(%rax)
    ret

    .data
offer: .long 0
spec_bit: .long 0
step: .long 0
faults: .long 0
aux: .long 0
ok: .ascii "specctrl ok: SPEC_CTRL, PRED_CMD and RDTSCP agree with CPUID\n"
ok_end:
no: .ascii "specctrl WRONG: an MSR or RDTSCP disagrees with CPUID\n"
no_end:
