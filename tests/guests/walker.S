/*
 * Test guest: isolation walker. Writes a pattern over all its RAM above 1 MiB and verifies it, then
 * writes at the host physical address of another VM's RAM (as its own guest-physical address), then
 * writes the first byte past its RAM and reads it back: nothing is there (all-ones, the write dropped).
 * Last it jumps past its RAM: an instruction fetch from nowhere, which shoal must stop.
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
    movl $0xdeadbeef, (%edi)       /* our own GPA if below ram_end; else outside RAM: dropped */
3:  PRINT(touching, touching_end - touching)
    mov ram_end, %edi
    movb $1, (%edi)                /* first byte past RAM: dropped ... */
    mov (%edi), %eax               /* ... and it reads as nothing there */
    cmp $0xffffffff, %eax
    jne bad
    PRINT(empty, empty_end - empty)
    jmp *ram_end                   /* executing past RAM: shoal stops us here */
    FAIL(survived, survived_end - survived)
bad:
    FAIL(no, no_end - no)
    .data
ram_end: .long 0
verified: .ascii "walker: pattern verified over all RAM\n"
verified_end:
touching: .ascii "walker: touching the first byte past RAM\n"
touching_end:
empty: .ascii "walker: past RAM reads all-ones\n"
empty_end:
survived: .ascii "walker: WRONG, executing past RAM was not stopped\n"
survived_end:
no: .ascii "walker: pattern WRONG\n"
no_end:
