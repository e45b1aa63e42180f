/* Test guest: drives virtio-blk (virtio-mmio slot 0) with a descriptor loop pointing outside RAM, then a
 * corrupt avail index; shoal must fail that request, then mark the device NEEDS_RESET, and go on. */
#include "tests/guests/guest.h"
#define VIO   0xD0000000
#define DESC  0x100000
#define AVAIL 0x101000
#define USED  0x102000
#define HDR   0x103000
#define STEP(n) movl $n, step
guest_main:
    mov $VIO, %ebx
    STEP(1)
    cmpl $0x74726976, (%rbx)          /* magic "virt" */
    jne bad
    cmpl $2, 4(%rbx)                  /* version 2 */
    jne bad
    cmpl $2, 8(%rbx)                  /* block device */
    jne bad
    STEP(2)
    movl $1, 0x70(%rbx)               /* ACKNOWLEDGE, DRIVER */
    movl $3, 0x70(%rbx)
    movl $1, 0x24(%rbx)               /* driver features 63:32 = VERSION_1 */
    movl $1, 0x20(%rbx)
    movl $0, 0x24(%rbx)
    movl $0, 0x20(%rbx)
    movl $11, 0x70(%rbx)              /* FEATURES_OK */
    testl $8, 0x70(%rbx)
    jz bad
    STEP(3)
    movl $0, 0x30(%rbx)               /* queue 0: 8 entries */
    movl $8, 0x38(%rbx)
    movl $DESC, 0x80(%rbx)
    movl $0, 0x84(%rbx)
    movl $AVAIL, 0x90(%rbx)
    movl $0, 0x94(%rbx)
    movl $USED, 0xa0(%rbx)
    movl $0, 0xa4(%rbx)
    movl $1, 0x44(%rbx)
    movl $15, 0x70(%rbx)              /* DRIVER_OK */
    cmpl $1, 0x44(%rbx)
    jne bad
    STEP(4)
    /* desc 0: header, next 1; desc 1: 512 bytes far outside RAM, writable, next 0 (a loop) */
    movq $HDR, DESC
    movl $16, DESC + 8
    movw $1, DESC + 12
    movw $1, DESC + 14
    movabs $0x7f0000000000, %rax
    mov %rax, DESC + 16
    movl $512, DESC + 24
    movw $3, DESC + 28
    movw $0, DESC + 30
    movw $0, AVAIL + 4                /* ring[0] = head 0 */
    movw $1, AVAIL + 2                /* idx = 1 */
    movl $0, 0x50(%rbx)               /* notify queue 0 */
    STEP(5)
    cmpw $1, USED + 2                 /* the bad chain came back used ... */
    jne bad
    cmpl $0, USED + 8                 /* ... with nothing written */
    jne bad
    testl $0x40, 0x70(%rbx)           /* and the device still works (no NEEDS_RESET yet) */
    jnz bad
    STEP(6)
    /* desc 2: 4 GiB - 1 bytes long */
    movq $HDR, DESC + 32
    movl $0xffffffff, DESC + 40
    movw $2, DESC + 44
    movw $2, AVAIL + 6                /* ring[1] = head 2 */
    movw $2, AVAIL + 2
    movl $0, 0x50(%rbx)
    cmpw $2, USED + 2
    jne bad
    STEP(7)
    movw $200, AVAIL + 2              /* the avail index runs 198 entries ahead of an 8-entry ring */
    movl $0, 0x50(%rbx)
    testl $0x40, 0x70(%rbx)           /* NEEDS_RESET */
    jz bad
    testl $2, 0x60(%rbx)              /* configuration change interrupt status */
    jz bad
    STEP(8)
    movl $0, 0x70(%rbx)               /* reset */
    cmpl $0, 0x70(%rbx)
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
ok: .ascii "badvirtio contained: loop/outside-RAM chain failed alone, 4 GiB length refused, corrupt ring -> NEEDS_RESET\n"
ok_end:
no: .ascii "badvirtio WRONG at the step reported above\n"
no_end:
