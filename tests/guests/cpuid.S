/* Test guest: CPUID as shoal presents it: hypervisor bit set, VMX and SVM hidden, the signature leaf. guest modes: 16 32 64 */
#include "tests/guests/guest.h"
guest_main:
    mov $1, %eax
    cpuid
    bt $31, %ecx                   /* hypervisor present */
    jnc bad
    bt $5, %ecx                    /* VMX hidden */
    jc bad
    mov $0x80000001, %eax
    cpuid
    bt $2, %ecx                    /* SVM hidden */
    jc bad
    mov $0x40000000, %eax
    cpuid
    cmp $0x40000001, %eax
    jb bad
    cmp $0x616f6853, %ebx          /* "Shoa" */
    jne bad
    cmp $0x6f68536c, %ecx          /* "lSho" */
    jne bad
    cmp $0x56486c61, %edx          /* "alHV" */
    jne bad
    PRINT(ok, ok_end - ok)
    EXIT(0)
bad:
    FAIL(no, no_end - no)
    .data
ok: .ascii "cpuid ok: hypervisor bit, VMX/SVM hidden, signature ShoalShoalHV\n"
ok_end:
no: .ascii "cpuid WRONG\n"
no_end:
