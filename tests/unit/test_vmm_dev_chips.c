/* Host unit tests of the chip models: UART, LAPIC, IOAPIC, 8259, PIT, RTC, i8042, PM timer, snapshot round trips. */
#define TEST_SUITE "vmm_dev"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/vmm_dev_shim.h"
#include "vmm/dev/devices.h"
#include "vmm/dev/apic.h"
#include "vmm/dev/ns16550.h"
#include "vmm/dev/i8254.h"
#include "vmm/dev/mc146818.h"
#include "vmm/dev/pci_host.h"
#include "vmm/dev/pmtimer.h"
#include "vmm/acpi.h"
#include "drivers/cmos.h"

static uint32_t pin(struct vm *vm, uint16_t port)
{
    uint32_t v = 0;
    struct pio_range *r = NULL;
    for (int i = 0; i < vm->npio; i++)
        if (port >= vm->pio[i].base && port < vm->pio[i].base + vm->pio[i].count)
            r = &vm->pio[i];
    if (r)
        r->in(r->dev, (uint16_t)(port - r->base), 1, &v);
    return v;
}

static void pout(struct vm *vm, uint16_t port, uint32_t val)
{
    for (int i = 0; i < vm->npio; i++)
        if (port >= vm->pio[i].base && port < vm->pio[i].base + vm->pio[i].count)
            vm->pio[i].out(vm->pio[i].dev, (uint16_t)(port - vm->pio[i].base), 1, val);
}

static uint32_t lr(struct vm *vm, int cpu, uint32_t off)
{
    uint32_t v;
    lapic_mmio_read(vm->vcpu[cpu]->lapic, off, &v);
    return v;
}

static void lw(struct vm *vm, int cpu, uint32_t off, uint32_t val) { lapic_mmio_write(vm->vcpu[cpu]->lapic, off, val); }

TEST(uart_tx_iir_loopback)
{
    struct vm *vm = fake_vm(1);
    CHECK_EQ(ns16550_attach(vm, 0x3f8, 4), 0);
    CHECK(vm->console_in.rx != NULL);
    CHECK_EQ(pin(vm, 0x3fd) & 0x60, 0x60);            /* THRE and TEMT */
    pout(vm, 0x3f8, 'h');
    pout(vm, 0x3f8, 'i');
    CHECK_EQ(fake_console_len, 2);
    CHECK(!memcmp(fake_console, "hi", 2));
    CHECK_EQ(pin(vm, 0x3fa) & 0x0f, 0x01);            /* no interrupt enabled */
    pout(vm, 0x3f9, 0x02);                            /* ETBEI with THR empty: THRE interrupt */
    CHECK_EQ(fake_gsi[4], 1);
    CHECK_EQ(pin(vm, 0x3fa) & 0x0f, 0x02);
    CHECK_EQ(fake_gsi[4], 0);                         /* reading IIR cleared it */
    pout(vm, 0x3f9, 0x03);
    pout(vm, 0x3fa, 0x01);                            /* FIFOs on */
    vm->console_in.rx(vm->console_in.dev, 'x');
    CHECK_EQ(fake_gsi[4], 1);
    CHECK_EQ(pin(vm, 0x3fa), 0xc4);                   /* RX data beats THRE; FIFO bits */
    CHECK_EQ(pin(vm, 0x3f8), 'x');
    CHECK_EQ(pin(vm, 0x3fd) & 1, 0);
    pout(vm, 0x3fc, 0x10 | 0x02);                     /* loopback, RTS */
    CHECK_EQ(pin(vm, 0x3fe) & 0x10, 0x10);            /* CTS follows RTS */
    pout(vm, 0x3f8, 'L');
    CHECK_EQ(fake_console_len, 2);                    /* loopback: not on the console */
    CHECK_EQ(pin(vm, 0x3f8), 'L');
    pout(vm, 0x3fb, 0x83);                            /* DLAB */
    pout(vm, 0x3f8, 1);
    CHECK_EQ(pin(vm, 0x3f8), 1);
    CHECK_EQ(fake_console_len, 2);
    for (int i = 0; i < 20; i++)
        vm->console_in.rx(vm->console_in.dev, 'a');         /* loopback disconnects the line */
    pout(vm, 0x3fb, 0x03);
    pout(vm, 0x3fc, 0x08);
    for (int i = 0; i < 17; i++)
        vm->console_in.rx(vm->console_in.dev, (char)('a' + i));
    CHECK_EQ(pin(vm, 0x3fd) & 0x03, 0x01);            /* DR, no overrun: a burst waits in shoal's backlog */
    for (int i = 0; i < 17; i++)
        CHECK_EQ(pin(vm, 0x3f8), 'a' + i);            /* every byte, in order, as the FIFO drains */
    CHECK_EQ(pin(vm, 0x3fd) & 0x01, 0);
    fake_vm_free(vm);
}

