/* Test guest: every MMIO instruction form the decoder supports, on the test register file at 0xFE000000. guest modes: 32 64 */
#include "tests/guests/guest.h"
#if MODE == 32
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
#else
#define STEP(n) movl $n, step
guest_main:
    mov $0xFE000000, %rbx
    STEP(1)
    movl $0x11223344, (%rbx)
    mov (%rbx), %eax
    cmp $0x11223344, %eax
    jne bad
    STEP(2)
    movq $-2, 8(%rbx)
    mov 8(%rbx), %rax
    cmp $-2, %rax
    jne bad
    STEP(3)
    movb $0x80, 16(%rbx)
    movzbl 16(%rbx), %eax
    cmp $0x80, %eax
    jne bad
    movsbl 16(%rbx), %eax
    cmp $0xffffff80, %eax
    jne bad
    STEP(4)
    movw $0x8001, 24(%rbx)
    movzwl 24(%rbx), %eax
    cmp $0x8001, %eax
    jne bad
    movswq 24(%rbx), %rax
    cmp $-32767, %rax
    jne bad
    STEP(5)
    mov $0x0123456789abcdef, %rcx
    mov %rcx, 32(%rbx)
    mov 32(%rbx), %rdx
    cmp %rcx, %rdx
    jne bad
    STEP(6)
    mov $0x5a00, %eax
    mov %ah, 40(%rbx)
    movzbl 40(%rbx), %ecx
    cmp $0x5a, %ecx
    jne bad
    STEP(7)
    mov $0xcafef00d, %r9d
    mov %r9d, 48(%rbx)
    mov 48(%rbx), %r10d
    cmp %r9d, %r10d
    jne bad
    STEP(8)
    mov $0x55aa55aa, %eax
    lea 64(%rbx), %rdi
    mov $4, %ecx
    cld
    rep stosl
    test %ecx, %ecx
    jne bad
    cmpl $0x55aa55aa, 76(%rbx)
    jne bad
    lea 80(%rbx), %rax
    cmp %rax, %rdi
    jne bad
    STEP(9)
    movl $0xf0, (%rbx)
    orl $0x0f, (%rbx)
    andl $0x3c, (%rbx)
    xorl $0x01, (%rbx)
    addl $0x10, (%rbx)
    subl $0x01, (%rbx)
    cmpl $0x4c, (%rbx)
    jne bad
    testl $0x40, (%rbx)
    jz bad
    STEP(10)
    mov $7, %eax
    xchg %eax, (%rbx)
    cmp $0x4c, %eax
    jne bad
    cmpl $7, (%rbx)
    jne bad
    STEP(11)
    movabs 0xFE000000, %eax
    cmp $7, %eax
    jne bad
    PRINT(ok, ok_end - ok)
    EXIT(0)
bad:
    mov $HC_REPORT, %eax
    mov $1, %rbx
    mov step, %ecx
    call hypercall
    FAIL(no, no_end - no)
    .data
step: .long 0
ok: .ascii "mmio ok: mov/movzx/movsx/imm/high-byte/REX/stos/alu/test/xchg/moffs forms\n"
ok_end:
no: .ascii "mmio WRONG at the step reported above\n"
no_end:
#endif
