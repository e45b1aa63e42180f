/*
 * Test guest: XSETBV with each value the CPU refuses (x87 off, AVX without SSE, AVX-512 components
 * partly or without AVX, one MPX component, one AMX component, a supervisor or reserved bit, XCR1) must
 * raise #GP and leave XCR0 as it was; then the full mask CPUID 0xD.0 offers is accepted and read back.
 * A value that did not fault is reported (report 3=its index) and exits 1. guest modes: 64
 */
#include "tests/guests/guest.h"
#define CR4_OSXSAVE (1 << 18)
guest_main:
    HANDLE(13, on_gp)
    mov $1, %eax
    cpuid
    bt $26, %ecx                   /* XSAVE offered? */
    jnc no_xsave
    mov %cr4, %rax
    or $CR4_OSXSAVE, %rax
    mov %rax, %cr4
    xor %ebx, %ebx                 /* index into bad */
1:  movl $0, gp_seen
    mov bad + 0(,%rbx,8), %rax     /* low half of the value */
    mov %rax, %rdx
    shr $32, %rdx
    xor %ecx, %ecx
    cmp $nbad - 1, %ebx            /* the last entry: a good value, but written to XCR1 */
    jne 2f
    mov $1, %ecx
2:  xsetbv                         /* 3 bytes: the #GP handler skips it */
    cmpl $1, gp_seen
    jne accepted
    xor %ecx, %ecx
    xgetbv
    cmp $1, %eax                   /* XCR0 still the reset value */
    jne accepted
    inc %ebx
    cmp $nbad, %ebx
    jb 1b
    mov $0xd, %eax                 /* every component offered: accepted and read back */
    xor %ecx, %ecx
    cpuid
    mov %eax, %esi
    mov %edx, %edi
    xor %ecx, %ecx
    xsetbv
    xor %ecx, %ecx
    xgetbv
    cmp %esi, %eax
    jne wrong
    cmp %edi, %edx
    jne wrong
    mov $HC_REPORT, %eax
    mov $4, %ebx
    mov %rsi, %rcx
    call hypercall
    PRINT(ok, ok_end - ok)
    EXIT(0)
accepted:
    mov %ebx, %ecx
    mov $HC_REPORT, %eax
    mov $3, %ebx
    call hypercall
    EXIT(1)
wrong:
    FAIL(no, no_end - no)
no_xsave:
    PRINT(ok2, ok2_end - ok2)
    EXIT(0)

on_gp:
    incl gp_seen
    mov cur_frame, %rax
    addq $3, FRAME_IP(%rax)
    ret

    .data
    .balign 8
bad:
    .quad 0                        /* x87 off */
    .quad 0x2                      /* SSE alone */
    .quad 0x5                      /* AVX without SSE */
    .quad 0x27                     /* opmask without ZMM_Hi256 and Hi16_ZMM */
    .quad 0x47                     /* ZMM_Hi256 alone */
    .quad 0x87                     /* Hi16_ZMM alone */
    .quad 0xc7                     /* ZMM without opmask */
    .quad 0x67                     /* Hi16_ZMM missing */
    .quad 0xe3                     /* AVX-512 without AVX */
    .quad 0x9                      /* BNDREGS without BNDCSR */
    .quad 0x11                     /* BNDCSR without BNDREGS */
    .quad 0x20007                  /* TILECFG without TILEDATA */
    .quad 0x40007                  /* TILEDATA without TILECFG */
    .quad 0x101                    /* PT: a supervisor component (IA32_XSS only) */
    .quad 0x8000000000000001       /* a reserved bit */
    .quad 0x3                      /* valid, but to XCR1 (ECX = 1) */
bad_end:
    .set nbad, (bad_end - bad) / 8
gp_seen: .long 0
ok: .ascii "xsetbv ok: 16 refused values raised #GP, the offered mask was accepted\n"
ok_end:
ok2: .ascii "xsetbv: the CPU offers no XSAVE\n"
ok2_end:
no: .ascii "xsetbv WRONG: the offered mask did not read back\n"
no_end:
