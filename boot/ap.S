/*
 * Application processor trampoline (SDM 3A 9.4 MP initialization): copied by arch/x86/smp.c to a free page
 * below 1 MiB; a startup IPI starts an AP at its first byte in real mode (CS = page >> 4, IP = 0). It goes
 * to protected mode, then long mode on the kernel's page tables, and calls ap_entry(arg) on its own stack.
 * The BSP fills the parameter block at the end (AP_* offsets in arch/x86/smp.c) before each SIPI.
 */
#define AP_OFF(sym) ((sym) - ap_tramp_start)

    .section .rodata.ap_tramp, "a"
    .balign 16
    .global ap_tramp_start, ap_tramp_end, ap_tramp_params
    .code16
ap_tramp_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    movzwl %ax, %ebx
    shl $4, %ebx                        /* ebx: the page's linear address, kept through every mode */
    lgdtl AP_OFF(ap_gdt_ptr)            /* its base was patched to the page's copy of ap_gdt */
    mov %cr0, %eax
    and $~0x60000000, %eax              /* caches on: INIT leaves CD and NW set (SDM 3A 9.1.1, 11.5.3) */
    or $1, %eax                         /* PE */
    mov %eax, %cr0
    ljmpl *AP_OFF(ap_far32)             /* (page + ap_pm32, selector 0x08) */

    .code32
ap_pm32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $(1 << 5), %eax                  /* PAE */
    mov %eax, %cr4
    mov AP_OFF(ap_cr3)(%ebx), %eax      /* the kernel's PML4 lies below 4 GiB (in the image) */
    mov %eax, %cr3
    mov $0xC0000080, %ecx               /* EFER as the BSP has it (LME, NXE) */
    mov AP_OFF(ap_efer)(%ebx), %eax
    xor %edx, %edx
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax                /* PG: long mode active */
    mov %eax, %cr0
    ljmpl *AP_OFF(ap_far64)(%ebx)       /* (page + ap_lm64, selector 0x18) */

    .code64
ap_lm64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov AP_OFF(ap_stack)(%rbx), %rsp
    mov AP_OFF(ap_arg)(%rbx), %rdi
    mov AP_OFF(ap_entry)(%rbx), %rax
    xor %ebp, %ebp                      /* ends frame-pointer backtraces */
    call *%rax
1:  cli
    hlt
    jmp 1b

    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF            /* 0x08: 32-bit code, flat */
    .quad 0x00CF92000000FFFF            /* 0x10: data, flat */
    .quad 0x00209A0000000000            /* 0x18: 64-bit code */
ap_gdt_ptr:
    .short ap_gdt_ptr - ap_gdt - 1
    .long 0                             /* patched: page + AP_OFF(ap_gdt) */
    .balign 8
ap_tramp_params:
ap_far32:   .long 0, 0x08               /* patched: page + AP_OFF(ap_pm32) */
ap_far64:   .long 0, 0x18               /* patched: page + AP_OFF(ap_lm64) */
ap_cr3:     .quad 0
ap_efer:    .quad 0
ap_stack:   .quad 0
ap_arg:     .quad 0
ap_entry:   .quad 0
    .global ap_tramp_gdt_ptr, ap_tramp_gdt, ap_tramp_pm32, ap_tramp_lm64
    .set ap_tramp_gdt_ptr, ap_gdt_ptr
    .set ap_tramp_gdt, ap_gdt
    .set ap_tramp_pm32, ap_pm32
    .set ap_tramp_lm64, ap_lm64
ap_tramp_end:
