/* Host unit test of a VM reset over the chip models: every chip the guest programmed is back at power-on. */
#define TEST_SUITE "vmm_dev"
#include "tests/unit/test.h"
#include "tests/unit/vmm_dev_shim.h"
#include "vmm/dev/devices.h"
#include "vmm/dev/apic.h"
#include "vmm/dev/pci_host.h"

/* One byte through the port table, as a guest's IN/OUT would. */
static uint32_t io(struct vm *vm, uint16_t port, int write, uint32_t val)
{
    for (int i = 0; i < vm->npio; i++) {
        struct pio_range *r = &vm->pio[i];
        if (port < r->base || port >= r->base + r->count)
            continue;
        if (write)
            r->out(r->dev, (uint16_t)(port - r->base), 1, val);
        else
            r->in(r->dev, (uint16_t)(port - r->base), 1, &val);
        return val;
    }
    return 0xff;
}

static uint32_t apic_reg(struct vm *vm, uint32_t off)
{
    uint32_t v = 0;
    lapic_mmio_read(vm->vcpu[0]->lapic, off, &v);
    return v;
}

/* The guest programs every chip to interrupt: LAPIC periodic timer, IOAPIC pin 0, PIC, PIT, RTC, UART. */
static void program_everything(struct vm *vm)
{
    struct vm_irqchip *ic = irqchip_of(vm);
    lapic_mmio_write(vm->vcpu[0]->lapic, 0xf0, 0x1ff);
    lapic_mmio_write(vm->vcpu[0]->lapic, 0x3e0, 0xb);
    lapic_mmio_write(vm->vcpu[0]->lapic, 0x320, 0x20031);     /* periodic, vector 0x31 */
    lapic_mmio_write(vm->vcpu[0]->lapic, 0x380, 100000);
    ioapic_mmio_write(ic->ioapic, 0, 4, 0x10);
    ioapic_mmio_write(ic->ioapic, 0x10, 4, 0x20);            /* GSI 0 -> vector 0x20, unmasked */
    io(vm, 0x21, 1, 0x00);                                   /* PIC: nothing masked */
    io(vm, 0x43, 1, 0x34);                                   /* PIT ch0 mode 2, 1 ms */
    io(vm, 0x40, 1, 0xa9);
    io(vm, 0x40, 1, 0x04);
    io(vm, 0x70, 1, 0x0b);
    io(vm, 0x71, 1, 0x42 | 0x04);                            /* RTC periodic interrupt on */
    io(vm, 0x3f9, 1, 0x0f);                                  /* UART: every interrupt enabled */
    io(vm, 0x64, 1, 0x60);
    io(vm, 0x60, 1, 0x00);                                   /* i8042 command byte cleared */
}

TEST(vm_reset_returns_every_chip_to_power_on)
{
    struct vm *vm = fake_vm(1);
    CHECK_EQ(lapic_attach(vm), 0);
    CHECK_EQ(ioapic_attach(vm), 0);
    CHECK_EQ(pic_attach(vm), 0);
    CHECK_EQ(pit_attach(vm), 0);
    CHECK_EQ(rtc_attach(vm), 0);
    CHECK_EQ(i8042_attach(vm), 0);
    CHECK_EQ(ns16550_attach(vm, 0x3f8, 4), 0);
    program_everything(vm);
    fake_advance(1000000);
    CHECK(vm->irqchip->pending(vm->vcpu[0]) >= 0);           /* the programmed chips do interrupt */
    CHECK_EQ(vm_reset_devices(vm), 0);
    CHECK_EQ(vm->irqchip->pending(vm->vcpu[0]), -1);         /* nothing left pending ... */
    fake_advance(50000000);
    CHECK_EQ(vm->irqchip->pending(vm->vcpu[0]), -1);         /* ... and no timer of the old guest fires */
    CHECK_U64(apic_reg(vm, 0x320), 0x10000);                 /* LVT timer masked */
    CHECK_EQ(apic_reg(vm, 0x380), 0);
    CHECK_EQ(io(vm, 0x21, 0, 0), 0xff);                      /* PIC masked */
    io(vm, 0x70, 1, 0x0b);
    CHECK_EQ(io(vm, 0x71, 0, 0), 0x06);                      /* RTC register B: interrupt enables cleared */
    CHECK_EQ(io(vm, 0x3f9, 0, 0), 0);                        /* UART IER */
    io(vm, 0x64, 1, 0x20);
    CHECK_EQ(io(vm, 0x60, 0, 0), 0x65);                      /* i8042 command byte */
    CHECK(vm->console_in.rx != NULL);                           /* the UART is still the console */
    fake_vm_free(vm);
}

/* The PCI host bridge's CONFIG_ADDRESS latch (port 0xCF8) is back to 0 after a reset, as at power-on. */
TEST(vm_reset_clears_the_pci_config_address)
{
    struct vm *vm = fake_vm(1);
    CHECK_EQ(pci_host_attach(vm, 0xe0000000ull), 0);
    struct pio_range *r = NULL;
    for (int i = 0; i < vm->npio; i++)
        if (vm->pio[i].base == 0xcf8)
            r = &vm->pio[i];
    CHECK(r != NULL);
    uint32_t v = 0;
    r->out(r->dev, 0, 4, 0x80000010u);
    r->in(r->dev, 0, 4, &v);
    CHECK_U64(v, 0x80000010u);
    vm_reset_devices(vm);
    r->in(r->dev, 0, 4, &v);
    CHECK_U64(v, 0);
    fake_vm_free(vm);
}
