/*
 * Test guest: isolation walker. Writes a pattern over all its RAM above 1 MiB and verifies it, then
 * writes at the host physical address of another VM's RAM (as its own guest-physical address), then
 * touches the first byte past its RAM: shoal must stop it there, with the other VM untouched.
 * ESI holds the RAM size (set by shoal when it creates test guests).
 * guest modes: 32
 */
#include "tests/guests/guest.h"
#define PATTERN 0x5a0fc3e1
guest_main:
    mov %esi, ram_end
    mov $0x100000, %edi
1:  mov %edi, %eax
    xor $PATTERN, %eax
    mov %eax, (%edi)
    add $4, %edi
    cmp ram_end, %edi
    jb 1b
    mov $0x100000, %edi
2:  mov %edi, %eax
    xor $PATTERN, %eax
    cmp %eax, (%edi)
    jne bad
    add $4, %edi
    cmp ram_end, %edi
    jb 2b
    PRINT(verified, verified_end - verified)
    mov $HC_PEER, %eax
    call hypercall
    test %eax, %eax
    js 3f
    mov %eax, %edi
    mov $HC_REPORT, %eax
    mov $1, %ebx                   /* report 1 = the peer's host address we are about to write */
    mov %edi, %ecx
    call hypercall
    movl $0xdeadbeef, (%edi)       /* our own GPA if below ram_end; else outside RAM: stopped */
3:  PRINT(touching, touching_end - touching)
    mov ram_end, %edi
    movb $1, (%edi)                /* first byte past RAM: shoal stops us here */
    FAIL(survived, survived_end - survived)
bad:
    FAIL(no, no_end - no)
    .data
ram_end: .long 0
verified: .ascii "walker: pattern verified over all RAM\n"
verified_end:
touching: .ascii "walker: touching the first byte past RAM\n"
touching_end:
survived: .ascii "walker: WRONG, access past RAM was not stopped\n"
survived_end:
no: .ascii "walker: pattern WRONG\n"
no_end:
