/*
 * Test guest: isolation victim. Patterns every free word of its RAM (tests/guests/ramcheck.h) and
 * checksums its own image, then every 200 ms verifies all of it and reports the round (report 2=N);
 * a changed word reports its address (report 3=ADDR; IMAGE_BASE for the image) and exits 1. Only the
 * stack's top 1 KiB and the interrupt-frame pointer are not checked (they change; damage there crashes
 * the victim, which then stops reporting). Round count in ebp, checksum in esi: registers, not RAM.
 * guest modes: 32
 */
#include "tests/guests/guest.h"
#include "tests/guests/ramcheck.h"
guest_main:
    HANDLE(0x40, on_timer)
    mov %esi, ram_end
    mov $VICTIM_PATTERN, %ebx
    call fill_all
    call image_sum
    mov %eax, %esi
    xor %ebp, %ebp
round:
    mov $VICTIM_PATTERN, %ebx
    call check_all
    test %eax, %eax
    jnz bad
    call image_sum
    mov $IMAGE_BASE, %edi
    cmp %eax, %esi
    jne bad
    inc %ebp
    mov $HC_REPORT, %eax
    mov $2, %ebx
    mov %ebp, %ecx
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

/* eax = a rotating sum of the image up to cur_frame (the interrupt frame pointer, which changes). */
image_sum:
    xor %eax, %eax
    mov $IMAGE_BASE, %edi
1:  rol $5, %eax
    add (%edi), %eax
    add $4, %edi
    cmp $cur_frame, %edi
    jb 1b
    ret

    .data
ram_end: .long 0
    .bss
    .balign 4
image_end:
