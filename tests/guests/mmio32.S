/* Test guest (protected mode): MMIO forms in 32-bit code on the test register file at 0xFE000000. */
#include "tests/guests/guest.h"
#define STEP(n) movl $n, step
guest_main:
    mov $0xFE000000, %ebx
    STEP(1)
    movl $0xa5a5a5a5, 4(%ebx)
    mov 4(%ebx), %eax
    cmp $0xa5a5a5a5, %eax
    jne bad
    STEP(2)
    movw $0x1234, 8(%ebx)
    mov 8(%ebx), %ax
    cmp $0x1234, %ax
    jne bad
    movzwl 8(%ebx), %ecx
    cmp $0x1234, %ecx
    jne bad
    STEP(3)
    movb $0xfe, 12(%ebx)
    movsbl 12(%ebx), %edx
    cmp $-2, %edx
    jne bad
    STEP(4)
    mov $0x100, %esi
    movl $0x77, (%ebx,%esi,2)
    cmpl $0x77, 0x200(%ebx)
    jne bad
    STEP(5)
    mov $0xab, %al
    lea 16(%ebx), %edi
    mov $3, %ecx
    cld
    rep stosb
    cmpb $0xab, 18(%ebx)
    jne bad
    PRINT(ok, ok_end - ok)
    EXIT(0)
bad:
    mov $HC_REPORT, %eax
    mov $1, %ebx
    mov step, %ecx
    call hypercall
    FAIL(no, no_end - no)
    .data
step: .long 0
ok: .ascii "mmio ok (32-bit): mov/movzx/movsx/SIB/stos forms\n"
ok_end:
no: .ascii "mmio WRONG at the step reported above\n"
no_end:
