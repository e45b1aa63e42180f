/* Fuzz harness for device snapshot records: restore hostile bytes into each chip, then drive the chip. */
/*
 * The input's first byte picks a chip (LAPIC, IOAPIC, 8259 pair, PIT, RTC, UART, i8042) or the whole device
 * part of a VM record (every registry entry's record, then the post_restore hooks); the rest is the
 * record handed to that chip's snapshot function in restore mode, as a migration stream would hand it,
 * and the bytes after the record are guest register writes. A record the chip accepts (s.err == 0) must
 * leave a state the chip can run with: the writes land, every register is read, interrupts are raised,
 * accepted and ended, and the clock moves on so timers fire. ASan and
 * UBSan (fatal) catch an index, shift or division the record could steer; a timer that re-arms itself
 * in the past hangs the clock loop and the fuzzer reports the timeout.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include "tests/unit/vmm_dev_shim.h"
#include "vmm/dev/devices.h"
#include "vmm/dev/apic.h"
#include "vmm/dev/ns16550.h"
#include "vmm/dev/i8254.h"
#include "vmm/dev/mc146818.h"

struct i8042_state;
void i8042_snapshot(struct i8042_state *st, struct snap *s);   /* vmm/dev/i8042.c */

/* CHIP_REGISTRY: every registry entry's record in order, as the VM record walks them, then post_restore. */
enum { CHIP_LAPIC, CHIP_IOAPIC, CHIP_PIC, CHIP_PIT, CHIP_RTC, CHIP_UART, CHIP_I8042, CHIP_REGISTRY, CHIP_COUNT };

/* The device behind port, as registered (its state struct is its first member). */
static void *pio_dev(struct vm *vm, uint16_t port)
{
    for (int i = 0; i < vm->npio; i++)
        if (port >= vm->pio[i].base && port < vm->pio[i].base + vm->pio[i].count)
            return vm->pio[i].dev;
    return NULL;
}

static uint32_t pin(struct vm *vm, uint16_t port)
{
    uint32_t v = 0;
    for (int i = 0; i < vm->npio; i++)
        if (port >= vm->pio[i].base && port < vm->pio[i].base + vm->pio[i].count)
            vm->pio[i].in(vm->pio[i].dev, (uint16_t)(port - vm->pio[i].base), 1, &v);
    return v;
}

static struct vm *platform(void)
{
    struct vm *vm = fake_vm(1);
    if (lapic_attach(vm) || ioapic_attach(vm) || pic_attach(vm) || pit_attach(vm) || rtc_attach(vm) ||
        i8042_attach(vm) || ns16550_attach(vm, 0x3f8, 4)) {
        fake_vm_free(vm);
        return NULL;
    }
    lapic_mmio_write(vm->vcpu[0]->lapic, 0xf0, 0x1ff);      /* software enable */
    return vm;
}

static void registry(struct vm *vm, struct snap *s)
{
    for (int i = 0; i < vm->ndevs && !s->err; i++)
        if (vm->devs[i].snapshot)
            vm->devs[i].snapshot(vm->devs[i].dev, s);
    for (int i = 0; i < vm->ndevs && !s->err && !s->save; i++)
        if (vm->devs[i].post_restore)
            vm->devs[i].post_restore(vm, vm->devs[i].dev);
}

/* Walk chip's record with s: restores, or saves when s->save is set. */
static void restore(struct vm *vm, int chip, struct snap *s)
{
    struct vm_irqchip *ic = irqchip_of(vm);
    switch (chip) {
    case CHIP_REGISTRY: registry(vm, s); break;
    case CHIP_LAPIC: lapic_snapshot(&((struct lapic *)vm->vcpu[0]->lapic)->s, s); break;
    case CHIP_IOAPIC: ioapic_snapshot(&ic->ioapic->s, s); break;
    case CHIP_PIC: pic_snapshot(&ic->pic->s, s); break;
    case CHIP_PIT: pit_snapshot(&((struct pit *)pio_dev(vm, 0x40))->s, s); break;
    case CHIP_RTC: rtc_snapshot(&((struct rtc *)pio_dev(vm, 0x70))->s, s); break;
    case CHIP_UART: ns16550_snapshot(&((struct ns16550 *)pio_dev(vm, 0x3f8))->s, s); break;
    default: i8042_snapshot((struct i8042_state *)pio_dev(vm, 0x60), s); break;
    }
}

static void pout(struct vm *vm, uint16_t port, uint32_t val)
{
    for (int i = 0; i < vm->npio; i++)
        if (port >= vm->pio[i].base && port < vm->pio[i].base + vm->pio[i].count)
            vm->pio[i].out(vm->pio[i].dev, (uint16_t)(port - vm->pio[i].base), 1, val);
}

/* The bytes after the record are guest writes to the restored chips: (register, value) pairs. */
static void guest_writes(struct vm *vm, const uint8_t *p, size_t n)
{
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71,
                                      0x60, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc };
    const size_t nports = sizeof(ports) / sizeof(ports[0]);
    for (size_t i = 0; i + 2 <= n && i < 64; i += 2) {
        if (p[i] < nports)
            pout(vm, ports[p[i]], p[i + 1]);
        else
            lapic_mmio_write(vm->vcpu[0]->lapic, (uint32_t)(p[i] - nports) << 4, p[i + 1] * 0x01010101u);
    }
}

/* Everything a running guest could make the chips do besides writing registers. */
static void exercise(struct vm *vm)
{
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x61, 0x71, 0x60, 0x64,
                                      0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff };
    struct vm_irqchip *ic = irqchip_of(vm);
    struct lapic *l = vm->vcpu[0]->lapic;
    uint32_t v;
    uint64_t w;
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        (void)pin(vm, ports[i]);
    for (uint32_t off = 0; off < 0x400; off += 0x10)
        lapic_mmio_read(l, off, &v);
    for (uint32_t sel = 0; sel < 0x40; sel++) {
        ioapic_mmio_write(ic->ioapic, 0, 4, sel);
        ioapic_mmio_read(ic->ioapic, 0x10, 4, &w);
    }
    for (int step = 0; step < 16; step++) {
        vm_irq_set(vm, step % IOAPIC_PINS, 1);
        vm_irq_set(vm, step % IOAPIC_PINS, 0);
        int vec = lapic_pending(l);
        if (vec >= 0) {
            lapic_accept(l, vec);
            lapic_mmio_write(l, 0xb0, 0);                     /* EOI */
        }
        if (pic_output(ic->pic))
            (void)pic_ack(ic->pic);
        (void)lapic_current_count(l);
        fake_advance(1000000);                                /* 1 ms: timers fire */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct vm *vm = platform();
    if (!vm)
        return 0;
    struct snap s = { (uint8_t *)(uintptr_t)(data + 1), size - 1, 0, 0, 0, NULL };
    restore(vm, data[0] % CHIP_COUNT, &s);
    if (s.err == 0) {
        guest_writes(vm, data + 1 + s.pos, size - 1 - s.pos);
        exercise(vm);
    }
    fake_vm_free(vm);
    return 0;
}

#ifdef SNAP_FUZZ_SEEDS
/* Seed corpus: each chip's record saved from a freshly attached platform, one file per chip in argv[1]. */
int main(int argc, char **argv)
{
    for (int chip = 0; chip < CHIP_COUNT && argc > 1; chip++) {
        uint8_t buf[2048];
        struct vm *vm = platform();
        struct snap s = { buf + 1, sizeof(buf) - 1, 0, 1, 0, NULL };
        char path[512];
        buf[0] = (uint8_t)chip;
        restore(vm, chip, &s);                       /* save mode: the same walk fills buf */
        snprintf(path, sizeof(path), "%s/seed-chip%d", argv[1], chip);
        FILE *f = fopen(path, "wb");
        if (!f || s.err || fwrite(buf, 1, s.pos + 1, f) != s.pos + 1)
            return 1;
        fclose(f);
        fake_vm_free(vm);
    }
    return 0;
}
#endif