static struct vm *apic_vm(int n)
{
    struct vm *vm = fake_vm(n);
    CHECK_EQ(lapic_attach(vm), 0);
    CHECK_EQ(ioapic_attach(vm), 0);
    CHECK_EQ(pic_attach(vm), 0);
    for (int i = 0; i < n; i++)
        lw(vm, i, 0xf0, 0x1ff);                       /* software enable */
    return vm;
}

TEST(lapic_priority_eoi)
{
    struct vm *vm = apic_vm(1);
    struct vcpu *v = vm->vcpu[0];
    const struct irq_chip *c = vm->irqchip;
    struct apic_msg m = { 0, 0x41, DM_FIXED, 0, 0, 0 };
    CHECK_EQ(lr(vm, 0, 0x20), 0);
    CHECK_EQ(lr(vm, 0, 0x30) & 0xff00ff, 0x050014);
    lapic_send(vm, &m, NULL);
    m.vector = 0x81;
    lapic_send(vm, &m, NULL);
    CHECK_EQ(c->pending(v), 0x81);
    c->accept(v, 0x81);
    CHECK_EQ(lr(vm, 0, 0xa0), 0x80);                  /* PPR = in-service class */
    CHECK_EQ(c->pending(v), -1);                      /* 0x41 is below */
    m.vector = 0x91;
    lapic_send(vm, &m, NULL);
    CHECK_EQ(c->pending(v), 0x91);                    /* a higher class nests */
    c->accept(v, 0x91);
    lw(vm, 0, 0xb0, 0);                               /* EOI ends 0x91 */
    CHECK_EQ(lr(vm, 0, 0x100 + 0x10 * 4), 1u << 1);   /* ISR still has 0x81 (bit 1 of word 4) */
    lw(vm, 0, 0xb0, 0);
    lw(vm, 0, 0x80, 0x50);                            /* TPR blocks class 4 */
    CHECK_EQ(c->pending(v), -1);
    lw(vm, 0, 0x80, 0x30);
    CHECK_EQ(c->pending(v), 0x41);
    fake_vm_free(vm);
}

TEST(lapic_timer_modes)
{
    struct vm *vm = apic_vm(1);
    struct vcpu *v = vm->vcpu[0];
    lw(vm, 0, 0x3e0, 0x3);                            /* divide by 16 */
    lw(vm, 0, 0x320, 0x30);                           /* one-shot, vector 0x30 */
    lw(vm, 0, 0x380, 1000);
    fake_advance(8000);
    CHECK_EQ(lr(vm, 0, 0x390), 500);                  /* 8000 ns / 16 = 500 ticks gone */
    fake_advance(8000);
    CHECK_EQ(lr(vm, 0, 0x390), 0);
    CHECK_EQ(vm->irqchip->pending(v), 0x30);
    vm->irqchip->accept(v, 0x30);
    lw(vm, 0, 0xb0, 0);
    lw(vm, 0, 0x3e0, 0xb);                            /* divide by 1 */
    lw(vm, 0, 0x320, 0x20031);                        /* periodic */
    lw(vm, 0, 0x380, 300000);
    fake_advance(300000);
    CHECK_EQ(vm->irqchip->pending(v), 0x31);
    vm->irqchip->accept(v, 0x31);
    lw(vm, 0, 0xb0, 0);
    fake_advance(90000);
    CHECK_EQ(lr(vm, 0, 0x390), 210000);
    fake_advance(210000);
    CHECK_EQ(vm->irqchip->pending(v), 0x31);          /* the second period */
    vm->irqchip->accept(v, 0x31);
    lw(vm, 0, 0xb0, 0);
    lw(vm, 0, 0x320, 0x40032);                        /* TSC-deadline */
    fake_advance(200000);                             /* past the timer's rate bound */
    uint64_t val;
    fake_tsc = 1000000;
    CHECK_EQ(lapic_msr_write(v->lapic, 0x6e0, fake_tsc + 20000), 0);   /* 10 us at 2 GHz */
    CHECK_EQ(lapic_msr_read(v->lapic, 0x6e0, &val), 0);
    CHECK_U64(val, 1020000);
    fake_advance(9000);
    CHECK_EQ(vm->irqchip->pending(v), -1);
    fake_advance(1000);
    CHECK_EQ(vm->irqchip->pending(v), 0x32);
    CHECK_EQ(lapic_msr_read(v->lapic, 0x6e0, &val), 0);
    CHECK_U64(val, 0);
    fake_vm_free(vm);
}

/* Count the timer interrupts vm's LAPIC raises over total_ns, stepping the clock by step_ns; each taken
   interrupt is EOIed and, when rearm is set, re-armed at once with the smallest count (a timer storm). */
static int timer_storm_count(struct vm *vm, uint64_t total_ns, uint64_t step_ns, int mode)
{
    struct vcpu *v = vm->vcpu[0];
    int n = 0;
    for (uint64_t t = 0; t < total_ns; t += step_ns) {
        fake_advance(step_ns);
        fake_tsc += 2 * step_ns;
        if (vm->irqchip->pending(v) != 0x33)
            continue;
        vm->irqchip->accept(v, 0x33);
        lw(vm, 0, 0xb0, 0);
        n++;
        if (mode == 0)
            lw(vm, 0, 0x380, 1);                      /* one-shot: re-arm with count 1 */
        else if (mode == 2)
            lapic_msr_write(v->lapic, 0x6e0, fake_tsc + 1);
    }
    return n;
}

/* No LAPIC timer mode fires more than 5000 times a second (KVM's 200 us minimum period), whatever count
   the guest programs: a periodic count of 1, or a one-shot / TSC-deadline re-armed at once. */
TEST(lapic_timer_min_period)
{
    struct vm *vm = apic_vm(1);
    struct vcpu *v = vm->vcpu[0];
    lw(vm, 0, 0x3e0, 0xb);                            /* divide by 1 */
    lw(vm, 0, 0x320, 0x20033);                        /* periodic, vector 0x33 */
    lw(vm, 0, 0x380, 1);                              /* 1 tick = 1 ns */
    CHECK_EQ(timer_storm_count(vm, 10000000, 1000, 1), 50);   /* 10 ms: 50 periods of 200 us */
    lw(vm, 0, 0x320, 0x00033);                        /* one-shot */
    lw(vm, 0, 0x380, 1);
    CHECK_EQ(timer_storm_count(vm, 10000000, 1000, 0), 50);
    lw(vm, 0, 0x320, 0x40033);                        /* TSC-deadline */
    fake_advance(200000);
    CHECK_EQ(lapic_msr_write(v->lapic, 0x6e0, fake_tsc + 1), 0);
    CHECK_EQ(timer_storm_count(vm, 10000000, 1000, 2), 50);
    CHECK_EQ(lapic_msr_write(v->lapic, 0x6e0, 0), 0); /* disarm, take what is left, stay quiet 1 ms */
    timer_storm_count(vm, 1000000, 1000, 1);
    CHECK_EQ(lapic_msr_write(v->lapic, 0x6e0, fake_tsc + 20000), 0);
    CHECK_EQ(timer_storm_count(vm, 10000, 1000, 1), 1);   /* a short timer after a quiet spell is not delayed */
    lw(vm, 0, 0x320, 0x20033);                        /* a slow periodic timer keeps its own period */
    lw(vm, 0, 0x380, 1000000);
    CHECK_EQ(timer_storm_count(vm, 10000000, 1000, 1), 10);
    fake_vm_free(vm);
}

static uint32_t pin_sized(struct vm *vm, uint16_t port, int size)
{
    uint32_t v = 0;
    for (int i = 0; i < vm->npio; i++)
        if (port >= vm->pio[i].base && port < vm->pio[i].base + vm->pio[i].count)
            vm->pio[i].in(vm->pio[i].dev, (uint16_t)(port - vm->pio[i].base), size, &v);
    return v;
}

static void conf1_address(struct vm *vm, uint32_t a)
{
    for (int i = 0; i < vm->npio; i++)
        if (vm->pio[i].base == 0xCF8)
            vm->pio[i].out(vm->pio[i].dev, 0, 4, a);
}

static uint64_t ecam(struct vm *vm, uint64_t off, int size)
{
    uint64_t v = 0;
    struct mmio_range *r = &vm->mmio[vm->nmmio - 1];
    CHECK(off < r->len);
    r->read(r->dev, off, size, &v);
    return v;
}

/* The empty host bridge: 00:00.0 is a host bridge through both mechanisms, nothing else exists. This is
   what Linux's pci_check_type1 / pci_sanity_check and its MCFG scan read. */
TEST(pci_host_bridge_only)
{
    struct vm *vm = fake_vm(1);
    CHECK_EQ(pci_host_attach(vm, 0xE0000000ull), 0);
    CHECK_U64(vm->mmio[vm->nmmio - 1].base, 0xE0000000ull);
    conf1_address(vm, 0x80000000u);
    CHECK_EQ(pin_sized(vm, 0xCF8, 4), 0x80000000u);             /* the address register reads back */
    CHECK_EQ(pin_sized(vm, 0xCFC, 4), PCI_HOST_VENDOR | PCI_HOST_DEVICE << 16);
    conf1_address(vm, 0x80000008u);
    CHECK_EQ(pin_sized(vm, 0xCFE, 2), 0x0600);                  /* class: host bridge */
    conf1_address(vm, 0x80000800u);                          /* 00:01.0 */
    CHECK_EQ(pin_sized(vm, 0xCFC, 4), 0xffffffffu);
    CHECK_EQ(ecam(vm, 0, 2), PCI_HOST_VENDOR);
    CHECK_EQ(ecam(vm, 0xA, 2), 0x0600);
    CHECK_EQ(ecam(vm, 0x8000, 4), 0xffffffffu);                 /* 00:01.0 */
    CHECK_EQ(ecam(vm, 0x1000, 2), 0xffff);                      /* 00:00.1 */
    fake_vm_free(vm);
}

TEST(lapic_icr_init_sipi_ipi)
{
    struct vm *vm = apic_vm(2);
    lw(vm, 0, 0x310, 1u << 24);
    lw(vm, 0, 0x300, 0xc500);                         /* INIT assert, level */
    CHECK_EQ(fake_inits[1], 1);
    lw(vm, 0, 0x300, 0x8500);                         /* INIT de-assert: ignored */
    CHECK_EQ(fake_inits[1], 1);
    lw(vm, 0, 0x300, 0x0609);                         /* STARTUP vector 9 */
    CHECK_EQ(fake_sipis[1], 9);
    lw(vm, 1, 0xf0, 0x1ff);
    lw(vm, 0, 0x300, 0x000c0000 | 0xee);              /* all excluding self */
    CHECK_EQ(vm->irqchip->pending(vm->vcpu[1]), 0xee);
    CHECK_EQ(vm->irqchip->pending(vm->vcpu[0]), -1);
    lw(vm, 1, 0xd0, 0x02000000);                      /* logical ID bit 1 (flat) */
    lw(vm, 0, 0x310, 0x02000000);
    lw(vm, 0, 0x300, 0x0800 | 0xef);                  /* logical destination */
    CHECK_EQ(vm->irqchip->pending(vm->vcpu[1]), 0xef);
    fake_vm_free(vm);
}

TEST(ioapic_level_remote_irr)
{
    struct vm *vm = apic_vm(1);
    struct vcpu *v = vm->vcpu[0];
    struct vm_irqchip *ic = irqchip_of(vm);
    uint64_t val;
    ioapic_mmio_write(ic->ioapic, 0, 4, 0x10 + 2 * 9);
    ioapic_mmio_write(ic->ioapic, 0x10, 4, 0x8000 | 0x59);   /* level, vector 0x59, unmasked */
    vm->irqchip->set_gsi(vm, 9, 1);
    CHECK_EQ(vm->irqchip->pending(v), 0x59);
    vm->irqchip->accept(v, 0x59);
    ioapic_mmio_read(ic->ioapic, 0x10, 4, &val);
    CHECK(val & (1u << 14));                          /* Remote IRR */
    lw(vm, 0, 0xb0, 0);                               /* EOI while still asserted: redelivered */
    CHECK_EQ(vm->irqchip->pending(v), 0x59);
    vm->irqchip->accept(v, 0x59);
    vm->irqchip->set_gsi(vm, 9, 0);
    lw(vm, 0, 0xb0, 0);
    ioapic_mmio_read(ic->ioapic, 0x10, 4, &val);
    CHECK(!(val & (1u << 14)));
    CHECK_EQ(vm->irqchip->pending(v), -1);
    ioapic_mmio_write(ic->ioapic, 0, 4, 1);
    ioapic_mmio_read(ic->ioapic, 0x10, 4, &val);
    CHECK_EQ((val >> 16) & 0xff, 23);
    fake_vm_free(vm);
}

TEST(pic_init_priority_extint)
{
    struct vm *vm = apic_vm(1);
    struct vcpu *v = vm->vcpu[0];
    lw(vm, 0, 0x350, 0x700);                          /* LINT0 ExtINT */
    pout(vm, 0x20, 0x11); pout(vm, 0x21, 0x20); pout(vm, 0x21, 0x04); pout(vm, 0x21, 0x01);
    pout(vm, 0xa0, 0x11); pout(vm, 0xa1, 0x28); pout(vm, 0xa1, 0x02); pout(vm, 0xa1, 0x01);
    pout(vm, 0x21, 0x00); pout(vm, 0xa1, 0x00);
    vm->irqchip->set_gsi(vm, 4, 1);
    vm->irqchip->set_gsi(vm, 10, 1);
    CHECK_EQ(vm->irqchip->pending(v), 0x2a);          /* IRQ 2 (cascade, slave IRQ 10) beats 4 */
    vm->irqchip->accept(v, 0x2a);
    CHECK_EQ(vm->irqchip->pending(v), -1);            /* IRQ 4 waits: master IR2 in service */
    pout(vm, 0xa0, 0x20);
    pout(vm, 0x20, 0x20);
    CHECK_EQ(vm->irqchip->pending(v), 0x24);
    pout(vm, 0x20, 0x0b);                             /* OCW3: read ISR */
    vm->irqchip->accept(v, 0x24);
    CHECK_EQ(pin(vm, 0x20), 0x10);
    pout(vm, 0x21, 0xff);
    pout(vm, 0x20, 0x64);                             /* specific EOI 4 */
    CHECK_EQ(pin(vm, 0x20), 0);
    CHECK_EQ(vm->irqchip->pending(v), -1);
    fake_vm_free(vm);
}

TEST(pit_count_latch_irq)
{
    struct vm *vm = apic_vm(1);
    struct vm_irqchip *ic = irqchip_of(vm);
    CHECK_EQ(pit_attach(vm), 0);
    ioapic_mmio_write(ic->ioapic, 0, 4, 0x10);
    ioapic_mmio_write(ic->ioapic, 0x10, 4, 0x20);     /* GSI 0 edge, vector 0x20 */
    pout(vm, 0x43, 0x34);                             /* ch0, lo/hi, mode 2 */
    pout(vm, 0x40, 0x9c); pout(vm, 0x40, 0x2e);       /* 11932: 10 ms */
    fake_advance(5000000);                            /* half: 5966 ticks gone */
    pout(vm, 0x43, 0x00);                             /* latch */
    uint32_t lo = pin(vm, 0x40), hi = pin(vm, 0x40);
    CHECK_EQ(lo | hi << 8, 11932 - 5965);
    CHECK_EQ(vm->irqchip->pending(vm->vcpu[0]), -1);
    fake_advance(5000200);                            /* 11932 ticks = 10.00015 ms */
    CHECK_EQ(vm->irqchip->pending(vm->vcpu[0]), 0x20);
    pout(vm, 0x61, 0x01);                             /* ch2 gate */
    pout(vm, 0x43, 0xb0);                             /* ch2, mode 0 */
    pout(vm, 0x42, 0xff); pout(vm, 0x42, 0xff);
    CHECK_EQ(pin(vm, 0x61) & 0x20, 0);
    fake_advance(60000000);                           /* 71590 ticks > 65535 */
    CHECK_EQ(pin(vm, 0x61) & 0x20, 0x20);
    pout(vm, 0x43, 0xe8);                             /* read-back status of ch2 */
    CHECK_EQ(pin(vm, 0x42), 0x80 | 0x30 | 0x00);
    fake_vm_free(vm);
}

TEST(rtc_bcd_and_modes)
{
    struct vm *vm = fake_vm(1);
    struct rtc r = { 0 };
    (void)vm;
    rtc_init(&r);
    r.s.offset = cmos_days_from_civil(2026, 11, 21) * 86400 + 23 * 3600 + 58 * 60 + 7;
    CHECK_EQ(rtc_read(&r, 0), 0x07);
    CHECK_EQ(rtc_read(&r, 2), 0x58);
    CHECK_EQ(rtc_read(&r, 4), 0x23);
    CHECK_EQ(rtc_read(&r, 7), 0x21);
    CHECK_EQ(rtc_read(&r, 8), 0x11);
    CHECK_EQ(rtc_read(&r, 9), 0x26);
    CHECK_EQ(rtc_read(&r, 0x32), 0x20);
    CHECK_EQ(rtc_read(&r, 6), 7);                     /* Saturday */
    rtc_write(&r, 0x0b, 0x04);                        /* binary, 12-hour */
    CHECK_EQ(rtc_read(&r, 4), 0x80 | 11);
    CHECK_EQ(rtc_read(&r, 9), 26);
    rtc_write(&r, 0x0b, 0x86);                        /* SET, binary, 24h */
    rtc_write(&r, 4, 5);
    rtc_write(&r, 0x0b, 0x06);
    CHECK_EQ(rtc_read(&r, 4), 5);                     /* the guest set its clock */
    CHECK_EQ(rtc_read(&r, 7), 21);
    rtc_write(&r, 0x40, 0xab);
    CHECK_EQ(rtc_read(&r, 0x40), 0xab);
    CHECK_EQ(rtc_read(&r, 0x0d), 0x80);
    fake_vm_free(vm);
}

/* A size-byte read of port (the PM timer's reads are 4 bytes wide). */
static uint32_t pin_n(struct vm *vm, uint16_t port, int size)
{
    uint32_t v = 0;
    for (int i = 0; i < vm->npio; i++)
        if (port >= vm->pio[i].base && port < vm->pio[i].base + vm->pio[i].count)
            CHECK_EQ(vm->pio[i].in(vm->pio[i].dev, (uint16_t)(port - vm->pio[i].base), size, &v), 0);
    return v;
}

TEST(pmtimer_rate_offset_wrap_and_never_back)
{
    struct vm *vm = fake_vm(2);
    uint64_t last = 0;
    CHECK_EQ(pmtimer_attach(vm), 0);
    fake_tsc = 2000000000ull;                                  /* 1 s at the shim's 2 GHz */
    CHECK_EQ(pin_n(vm, ACPI_PM_TMR_PORT, 4), 3579545u);
    fake_tsc += 2000000ull;                                    /* 1 ms later */
    CHECK_EQ(pin_n(vm, ACPI_PM_TMR_PORT, 4), 3583124u);
    CHECK_EQ(pin_n(vm, ACPI_PM_TMR_PORT + 1, 1), (3583124u >> 8) & 0xff);
    CHECK_EQ(pin_n(vm, ACPI_PM_TMR_PORT + 3, 2), 0xff00u | (3583124u >> 24));   /* past the register: ones */
    vm->vcpu[0]->tsc_offset = 2000000000ull;                   /* a restored vCPU's TSC: 2 s ahead */
    vm->vcpu[1]->tsc_offset = 2000000000ull;
    CHECK_EQ(pin_n(vm, ACPI_PM_TMR_PORT, 4), 3583124u + 3579545u);
    vm->running = vm->vcpu[1];
    vm->vcpu[1]->tsc_offset = 0;                               /* a reader whose TSC is behind the last one's */
    CHECK_EQ(pin_n(vm, ACPI_PM_TMR_PORT, 4), 3583124u + 3579545u);
    fake_tsc = 1200ull * 2000000000ull;                        /* 1200 s: past 2^32 counts, the register wraps */
    CHECK_EQ(pin_n(vm, ACPI_PM_TMR_PORT, 4), (uint32_t)(1200ull * 3579545ull));
    CHECK_U64(pmtimer_count(3000000000ull, 3000000000ull, &last), 3579545ull);
    CHECK_U64(pmtimer_count(1500000000ull, 3000000000ull, &last), 3579545ull);   /* never back */
    CHECK_U64(last, 3579545ull);
    fake_vm_free(vm);
}

TEST(i8042_probe_and_reset)
{
    struct vm *vm = fake_vm(1);
    CHECK_EQ(i8042_attach(vm), 0);
    pout(vm, 0x64, 0xaa);
    CHECK_EQ(pin(vm, 0x64) & 1, 1);
    CHECK_EQ(pin(vm, 0x60), 0x55);
    pout(vm, 0x64, 0x60);
    pout(vm, 0x60, 0x47);
    pout(vm, 0x64, 0x20);
    CHECK_EQ(pin(vm, 0x60), 0x47);
    CHECK_EQ(vm->state, VM_CREATED);
    pout(vm, 0x64, 0xfe);
    CHECK_EQ(vm->state, VM_STOPPED);
    CHECK_STR(vm->stop_reason, "reset by guest (i8042)");
    fake_vm_free(vm);
}

TEST(snapshot_round_trips)
{
    uint8_t buf[4096];
    struct vm *vm = apic_vm(1);
    struct vm_irqchip *ic = irqchip_of(vm);
    struct lapic_state ls;
    struct ioapic_state is;
    struct pic_state ps;
    struct ns16550_state us;
    struct snap s = { buf, sizeof(buf), 0, 1, 0, NULL };
    struct ns16550 u = { .s = { .ier = 3, .lcr = 0x83, .rx_count = 2, .rx = { 'a', 'b' } } };
    lw(vm, 0, 0x80, 0x20);
    lapic_snapshot(&((struct lapic *)vm->vcpu[0]->lapic)->s, &s);
    ioapic_snapshot(&ic->ioapic->s, &s);
    pic_snapshot(&ic->pic->s, &s);
    ns16550_snapshot(&u.s, &s);
    CHECK_EQ(s.err, 0);
    s = (struct snap){ buf, sizeof(buf), 0, 0, 0, NULL };
    lapic_snapshot(&ls, &s);
    ioapic_snapshot(&is, &s);
    pic_snapshot(&ps, &s);
    ns16550_snapshot(&us, &s);
    CHECK_EQ(s.err, 0);
    CHECK_MEM(&ls, &((struct lapic *)vm->vcpu[0]->lapic)->s, sizeof(ls));
    CHECK_MEM(&is, &ic->ioapic->s, sizeof(is));
    CHECK_MEM(&ps, &ic->pic->s, sizeof(ps));
    CHECK_MEM(&us, &u.s, sizeof(us));
    s = (struct snap){ buf, 8, 0, 0, 0, NULL };
    lapic_snapshot(&ls, &s);
    CHECK(s.err != 0);                                /* truncated record refused */
    buf[0] ^= 1;
    s = (struct snap){ buf, sizeof(buf), 0, 0, 0, NULL };
    lapic_snapshot(&ls, &s);
    CHECK(s.err != 0);                                /* wrong tag refused */
    fake_vm_free(vm);
}
