/*
 * Test guest: INT3 and INT 0x30 delivered onto a write-protected stack (`vm dirty`). Before each INT3
 * and each INT 0x30 of its ROUNDS rounds it waits for the host's next collect (the test device's
 * counter), which protects its stack page again, so each delivery's first push takes a nested fault;
 * each handler must still run exactly once per instruction (report 3=round where a count went wrong),
 * then it exits 0.
 * guest modes: 32
 */
#include "tests/guests/guest.h"
#define ROUNDS   8
#define COLLECTS (0xFE000000 + 0xFF8)
#define REPORT(key, reg) mov $HC_REPORT, %eax; mov $key, %ebx; mov reg, %ecx; call hypercall

/* Count one more collect to wait for (ebp) and wait for the host's: it protects the stack page again. */
.macro next_collect
    inc %ebp
    mov $COLLECTS, %edi
1:  mov (%edi), %eax
    cmp %ebp, %eax
    jb 1b
.endm

guest_main:
    HANDLE(3, on_bp)
    HANDLE(0x30, on_soft)
    mov $1, %esi                   /* esi: the round */
    xor %ebp, %ebp                 /* ebp: collects waited for */
next:
    next_collect
    int3
    next_collect
    int $0x30
    cmp %esi, bp_count
    jne bad
    cmp %esi, soft_count
    jne bad
    inc %esi
    cmp $ROUNDS, %esi
    jbe next
    PRINT(ok, ok_end - ok)
    EXIT(0)
bad:
    REPORT(3, %esi)
    REPORT(4, bp_count)
    REPORT(5, soft_count)
    FAIL(no, no_end - no)

on_bp:
    incl bp_count
    ret
on_soft:
    incl soft_count
    ret

    .data
bp_count: .long 0
soft_count: .long 0
ok: .ascii "softint ok: INT3 and INT 0x30 ran their handlers once each on a write-protected stack\n"
ok_end:
no: .ascii "softint WRONG: a handler ran more or less than once (3=round, 4=INT3 runs, 5=INT 0x30 runs)\n"
no_end:
