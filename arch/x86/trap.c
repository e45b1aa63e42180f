/* IDT setup and trap dispatch: exceptions dump state and stop the CPU; IRQs go to their handlers. */
#include "arch/x86/traps.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "kernel/ksyms.h"
#include "kernel/printf.h"
#include "kernel/errno.h"

struct idt_entry {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, rsvd;
} __attribute__((packed));

extern const uint64_t trap_stubs[256];
static struct idt_entry idt[256];
static void (*irq_handlers[256])(struct trap_frame *);

static const char *const exc_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
    "reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
    "#VC VMM communication", "#SX security", "reserved 31",
};

static void set_gate(int vec, uint64_t handler, int ist)
{
    idt[vec] = (struct idt_entry){
        .off_lo = handler & 0xffff, .sel = GDT_KCODE, .ist = (uint8_t)ist,
        .type = 0x8E,  /* present, DPL 0, 64-bit interrupt gate (SDM 3A 6.14.1) */
        .off_mid = (handler >> 16) & 0xffff, .off_hi = (uint32_t)(handler >> 32),
    };
}

void idt_load(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) ptr;
    ptr.limit = sizeof(idt) - 1;
    ptr.base = (uint64_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" : : "m"(ptr));
}

void idt_init(void)
{
    for (int v = 0; v < 256; v++)
        set_gate(v, trap_stubs[v], 0);
    set_gate(2, trap_stubs[2], 2);    /* NMI on IST2 */
    set_gate(8, trap_stubs[8], 1);    /* #DF on IST1: the stack may be what failed */
    set_gate(18, trap_stubs[18], 3);  /* #MC on IST3 */
    idt_load();
}

int irq_register(int vector, void (*fn)(struct trap_frame *tf))
{
    if (vector < 32 || vector > 255)
        return -EINVAL;
    if (irq_handlers[vector])
        return -EBUSY;
    irq_handlers[vector] = fn;
    return 0;
}

static void print_sym(uint64_t addr)
{
    uint64_t off;
    const char *name = ksyms_lookup(addr, &off);
    if (name)
        kprintf("  [<%016llx>] %s+0x%llx\n", (unsigned long long)addr, name, (unsigned long long)off);
    else
        kprintf("  [<%016llx>] ?\n", (unsigned long long)addr);
}

/* Shared walk of the frame-pointer chain after the first frame. */
static void walk_frames(uint64_t rbp);

void backtrace_print(uint64_t rip, uint64_t rbp)
{
    kprintf("backtrace:\n");
    print_sym(rip);
    walk_frames(rbp);
}

static void walk_frames(uint64_t rbp)
{
    for (int depth = 0; depth < 32 && rbp; depth++) {
        /* Follow only frames inside the identity-mapped low 4 GiB and properly aligned. */
        if ((rbp & 7) || rbp < 0x1000 || rbp >= (1ull << 32) - 16)
            break;
        uint64_t ret = ((uint64_t *)(uintptr_t)rbp)[1];
        if (!ret)
            break;
        print_sym(ret - 1);   /* the call instruction, not the one after it */
        rbp = ((uint64_t *)(uintptr_t)rbp)[0];
    }
}

void trap_dump(const struct trap_frame *tf)
{
    const char *name = tf->vector < 32 ? exc_names[tf->vector] : "interrupt";
    kprintf("\n*** EXCEPTION vector %llu (%s) error code 0x%llx\n",
            (unsigned long long)tf->vector, name, (unsigned long long)tf->error);
    kprintf("RIP %016llx CS %04llx RFLAGS %016llx\n", (unsigned long long)tf->rip,
            (unsigned long long)tf->cs, (unsigned long long)tf->rflags);
    kprintf("RSP %016llx SS %04llx CR2 %016llx CR3 %016llx\n", (unsigned long long)tf->rsp,
            (unsigned long long)tf->ss, (unsigned long long)read_cr2(), (unsigned long long)read_cr3());
    kprintf("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n", (unsigned long long)tf->rax,
            (unsigned long long)tf->rbx, (unsigned long long)tf->rcx, (unsigned long long)tf->rdx);
    kprintf("RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n", (unsigned long long)tf->rsi,
            (unsigned long long)tf->rdi, (unsigned long long)tf->rbp, (unsigned long long)tf->r8);
    kprintf("R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n", (unsigned long long)tf->r9,
            (unsigned long long)tf->r10, (unsigned long long)tf->r11, (unsigned long long)tf->r12);
    kprintf("R13 %016llx R14 %016llx R15 %016llx\n", (unsigned long long)tf->r13,
            (unsigned long long)tf->r14, (unsigned long long)tf->r15);
    kprintf("backtrace:\n");
    print_sym(tf->rip);
    /* A leaf function keeps no frame: its caller's return address is then on top of the stack.
     * Show it marked '?' (it may be stale) unless the frame chain names it anyway. */
    if (tf->rsp >= 0x1000 && tf->rsp < (1ull << 32) - 8 && !(tf->rsp & 7)) {
        uint64_t top = *(uint64_t *)(uintptr_t)tf->rsp, off;
        uint64_t next = (tf->rbp >= 0x1000 && tf->rbp < (1ull << 32) - 16 && !(tf->rbp & 7)) ?
                        ((uint64_t *)(uintptr_t)tf->rbp)[1] : 0;
        const char *name = ksyms_lookup(top - 1, &off);
        if (name && top != next)
            kprintf("  [<%016llx>] ? %s+0x%llx\n", (unsigned long long)(top - 1), name, (unsigned long long)off);
    }
    walk_frames(tf->rbp);
}

void trap_dispatch(struct trap_frame *tf);
void trap_dispatch(struct trap_frame *tf)
{
    if (tf->vector >= 32) {
        if (irq_handlers[tf->vector])
            irq_handlers[tf->vector](tf);
        if (tf->vector != VEC_SPURIOUS)
            lapic_eoi();
        return;
    }
    trap_dump(tf);
    kprintf("CPU stopped.\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}
