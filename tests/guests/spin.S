/*
 * Test guest: pure computation forever (scheduler fairness). Every 65536 iterations it writes its
 * progress (iterations / 65536) to the echo port, which `vm stats` shows: work done, not time, so a
 * host that stalls the emulator cannot skew the measured shares. guest modes: 32
 */
#include "tests/guests/guest.h"
guest_main:
    xor %ecx, %ecx
    xor %ebx, %ebx
    mov $0x500, %dx
1:  inc %ecx
    test $0xffff, %ecx
    jnz 1b
    inc %ebx
    mov %ebx, %eax
    out %eax, %dx
    jmp 1b
