/* Fuzz harness for the VM record's restore path: header, vCPU records and every device through the registry. */
/*
 * The input is a whole VM record as vm_state_restore reads it, for a one-vCPU VM with a Linux guest's
 * chips (fake VM of tests/unit/vmm_dev_shim.c). The vCPU part is the pure vCPU record (vmm/vcpurec.c);
 * the XSAVE area and the backend are kernel-only and left out here (tests/fuzz/vcpurec_fuzz.c has the
 * XSAVE check). A record restore accepts must have been read to its last byte, and the VM must then run
 * its timers and chips without fault. SEEDS: write a record saved from a running fake platform.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include "tests/unit/vmm_dev_shim.h"
#include "tests/unit/vcpurec_sample.h"
#include "vmm/vmstate.h"
#include "vmm/dev/devices.h"
#include "vmm/dev/apic.h"

/* The backend's part stands in: the pure vCPU record only. */
int vcpu_snapshot(struct vcpu *v, struct snap *s)
{
    struct vcpu_record r = sample_record();
    (void)v;
    vcpu_record_snapshot(&r, s, &sample_limits);
    return s->err;
}

void console_write(const char *s, size_t n);
void console_write(const char *s, size_t n)
{
    (void)s; (void)n;                                /* kprintf's sink: the fuzzer prints nothing */
}

void *gpa_ptr(struct vm *vm, uint64_t gpa, size_t len)
{
    (void)vm; (void)gpa; (void)len;
    return NULL;
}

static struct vm *platform(void)
{
    struct vm *vm = fake_vm(1);
    vm->mem_size = 64ull << 20;
    if (pic_attach(vm) || ioapic_attach(vm) || lapic_attach(vm) || pit_attach(vm) || rtc_attach(vm) ||
        i8042_attach(vm) || ns16550_attach(vm, 0x3f8, 4)) {
        fake_vm_free(vm);
        return NULL;
    }
    return vm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    struct vm *vm = platform();
    struct snap s = { (uint8_t *)(uintptr_t)data, size, 0, 0, 0, NULL };
    if (!vm)
        return 0;
    if (vm_state_restore(vm, &s, why, sizeof(why)) == 0) {
        if (s.pos != size)
            abort();                                 /* accepted with bytes left unread */
        for (int i = 0; i < 50; i++)
            fake_advance(1000000);                   /* restored timers fire */
    } else if (!why[0]) {
        abort();                                     /* refused without a reason */
    }
    fake_vm_free(vm);
    return 0;
}

#ifdef VMSTATE_FUZZ_SEEDS
/* Seed corpus in argv[1]: a record of a platform whose LAPIC timer and PIT run. */
int main(int argc, char **argv)
{
    static uint8_t buf[65536];
    struct vm *vm = platform();
    struct lapic *l = vm ? vm->vcpu[0]->lapic : NULL;
    char path[512];
    FILE *f;
    if (argc < 2 || !vm)
        return 1;
    lapic_mmio_write(l, 0xf0, 0x1ff);
    lapic_mmio_write(l, 0x320, (1u << 17) | 0x30);
    lapic_mmio_write(l, 0x380, 100000);
    fake_advance(1000);
    struct snap s = { buf, sizeof(buf), 0, 1, 0, NULL };
    snprintf(path, sizeof(path), "%s/seed-vm", argv[1]);
    if (vm_state_save(vm, &s) || !(f = fopen(path, "wb")) || fwrite(buf, 1, s.pos, f) != s.pos)
        return 1;
    fclose(f);
    fake_vm_free(vm);
    return 0;
}
#endif
