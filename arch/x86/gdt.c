/* GDT and TSS per CPU: 64-bit kernel segments and IST stacks for #DF, NMI and #MC (SDM 3A 8.7, 6.14.5). */
#include <stdint.h>
#include "arch/x86/traps.h"
#include "kernel/kstring.h"
#include "kernel/heap.h"

struct tss64 {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3, iomap_base;
} __attribute__((packed));

#define IST_STACK_SIZE 8192

/* One CPU's descriptor tables and its stacks for the IST vectors. */
struct cpu_tables {
    uint64_t gdt[5];
    struct tss64 tss;
    uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
};

static struct cpu_tables boot_tables;

static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
    slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
              ((uint64_t)(limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
    slot[1] = base >> 32;
}

/*
 * gdt[0], the null descriptor, is never read by the CPU (SDM 3A 3.4.2): it holds the CPU's index, which
 * gdt_cpu_index reads back through SGDT, without the memory-mapped LAPIC read of its APIC ID (which an
 * emulator may serialise across CPUs). Guest entries and exits restore the host's GDTR (APM 15.5.1;
 * VMX: the VMCS's host GDTR base, written on the CPU that loads the VMCS).
 */
static void tables_fill(struct cpu_tables *t, int cpu)
{
    memset(t, 0, sizeof(*t));
    t->gdt[0] = (uint64_t)cpu;
    t->gdt[1] = 0x00209A0000000000ull;   /* GDT_KCODE: long mode, present, execute/read */
    t->gdt[2] = 0x0000920000000000ull;   /* GDT_KDATA */
    for (int i = 0; i < 3; i++)
        t->tss.ist[i] = (uint64_t)(uintptr_t)&t->ist_stacks[i][IST_STACK_SIZE];
    t->tss.iomap_base = sizeof(t->tss);
    set_tss_descriptor(&t->gdt[3], (uint64_t)(uintptr_t)&t->tss, sizeof(t->tss) - 1);
}

struct cpu_tables *gdt_tables_alloc(int cpu)
{
    struct cpu_tables *t = kmalloc(sizeof(*t));
    if (t)
        tables_fill(t, cpu);
    return t;
}

int gdt_cpu_index(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) g;
    __asm__ volatile("sgdt %0" : "=m"(g));
    return (int)*(const volatile uint64_t *)(uintptr_t)g.base;
}

void gdt_load(struct cpu_tables *t)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) ptr;

    ptr.limit = sizeof(t->gdt) - 1;
    ptr.base = (uint64_t)(uintptr_t)t->gdt;
    __asm__ volatile(
        "lgdt %0\n\t"
        "pushq $0x08\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw $0x10, %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        "movw $0x18, %%ax\n\t"
        "ltr %%ax\n\t"
        : : "m"(ptr) : "rax", "memory");
}

void gdt_init(void)
{
    tables_fill(&boot_tables, 0);
    gdt_load(&boot_tables);
}
