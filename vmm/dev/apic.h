/* Local APIC, IOAPIC and 8259 models: state records and the calls between the chips (irqchip.c wires them). */
#ifndef SHOAL_VMM_APIC_H
#define SHOAL_VMM_APIC_H
#include <stdint.h>
#include "kernel/time.h"
#include "vmm/dev/snapshot.h"

struct vm;
struct vcpu;

#define LAPIC_STATE_VERSION 1
#define LAPIC_NLVT 6                 /* timer, thermal, perf, LINT0, LINT1, error (version reg max LVT 5) */
#define LVT_TIMER 0
#define LVT_LINT0 3
#define LVT_LINT1 4
#define LVT_ERROR 5
#define LAPIC_BUS_HZ 1000000000ull   /* the timer's input clock: 1 GHz, one tick per ns at divide 1 */

struct lapic_state {
    uint64_t apic_base;              /* IA32_APIC_BASE: base, BSP (8), x2APIC (10), enable (11) */
    uint32_t id, tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t lvt[LAPIC_NLVT];
    uint32_t timer_icr, timer_dcr;
    uint64_t timer_start;            /* time_ns() when the current count was loaded */
    uint64_t tsc_deadline;
};

struct lapic {
    struct lapic_state s;
    struct vcpu *v;
    struct timer timer;
    uint64_t timer_fired_ns;         /* time_ns() when the timer last fired (its rate bound) */
    int extint;                      /* pending() last offered a PIC vector */
    uint8_t restored_armed;          /* restored from a record whose timer was armed (lapic_post_restore) */
};

/* Delivery modes (SDM 3A 11.6.1). */
enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_SIPI = 6, DM_EXTINT = 7 };

/* An interrupt message from the IOAPIC or an ICR. */
struct apic_msg {
    uint32_t dest;
    uint8_t vector, mode, logical, level_trig, x2;
};

/* lapic.c */
void lapic_vcpu_init(struct lapic *l, struct vcpu *v, int bsp);
int lapic_mmio_read(struct lapic *l, uint32_t off, uint32_t *val);
int lapic_mmio_write(struct lapic *l, uint32_t off, uint32_t val);
int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val);
int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val);
/* Deliver m to every matching LAPIC of vm (from the IOAPIC or another LAPIC's ICR). */
void lapic_send(struct vm *vm, const struct apic_msg *m, struct lapic *self);
/* Highest vector the LAPIC lets its CPU take now, or -1; and the CPU taking it (IRR -> ISR). */
int lapic_pending(struct lapic *l);
void lapic_accept(struct lapic *l, int vector);
/* LINT0 configured for ExtINT and not masked (or the APIC disabled): the PIC drives the CPU's INTR. */
int lapic_takes_extint(const struct lapic *l);
uint32_t lapic_current_count(const struct lapic *l);
void lapic_snapshot(struct lapic_state *st, struct snap *s);
void lapic_stop(struct lapic *l);
/*
 * The registry's record of one LAPIC: lapic_snapshot with the timer's start as its age (now - start, so
 * it goes on under another clock) and whether the timer was armed. lapic_post_restore re-arms it.
 */
void lapic_record(struct lapic *l, struct snap *s);
void lapic_post_restore(struct lapic *l);

/* ioapic.c */
#define IOAPIC_PINS 24
#define IOAPIC_STATE_VERSION 1
struct ioapic_state {
    uint32_t id, sel;
    uint32_t level;                  /* pin levels */
    uint64_t redir[IOAPIC_PINS];
};
struct ioapic {
    struct ioapic_state s;
    struct vm *vm;
};
void ioapic_set_pin(struct ioapic *io, int pin, int level);
/* The LAPIC saw EOI for a level-triggered vector: clear Remote IRR, re-deliver if still asserted. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
int ioapic_mmio_read(void *dev, uint64_t off, int size, uint64_t *val);
int ioapic_mmio_write(void *dev, uint64_t off, int size, uint64_t val);
void ioapic_snapshot(struct ioapic_state *st, struct snap *s);

/* i8259.c */
#define PIC_STATE_VERSION 1
struct pic_chip {
    uint8_t irr, isr, imr, elcr, lines;  /* lines: input levels */
    uint8_t vbase, icw_step, icw4, single, auto_eoi, read_isr, special_mask, poll;
};
struct pic_state { struct pic_chip c[2]; };
struct pic {
    struct pic_state s;
    struct vm *vm;
};
void pic_set_irq(struct pic *p, int irq, int level);
/* The vector the pair presents on INTR, or -1; pic_ack takes it (INTA cycle: IRR -> ISR). */
int pic_output(struct pic *p);
int pic_ack(struct pic *p);
/* Port access: chip 0 master (0x20/0x21), 1 slave (0xA0/0xA1); off 0 or 1. */
uint8_t pic_read(struct pic *p, int chip, int off);
void pic_write(struct pic *p, int chip, int off, uint8_t val);
void pic_snapshot(struct pic_state *st, struct snap *s);

/* irqchip.c: the VM's chips, reachable from vm->irqchip->ctx. */
struct vm_irqchip {
    struct lapic *lapic[4];
    struct ioapic *ioapic;
    struct pic *pic;
};
struct vm_irqchip *irqchip_of(struct vm *vm);
/* Create (once) the VM's irq_chip record and install it as vm->irqchip. NULL on -ENOMEM. */
struct vm_irqchip *irqchip_get(struct vm *vm);
/* The PIC's INTR output may have changed: wake the BSP if it can take it. */
void irqchip_pic_changed(struct vm *vm);
void irqchip_eoi(struct vm *vm, uint8_t vector);
#endif
