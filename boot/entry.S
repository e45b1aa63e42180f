/* 32-bit multiboot entry: build identity page tables for the first 4 GiB, enter long mode, call kmain. */
#define CR0_PG      (1 << 31)
#define CR0_CD_NW   0x60000000  /* cache disable, not write-through: set at reset (SDM 3A 9.1.1, 11.5.3) */
#define CR4_PAE     (1 << 5)
#define EFER_MSR    0xC0000080
#define EFER_LME    (1 << 8)
#define PTE_P_W     0x003
#define PDE_LARGE   0x083       /* present, writable, 2 MiB page */

    .section .text.boot, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    mov %eax, %edi                  /* loader magic, kept for kmain */
    mov %ebx, %esi                  /* multiboot info pointer */
    mov $boot_stack_top, %esp

    /* Long mode present? (CPUID 0x80000001 EDX bit 29) */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb no_long_mode
    mov $0x80000001, %eax
    cpuid
    bt $29, %edx
    jnc no_long_mode

    /* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; each PD maps 1 GiB with 2 MiB pages. */
    mov $boot_pdpt, %eax
    or $PTE_P_W, %eax
    mov %eax, boot_pml4
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $12, %eax
    add $boot_pd, %eax
    or $PTE_P_W, %eax
    mov %eax, boot_pdpt(,%ecx,8)
    inc %ecx
    cmp $4, %ecx
    jb 1b
    xor %ecx, %ecx                  /* 2048 PDEs, entry i maps i * 2 MiB */
2:  mov %ecx, %eax
    shl $21, %eax
    or $PDE_LARGE, %eax
    mov %eax, boot_pd(,%ecx,8)
    mov %ecx, %eax
    shr $11, %eax                   /* bits 32+ of the address: i >> 11 */
    mov %eax, boot_pd+4(,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jb 2b

    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $EFER_MSR, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    and $~CR0_CD_NW, %eax       /* caches on: a firmware may hand over with them off (Bochs' BIOS does) */
    or $CR0_PG, %eax
    mov %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $long_entry

no_long_mode:
    /* Say so on COM1 (already set up by firmware or not: best effort) and stop. */
    mov $msg_no_lm, %esi
3:  lodsb
    test %al, %al
    jz 4f
    mov $0x3f8, %dx
    out %al, %dx
    jmp 3b
4:  hlt
    jmp 4b

    .code64
long_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    xor %ebp, %ebp                  /* terminates frame-pointer backtraces */
    /* edi = magic, esi = info: already the SysV argument registers (zero-extended by mov above) */
    mov %edi, %edi
    mov %esi, %esi
    call kmain
5:  cli
    hlt
    jmp 5b

    .section .rodata
msg_no_lm:
    .asciz "shoal: this CPU has no long mode (x86-64); cannot boot\r\n"
    .align 8
boot_gdt:
    .quad 0
    .quad 0x00209A0000000000        /* 0x08: 64-bit code */
    .quad 0x0000920000000000        /* 0x10: data */
boot_gdt_ptr:
    .short boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

    .section .bss.pagetables, "aw", @nobits
    .align 4096
    .global boot_pml4, boot_pdpt, boot_pd
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096 * 4
    .align 16
    .global boot_stack_top
boot_stack: .skip 32768
boot_stack_top:
