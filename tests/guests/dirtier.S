/*
 * Test guest: dirty-page tracking (`vm dirty`). Paced by the test device's collect counter
 * (TESTDEV_DIRTY_COLLECTS), it writes in rounds and says "report 6=R" when round R is written:
 * 0 every page of its 2 MiB region untracked (report 4=TSC cycles), 1 and 2 WRITES words at pages drawn
 * by xorshift32 from the seed it reports (report 1=SEED), 3 nothing, 4 every region page again with
 * tracking on (report 5=TSC cycles); then it exits 0. Between rounds it only reads the counter: its
 * state lives in registers, and its one written page besides the region is the stack's (report 2=ESP;
 * each hypercall pushes a return address).
 * guest modes: 32
 */
#include "tests/guests/guest.h"
#define REGION   0x400000
#define NPAGES   512
#define WRITES   64
#define COLLECTS (0xFE000000 + 0xFF8)
#define REPORT(key, reg) mov $HC_REPORT, %eax; mov $key, %ebx; mov reg, %ecx; call hypercall

/* One word into every region page; esi = the TSC cycles it took. */
.macro touch_all
    rdtsc
    mov %eax, %esi
    mov $REGION, %edi
1:  mov %edi, (%edi)
    add $4096, %edi
    cmp $(REGION + NPAGES * 4096), %edi
    jb 1b
    rdtsc
    sub %esi, %eax
    mov %eax, %esi
.endm

/* WRITES words, each at the page the next xorshift32 state (ebp) picks: x ^= x << 13, >> 17, << 5. */
.macro random_writes
    mov $WRITES, %ecx
1:  mov %ebp, %eax
    shl $13, %eax
    xor %eax, %ebp
    mov %ebp, %eax
    shr $17, %eax
    xor %eax, %ebp
    mov %ebp, %eax
    shl $5, %eax
    xor %eax, %ebp
    mov %ebp, %eax
    and $(NPAGES - 1), %eax
    shl $12, %eax
    mov %ebp, REGION(%eax)
    dec %ecx
    jnz 1b
.endm

/* Round r written: say so, then wait for the host's next collect. */
.macro round_done r
    REPORT(6, $\r)
    mov $COLLECTS, %edi
1:  mov (%edi), %eax
    cmp $(\r + 1), %eax
    jb 1b
.endm

guest_main:
    rdtsc
    xor %edx, %eax
    or $1, %eax
    mov %eax, %ebp
    REPORT(1, %ebp)
    REPORT(2, %esp)
    touch_all
    REPORT(4, %esi)
    round_done 0
    random_writes
    round_done 1
    random_writes
    round_done 2
    round_done 3
    touch_all
    REPORT(5, %esi)
    round_done 4
    PRINT(done, done_end - done)
    EXIT(0)

    .data
done: .ascii "dirtier: rounds done"
done_end:
