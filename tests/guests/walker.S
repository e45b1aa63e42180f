/*
 * Test guest: isolation walker, beside victims (victim.S). Before writing anything it looks through
 * all of its RAM for a victim's pattern (report 4=words found); then patterns every free word of its
 * RAM and verifies it; then probes guest-physical addresses outside its RAM: another VM's host
 * physical address (HC_PEER, report 1=ADDR, when outside our RAM), and every PROBE_STEP from ram_end
 * to PROBE_END (below the device windows). Each probe reads two words and writes one. Whatever shoal
 * does with such accesses (stop the VM, or ignore writes and read all-ones), no probe may see a
 * victim's pattern or other data, and our own RAM must keep its pattern: report 5=victim words seen,
 * 6=reads that were neither all-ones nor zero, 7=probes made; then exit 0.
 * guest modes: 32
 */
#include "tests/guests/guest.h"
#include "tests/guests/ramcheck.h"
#define PATTERN    0x5a0fc3e1
#define PROBE_STEP 0x100000
#define PROBE_END  0xc0000000
#define REPORT(key, reg) mov $HC_REPORT, %eax; mov $key, %ebx; mov reg, %ecx; call hypercall
guest_main:
    mov %esi, ram_end
    xor %ebp, %ebp                 /* ebp: victim words seen */
    xor %edi, %edi
1:  call victim_at
    add %eax, %ebp
    add $4, %edi
    mov ram_end, %eax
    sub $4, %eax
    cmp %eax, %edi
    jb 1b
    REPORT(4, %ebp)
    mov $PATTERN, %ebx
    call fill_all
    call check_all
    test %eax, %eax
    jnz bad
    PRINT(verified, verified_end - verified)
    xor %ebp, %ebp
    mov $HC_PEER, %eax
    call hypercall
    test %eax, %eax                /* -ENOENT: no peer */
    js 2f
    cmp ram_end, %eax              /* our own RAM: nothing to learn there */
    jb 2f
    mov %eax, %edi
    REPORT(1, %edi)
    call probe
2:  mov ram_end, %edi
3:  call probe
    add $PROBE_STEP, %edi
    cmp $PROBE_END, %edi
    jb 3b
    mov $PATTERN, %ebx             /* writes outside RAM must not land in our own RAM either */
    call check_all
    test %eax, %eax
    jnz bad
    REPORT(5, %ebp)
    REPORT(6, foreign)
    REPORT(7, probes)
    PRINT(done, done_end - done)
    EXIT(0)
bad:
    REPORT(3, %edi)
    FAIL(no, no_end - no)

/* One probe at edi: is a victim's pattern there, is anything but all-ones or zero there; then write. */
probe:
    incl probes
    call victim_at
    add %eax, %ebp
    mov (%edi), %eax
    cmp $0xffffffff, %eax
    je 1f
    test %eax, %eax
    je 1f
    incl foreign
1:  movl $0xdeadbeef, (%edi)
    ret

    .data
ram_end: .long 0
probes: .long 0
foreign: .long 0
verified: .ascii "walker: pattern verified over all RAM\n"
verified_end:
done: .ascii "walker: probes done\n"
done_end:
no: .ascii "walker: own pattern WRONG\n"
no_end:
    .bss
    .balign 4
image_end:
