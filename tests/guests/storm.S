/*
 * Test guest: LAPIC timer storm. Programs its local APIC's timer periodic with the smallest count
 * (1 at divide-by-1), then computes like spin.S: every 65536 iterations it writes its progress to the
 * echo port (`vm stats` shows it), and every 64 units it reports the timer interrupts taken (report 5=N).
 * shoal gives guests named storm* a local APIC. guest modes: 32
 */
#include "tests/guests/guest.h"
#define LAPIC 0xfee00000
guest_main:
    HANDLE(0x40, on_tick)
    movl $0x1ff, LAPIC + 0xf0          /* SVR: software enable, spurious vector 0xff */
    movl $0xb, LAPIC + 0x3e0           /* divide by 1 */
    movl $0x20040, LAPIC + 0x320       /* LVT timer: periodic, vector 0x40 */
    movl $1, LAPIC + 0x380             /* initial count 1: the smallest period there is */
    sti
    xor %ecx, %ecx
    xor %ebx, %ebx
1:  inc %ecx
    test $0xffff, %ecx
    jnz 1b
    inc %ebx
    mov %ebx, %eax
    mov $0x500, %dx
    out %eax, %dx
    test $0x3f, %ebx
    jnz 1b
    push %ebx
    push %ecx
    mov $HC_REPORT, %eax
    mov $5, %ebx
    mov ticks, %ecx
    call hypercall
    pop %ecx
    pop %ebx
    jmp 1b
on_tick:
    incl ticks
    movl $0, LAPIC + 0xb0              /* EOI */
    ret
    .data
ticks: .long 0
