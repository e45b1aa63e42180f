/*
 * Test guest: isolation victim. Fills its RAM above 1 MiB with a pattern, then every 200 ms verifies
 * all of it and reports the round (report 2=N); a mismatch reports its address (report 3) and exits 1.
 * guest modes: 32
 */
#include "tests/guests/guest.h"
#define PATTERN 0x3c3ca5a5
guest_main:
    HANDLE(0x40, on_timer)
    mov %esi, ram_end
    mov $0x100000, %edi
1:  mov %edi, %eax
    xor $PATTERN, %eax
    mov %eax, (%edi)
    add $4, %edi
    cmp ram_end, %edi
    jb 1b
round:
    mov $0x100000, %edi
2:  mov %edi, %eax
    xor $PATTERN, %eax
    cmp %eax, (%edi)
    jne bad
    add $4, %edi
    cmp ram_end, %edi
    jb 2b
    incl rounds
    mov $HC_REPORT, %eax
    mov $2, %ebx
    mov rounds, %ecx
    call hypercall
    cli
    mov $HC_TIMER, %eax
    mov $0x40, %ebx
    mov $200000, %ecx
    call hypercall
    sti
    hlt
    jmp round
bad:
    mov $HC_REPORT, %eax
    mov $3, %ebx
    mov %edi, %ecx
    call hypercall
    EXIT(1)
on_timer:
    ret
    .data
ram_end: .long 0
rounds: .long 0
