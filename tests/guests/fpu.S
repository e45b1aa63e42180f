/*
 * Test guest: its x87, MXCSR and XMM (YMM with AVX) registers keep their values while other guests
 * run. Loads a pattern seeded from the TSC, then checks it without end; every 4096 clean checks it
 * reports the round (report 2=N). A changed register reports its number (report 3: 0-7 xmm/ymm,
 * 8 x87, 9 MXCSR) and exits 1. guest modes: 32
 */
#include "tests/guests/guest.h"
#define CR0_EM (1 << 2)
#define CR0_MP (1 << 1)
#define CR0_TS (1 << 3)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define CR4_OSXSAVE (1 << 18)
guest_main:
    mov %cr0, %eax
    and $~(CR0_EM | CR0_TS), %eax
    or $CR0_MP, %eax
    mov %eax, %cr0
    mov %cr4, %eax
    or $(CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    mov %eax, %cr4
    mov $1, %eax
    cpuid
    and $((1 << 26) | (1 << 28)), %ecx   /* XSAVE and AVX */
    cmp $((1 << 26) | (1 << 28)), %ecx
    jne 1f
    mov %cr4, %eax
    or $CR4_OSXSAVE, %eax
    mov %eax, %cr4
    xor %ecx, %ecx
    mov $7, %eax                   /* x87 | SSE | AVX */
    xor %edx, %edx
    xsetbv
    movb $1, have_avx
1:  rdtsc
    xor %edx, %eax
    or $1, %eax
    mov %eax, seed
    mov $pattern, %edi             /* 64 dwords: seed * (j + 1) */
    xor %ecx, %ecx
2:  lea 1(%ecx), %eax
    imul seed, %eax
    mov %eax, (%edi,%ecx,4)
    inc %ecx
    cmp $64, %ecx
    jb 2b
    mov seed, %eax                 /* MXCSR: reset value with the seed's rounding control */
    and $0x6000, %eax
    or $0x1f80, %eax
    mov %eax, mxcsr
    ldmxcsr mxcsr
    fninit
    fildl seed
    cmpb $0, have_avx
    je 3f
    vmovdqu pattern + 0, %ymm0
    vmovdqu pattern + 32, %ymm1
    vmovdqu pattern + 64, %ymm2
    vmovdqu pattern + 96, %ymm3
    vmovdqu pattern + 128, %ymm4
    vmovdqu pattern + 160, %ymm5
    vmovdqu pattern + 192, %ymm6
    vmovdqu pattern + 224, %ymm7
    PRINT(avx, avx_end - avx)
    jmp check
3:  movdqu pattern + 0, %xmm0
    movdqu pattern + 32, %xmm1
    movdqu pattern + 64, %xmm2
    movdqu pattern + 96, %xmm3
    movdqu pattern + 128, %xmm4
    movdqu pattern + 160, %xmm5
    movdqu pattern + 192, %xmm6
    movdqu pattern + 224, %xmm7
    PRINT(sse, sse_end - sse)
check:
    cmpb $0, have_avx
    je 4f
    vmovdqu %ymm0, seen + 0
    vmovdqu %ymm1, seen + 32
    vmovdqu %ymm2, seen + 64
    vmovdqu %ymm3, seen + 96
    vmovdqu %ymm4, seen + 128
    vmovdqu %ymm5, seen + 160
    vmovdqu %ymm6, seen + 192
    vmovdqu %ymm7, seen + 224
    mov $32, %edx                  /* bytes compared per register */
    jmp 5f
4:  movdqu %xmm0, seen + 0
    movdqu %xmm1, seen + 32
    movdqu %xmm2, seen + 64
    movdqu %xmm3, seen + 96
    movdqu %xmm4, seen + 128
    movdqu %xmm5, seen + 160
    movdqu %xmm6, seen + 192
    movdqu %xmm7, seen + 224
    mov $16, %edx
5:  xor %ebx, %ebx                 /* register number */
6:  mov %ebx, %eax
    shl $5, %eax
    lea pattern(%eax), %esi
    lea seen(%eax), %edi
    mov %edx, %ecx
    cld
    repe cmpsb
    jne bad
    inc %ebx
    cmp $8, %ebx
    jb 6b
    mov $8, %ebx
    fistl x87
    mov x87, %eax
    cmp seed, %eax
    jne bad
    mov $9, %ebx
    stmxcsr seen
    mov seen, %eax
    cmp mxcsr, %eax
    jne bad
    incl checks
    testl $0xfff, checks
    jnz check
    incl rounds
    mov $HC_REPORT, %eax
    mov $2, %ebx
    mov rounds, %ecx
    call hypercall
    jmp check
bad:
    mov %ebx, %ecx
    mov $HC_REPORT, %eax
    mov $3, %ebx
    call hypercall
    EXIT(1)
    .data
have_avx: .byte 0
    .balign 4
seed: .long 0
mxcsr: .long 0
x87: .long 0
checks: .long 0
rounds: .long 0
    .balign 32
pattern: .fill 64, 4, 0
seen: .fill 64, 4, 0
avx: .ascii "fpu: checking x87, MXCSR and YMM0-7\n"
avx_end:
sse: .ascii "fpu: checking x87, MXCSR and XMM0-7\n"
sse_end:
