/* Test guest: drives virtio-blk (virtio-mmio slot 0) with hostile chains (a buffer outside RAM, a 4 GiB
 * buffer, a descriptor loop, a nested indirect table), stops and resizes its queue with a request posted,
 * then with one in flight (its disk completes at the host's next poll), corrupts the avail index and enables a queue of size 0: each bad chain must fail alone, the stopped
 * queue must be left alone, the ring faults must mark the device NEEDS_RESET, and shoal must go on. */
#include "tests/guests/guest.h"
#define VIO   0xD0000000
#define DESC  0x100000
#define AVAIL 0x101000
#define USED  0x102000
#define HDR   0x103000
#define DATA  0x104000
#define STAT  0x104800
#define ITAB  0x105000
#define STEP(n) movl $n, step
/* Descriptor i of table tab (2.7.5): addr, len, flags (1 NEXT, 2 WRITE, 4 INDIRECT), next. */
#define DESC_SET(tab, i, addr, len, flags, next) \
    movabs $(addr), %rax; mov %rax, tab + 16 * (i); movl $(len), tab + 16 * (i) + 8; \
    movw $(flags), tab + 16 * (i) + 12; movw $(next), tab + 16 * (i) + 14
/* Put head in avail ring slot n, make the index n + 1 and notify queue 0 (2.7.6, 4.2.2). */
#define POST(n, head) movw $(head), AVAIL + 4 + 2 * (n); movw $((n) + 1), AVAIL + 2; movl $0, 0x50(%rbx)
/* The test disk completes at the host's next poll (blk/defer.c): spin until the used index is n, or give up. */
#define WAIT_USED(n) mov $100000000, %ecx; 1: cmpw $(n), USED + 2; je 2f; pause; dec %ecx; jnz 1b; 2:
/* Let the host run its pollers a good many times. */
#define SPIN mov $30000000, %ecx; 1: pause; dec %ecx; jnz 1b
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
    DESC_SET(DESC, 0, HDR, 16, 1, 1)
    DESC_SET(DESC, 1, 0x7f0000000000, 512, 3, 0)
    POST(0, 0)
    STEP(5)
    cmpw $1, USED + 2                 /* the bad chain came back used ... */
    jne bad
    cmpl $0, USED + 8                 /* ... with nothing written */
    jne bad
    testl $0x40, 0x70(%rbx)           /* and the device still works (no NEEDS_RESET yet) */
    jnz bad
    STEP(6)
    DESC_SET(DESC, 2, HDR, 0xffffffff, 2, 0)   /* desc 2: 4 GiB - 1 bytes long */
    POST(1, 2)
    cmpw $2, USED + 2
    jne bad
    STEP(7)
    /* desc 3: header, next 4; desc 4: 512 bytes in RAM, writable, next 4 (a loop of itself) */
    DESC_SET(DESC, 3, HDR, 16, 1, 4)
    DESC_SET(DESC, 4, DATA, 512, 3, 4)
    POST(2, 3)
    cmpw $3, USED + 2                 /* came back used, alone, with nothing written */
    jne bad
    cmpl $3, USED + 20
    jne bad
    cmpl $0, USED + 24
    jne bad
    STEP(8)
    /* desc 5: an indirect table whose one entry is an indirect table again (2.7.5.3.1 forbids it) */
    DESC_SET(DESC, 5, ITAB, 16, 4, 0)
    DESC_SET(ITAB, 0, ITAB, 16, 4, 0)
    POST(3, 5)
    cmpw $4, USED + 2
    jne bad
    cmpl $0, USED + 32
    jne bad
    testl $0x40, 0x70(%rbx)           /* bad chains fail alone: no NEEDS_RESET */
    jnz bad
    STEP(9)
    /* Stop the queue and size it 0 (no reset), post a good read and notify: the device must not touch it. */
    movl $0, 0x44(%rbx)
    movl $0, 0x38(%rbx)
    cmpl $0, 0x44(%rbx)
    jne bad
    cmpl $0, 0x38(%rbx)
    jne bad
    DESC_SET(DESC, 6, HDR, 16, 1, 7)  /* desc 6: header (read sector 0), 7: 512 bytes, 0: status */
    DESC_SET(DESC, 7, DATA, 512, 3, 0)
    DESC_SET(DESC, 0, STAT, 1, 2, 0)
    movb $0xee, STAT
    POST(4, 6)
    cmpw $4, USED + 2                 /* nothing taken from a stopped queue */
    jne bad
    cmpb $0xee, STAT
    jne bad
    STEP(10)
    movl $8, 0x38(%rbx)               /* started again over the same rings: the read is served */
    movl $1, 0x44(%rbx)
    movl $0, 0x50(%rbx)
    WAIT_USED(5)
    cmpw $5, USED + 2
    jne bad
    cmpb $0, STAT
    jne bad
    STEP(11)
    /* A read in flight (taken, not completed) when the queue is stopped and sized 0: its completion must
     * not divide by the size or touch the rings (the host took #DE here once), the used ring stays. */
    DESC_SET(DESC, 1, HDR, 16, 1, 2)
    DESC_SET(DESC, 2, DATA, 512, 3, 3)
    DESC_SET(DESC, 3, STAT, 1, 2, 0)
    movb $0xee, STAT
    POST(5, 1)
    movl $0, 0x44(%rbx)
    movl $0, 0x38(%rbx)
    SPIN
    cmpw $5, USED + 2                 /* the stale completion wrote no used element ... */
    jne bad
    cmpb $0xee, STAT                  /* ... and no status */
    jne bad
    movl $8, 0x38(%rbx)               /* the queue back on for the steps below */
    movl $1, 0x44(%rbx)
    STEP(12)
    movw $200, AVAIL + 2              /* the avail index runs 195 entries ahead of an 8-entry ring */
    movl $0, 0x50(%rbx)
    testl $0x40, 0x70(%rbx)           /* NEEDS_RESET */
    jz bad
    testl $2, 0x60(%rbx)              /* configuration change interrupt status */
    jz bad
    STEP(13)
    movl $0, 0x70(%rbx)               /* reset */
    cmpl $0, 0x70(%rbx)
    jne bad
    STEP(14)
    movl $1, 0x44(%rbx)               /* enable queue 0 with the size a reset left: 0 */
    testl $0x40, 0x70(%rbx)           /* refused: NEEDS_RESET, the queue stays off */
    jz bad
    cmpl $0, 0x44(%rbx)
    jne bad
    movl $0, 0x70(%rbx)
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
ok: .ascii "badvirtio contained: bad chains failed alone, stopped queue left alone, in-flight read completed into nothing, corrupt ring and size-0 queue -> NEEDS_RESET\n"
ok_end:
no: .ascii "badvirtio WRONG at the step reported above\n"
no_end:
