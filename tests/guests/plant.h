/* Register planting (plantset64 / plantget64): the values one guest plants and the other must never see. */
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_TS (1 << 3)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define CR4_OSXSAVE (1 << 18)
/* DR0-3: canonical addresses nobody else would pick; DR6: B0-B3 set (the reset value has them clear). */
#define PLANT_DR(i) (0x00005a5a5a5a5000 + 8 * (i))
#define PLANT_DR6 0xffff0fff
#define PLANT_DR6_BITS 0xf
/* DR7: every breakpoint's type and length set (write, 8 bytes) but none enabled (L0-3, G0-3 clear). */
#define PLANT_DR7 0xdddd0400

/* x87 usable, SSE on (CR4.OSFXSR): XMM registers work whatever XCR0 holds (SDM 1 13.1). */
.macro sse_on
    mov %cr0, %rax
    and $~(CR0_EM | CR0_TS), %rax
    or $CR0_MP, %rax
    mov %rax, %cr0
    mov %cr4, %rax
    or $(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
    mov %rax, %cr4
.endm

/* AVX when CPUID offers XSAVE and AVX: CR4.OSXSAVE, XCR0 = x87|SSE|AVX; sets \flag to 1. */
.macro avx_on flag
    mov $1, %eax
    cpuid
    and $((1 << 26) | (1 << 28)), %ecx
    cmp $((1 << 26) | (1 << 28)), %ecx
    jne 9f
    mov %cr4, %rax
    or $CR4_OSXSAVE, %rax
    mov %rax, %cr4
    xor %ecx, %ecx
    mov $7, %eax
    xor %edx, %edx
    xsetbv
    movb $1, \flag
9:
.endm

/* Opmask k1-k7 values. */
#define PLANT_K(i) (0x5a00 + (i))

/*
 * AVX-512 after avx_on, when CPUID offers AVX512F and AVX512VL and XCR0 can hold opmask, ZMM_Hi256 and
 * Hi16_ZMM: XCR0 = 0xe7; sets \flag to 1.
 */
.macro avx512_on flag
    mov $7, %eax
    xor %ecx, %ecx
    cpuid
    and $((1 << 16) | (1 << 31)), %ebx
    cmp $((1 << 16) | (1 << 31)), %ebx
    jne 8f
    mov $0xd, %eax
    xor %ecx, %ecx
    cpuid
    and $0xe0, %eax
    cmp $0xe0, %eax
    jne 8f
    xor %ecx, %ecx
    mov $0xe7, %eax
    xor %edx, %edx
    xsetbv
    movb $1, \flag
8:
.endm

/* YMM16-31 (EVEX only) to `seen` at the same 32-byte stride as YMM0-15. */
.macro store_hi16
    .irp r, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    vmovdqu32 %ymm\r, seen + 32 * (\r - 16)
    .endr
.endm

/* The pattern into YMM16-31, as load_vec puts it into YMM0-15. */
.macro load_hi16
    .irp r, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    vmovdqu32 plant_pattern + 32 * (\r - 16), %ymm\r
    .endr
.endm

/* ecx = how many of k1-k7 hold PLANT_K. */
.macro count_k
    xor %ecx, %ecx
    .irp i, 1, 2, 3, 4, 5, 6, 7
    kmovw %k\i, %eax
    cmp $PLANT_K(\i), %eax
    jne 7f
    inc %ecx
7:
    .endr
.endm

/* DR0-3 and DR6 into the 5 quadwords at \buf. */
.macro save_drs buf
    mov %dr0, %rax
    mov %rax, \buf + 0
    mov %dr1, %rax
    mov %rax, \buf + 8
    mov %dr2, %rax
    mov %rax, \buf + 16
    mov %dr3, %rax
    mov %rax, \buf + 24
    mov %dr6, %rax
    mov %rax, \buf + 32
.endm

/* count_vec: ecx = how many of the 16 registers' 16-byte halves at offset esi in `seen` equal the pattern's. */
.macro count_vec_fn
count_vec:
    xor %ecx, %ecx
    xor %ebx, %ebx
1:  mov %ebx, %eax
    shl $5, %eax
    add %esi, %eax
    mov (plant_pattern)(%rax), %rdx
    cmp %rdx, seen(%rax)
    jne 2f
    mov 8 + plant_pattern(%rax), %rdx
    cmp %rdx, 8 + seen(%rax)
    jne 2f
    inc %ecx
2:  inc %ebx
    cmp $16, %ebx
    jb 1b
    ret
.endm

/* The pattern: 16 registers x 32 bytes, byte j of register r = 0x5a ^ (r * 32 + j). */
.macro plant_pattern
    .balign 32
plant_pattern:
    .set r, 0
    .rept 16
    .set j, 0
    .rept 32
    .byte (0x5a ^ (r * 32 + j)) & 0xff
    .set j, j + 1
    .endr
    .set r, r + 1
    .endr
.endm
