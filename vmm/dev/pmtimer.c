/* ACPI power-management timer (ACPI 6.4 4.8.3.3): a free-running 3.579545 MHz counter read from one I/O port. */
#include "vmm/dev/pmtimer.h"
#include "vmm/dev/dev.h"
#include "vmm/dev/devices.h"
#include "vmm/acpi.h"
#include "kernel/errno.h"

/*
 * The counter is the guest's TSC scaled to the timer's rate, so it runs while the guest is descheduled and
 * moves with the TSC offset a restored or migrated vCPU carries; it never goes back (a vCPU on another CPU
 * may read a TSC a little behind the last reader's), so it has no state worth a record.
 */
struct pmtimer {
    struct vm *vm;
    uint64_t last;                   /* the highest count read so far */
};

uint64_t pmtimer_count(uint64_t guest_tsc, uint64_t tsc_hz, uint64_t *last)
{
    uint64_t n = dev_muldiv(guest_tsc, ACPI_PM_TMR_HZ, tsc_hz);
    if (n < *last)
        n = *last;
    *last = n;
    return n;
}

/* The guest's TSC as the vCPU whose exit is handled sees it (every vCPU of a VM has the same offset). */
static uint64_t guest_tsc(const struct vm *vm)
{
    const struct vcpu *v = vm->running ? vm->running : vm->nvcpus ? vm->vcpu[0] : NULL;
    return dev_tsc() + (v ? v->tsc_offset : 0);
}

/* TMR_VAL (32 bits: the FADT sets TMR_VAL_EXT); a read at offset off takes the bytes from there, those past
 * the register reading as ones, as unclaimed ports do. The register is read-only: writes go nowhere. */
static int pmtimer_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    struct pmtimer *p = dev;
    uint64_t v = pmtimer_count(guest_tsc(p->vm), dev_tsc_hz(), &p->last) & 0xffffffffu;
    v = (v | 0xffffffff00000000ull) >> (8 * (off & 3));
    *val = size >= 4 ? (uint32_t)v : (uint32_t)v & ((1u << (8 * size)) - 1);
    return 0;
}

int pmtimer_attach(struct vm *vm)
{
    struct vm_dev reg = { .name = "pmtimer", .destroy = vm_dev_free };
    int rc;
    struct pmtimer *p = vm_dev_new(vm, sizeof(*p), &reg, &rc);
    if (!p)
        return rc;
    p->vm = vm;
    struct pio_range r = { ACPI_PM_TMR_PORT, 4, pmtimer_in, NULL, p };
    return vm_register_pio(vm, &r);
}
