/* Host stand-ins for the VMM services the chip models call (vm.h, time.h, heap.h), with recorders for tests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/unit/vmm_dev_shim.h"
#include "kernel/time.h"

uint64_t fake_now = 1000000000ull, fake_tsc;
char fake_console[256];
int fake_console_len, fake_kicks, fake_inits[4], fake_sipis[4], fake_gsi[24];

uint64_t time_ns(void) { return fake_now; }
void arch_timer_program(uint64_t ns) { (void)ns; }
uint64_t dev_host_tsc(void);
uint64_t dev_host_tsc_hz(void);
uint64_t dev_host_tsc(void) { return fake_tsc; }
uint64_t dev_host_tsc_hz(void) { return 2000000000ull; }   /* 2 GHz: 2 ticks per ns */

void *kmalloc(size_t n);
void *kzalloc(size_t n);
void kfree(void *p);
void *kmalloc(size_t n) { return malloc(n); }
void *kzalloc(size_t n) { return calloc(1, n); }
void kfree(void *p) { free(p); }

void fake_advance(uint64_t ns)
{
    fake_now += ns;
    timer_run_expired();
}

void vm_console_out(struct vm *vm, char c)
{
    (void)vm;
    if (fake_console_len < (int)sizeof(fake_console) - 1)
        fake_console[fake_console_len++] = c;
}

void vm_irq_set(struct vm *vm, int gsi, int level)
{
    if (gsi >= 0 && gsi < 24)
        fake_gsi[gsi] = level;
    if (vm->irqchip)
        vm->irqchip->set_gsi(vm, gsi, level);
}

void vm_irq_pulse(struct vm *vm, int gsi)
{
    vm_irq_set(vm, gsi, 1);
    vm_irq_set(vm, gsi, 0);
}

int vm_register_pio(struct vm *vm, const struct pio_range *r)
{
    if (vm->npio == VM_PIO_MAX)
        return -28;
    vm->pio[vm->npio++] = *r;
    return 0;
}

int vm_register_mmio(struct vm *vm, const struct mmio_range *r)
{
    if (vm->nmmio == VM_MMIO_MAX)
        return -28;
    vm->mmio[vm->nmmio++] = *r;
    return 0;
}

void vm_stop(struct vm *vm, int dump, const char *fmt, ...)
{
    va_list ap;
    (void)dump;
    va_start(ap, fmt);
    vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
    va_end(ap);
    vm->state = VM_STOPPED;
}

void vcpu_kick(struct vcpu *v) { (void)v; fake_kicks++; }
void vcpu_init_signal(struct vcpu *v) { fake_inits[v->id]++; v->wait_sipi = 1; }
void vcpu_sipi(struct vcpu *v, uint8_t vector) { if (v->wait_sipi) fake_sipis[v->id] = vector; v->wait_sipi = 0; }

struct vm *fake_vm(int n)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    vm->nvcpus = n;
    for (int i = 0; i < n; i++) {
        vm->vcpu[i] = calloc(1, sizeof(struct vcpu));
        vm->vcpu[i]->vm = vm;
        vm->vcpu[i]->id = i;
    }
    memset(fake_gsi, 0, sizeof(fake_gsi));
    memset(fake_inits, 0, sizeof(fake_inits));
    memset(fake_sipis, 0, sizeof(fake_sipis));
    fake_console_len = 0;
    return vm;
}

void fake_vm_free(struct vm *vm)
{
    vm_destroy_devices(vm);
    for (int i = 0; i < vm->nvcpus; i++)
        free(vm->vcpu[i]);
    free(vm);
}
