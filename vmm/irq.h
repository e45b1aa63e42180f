/* Interrupt lines of a VM's platform: devices raise GSIs; the platform's interrupt chips route them. */
#ifndef SHOAL_VMM_IRQ_H
#define SHOAL_VMM_IRQ_H
#include <stdint.h>

struct vm;
struct vcpu;

/*
 * How a VM's interrupt controllers plug into the core. Test guests have none (their hypercall timer
 * raises vectors directly); Linux guests get the PIC, IOAPIC and LAPICs of vmm/dev/.
 */
struct irq_chip {
    /* Set GSI gsi to level (1 asserted, 0 deasserted); edge-triggered lines act on the rising edge. */
    void (*set_gsi)(struct vm *vm, int gsi, int level);
    /* Highest vector v may take now (by the LAPIC's priority rules), or -1. */
    int (*pending)(struct vcpu *v);
    /* v's CPU is taking vector (injected): move it from IRR to ISR. */
    void (*accept)(struct vcpu *v, int vector);
    /* The x2APIC, TSC-deadline and APIC-base MSRs: 0 when handled, -ENOENT when not the chip's,
     * another negative errno to give the guest #GP. */
    int (*msr_read)(struct vcpu *v, uint32_t msr, uint64_t *val);
    int (*msr_write)(struct vcpu *v, uint32_t msr, uint64_t val);
    void *ctx;
};

/* Assert/deassert a GSI on vm (no-op without an interrupt chip). Safe from timer callbacks. */
void vm_irq_set(struct vm *vm, int gsi, int level);
/* Assert then deassert (an edge). */
void vm_irq_pulse(struct vm *vm, int gsi);
#endif
