/*
 * Test guest: guest-physical addresses that are neither RAM nor a device behave as an empty bus: every
 * read returns all-ones at its width, writes are dropped. Reads 5 times, writes 3 times (vm stats counts
 * them), then exits 0.
 * guest modes: 64
 */
#include "tests/guests/guest.h"
#define STEP(n) movl $n, step
guest_main:
    mov %rsi, %rdi                     /* the first byte past RAM */
    STEP(1)
    mov (%rdi), %rax                   /* read 1: 64 bits */
    cmp $-1, %rax
    jne bad
    STEP(2)
    mov $0x1122334455667788, %rax
    movb (%rdi), %al                   /* read 2: a byte changes AL only */
    mov $0x11223344556677ff, %rdx
    cmp %rdx, %rax
    jne bad
    STEP(3)
    mov $0xFE001000, %rbx              /* just past the test device's window */
    movzwl 2(%rbx), %ecx               /* read 3 */
    cmp $0xffff, %rcx
    jne bad
    STEP(4)
    mov $-1, %rax
    movl 0x100(%rbx), %eax             /* read 4: a 32-bit load zeroes the upper half */
    mov $0xffffffff, %rdx
    cmp %rdx, %rax
    jne bad
    STEP(5)
    movb $0x5a, (%rdi)                 /* writes 1-3: dropped */
    movl $0x12345678, 4(%rdi)
    movq $0, 0x10(%rbx)
    mov 0x10(%rbx), %rax               /* read 5: still nothing there */
    cmp $-1, %rax
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
ok: .ascii "unassigned ok: reads all-ones, writes dropped\n"
ok_end:
no: .ascii "unassigned WRONG at the step reported above\n"
no_end:
