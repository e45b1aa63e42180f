/* Built-in test guests: initial CPU state for real, protected and long mode, image loading. */
#include "vmm/testguest.h"
#include "vmm/testdev.h"
#include "vmm/hypercall.h"
#include "kernel/heap.h"
#include "vmm/vm.h"
#include "vmm/dev/devices.h"
#include "blk/ram.h"
#include "blk/defer.h"
#include "blk/blk.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define LOAD16   0x8000ull        /* real mode: CS = 0, IP = 0x8000 */
#define LOAD     0x10000ull       /* protected and long mode */
#define PT_BASE  0x1000ull        /* long mode: PML4, PDPT, 4 PDs identity-mapping the first 4 GiB */

const struct test_guest *testguest_find(const char *name)
{
    for (uint64_t i = 0; i < test_guest_count; i++)
        if (!strcmp(test_guest_table[i].name, name))
            return &test_guest_table[i];
    return NULL;
}

static struct seg flat(uint16_t attr, uint16_t sel)
{
    return (struct seg){ sel, attr, 0xffffffffu, 0 };
}

/* Initial state per mode (attr: SVM packing, see arch/x86/guest_regs.h). */
static void initial_regs(struct guest_regs *r, int mode)
{
    memset(r, 0, sizeof(*r));
    r->rflags = 0x2;
    r->xcr0 = 1;
    r->tr = (struct seg){ 0, 0x8B, 0x67, 0 };
    r->gdtr_limit = r->idtr_limit = 0xffff;
    if (mode == 16) {
        struct seg code = { 0, 0x9B, 0xffff, 0 }, data = { 0, 0x93, 0xffff, 0 };
        r->cs = code;
        r->ds = r->es = r->fs = r->gs = r->ss = data;
        r->cr0 = 0x30;                                  /* ET, NE; PE off */
        r->rip = LOAD16;
        r->gpr[GPR_RSP] = 0x7000;
        return;
    }
    r->cs = flat(mode == 64 ? 0xA9B : 0xC9B, 0x08);
    r->ds = r->es = r->fs = r->gs = r->ss = flat(0xC93, 0x10);
    r->cr0 = 0x31;                                      /* PE, ET, NE */
    r->rip = LOAD;
    r->gpr[GPR_RSP] = 0x80000;
    if (mode == 64) {
        r->cr0 |= 0x80000000u;                          /* PG */
        r->cr3 = PT_BASE;
        r->cr4 = 0x20;                                  /* PAE */
        r->efer = 0x500;                                /* LME, LMA */
    }
}

static int build_page_tables(struct vm *vm)
{
    uint64_t *pml4 = gpa_ptr_w(vm, PT_BASE, 4096), *pdpt = gpa_ptr_w(vm, PT_BASE + 0x1000, 4096);
    uint64_t *pd = gpa_ptr_w(vm, PT_BASE + 0x2000, 4 * 4096);
    if (!pml4 || !pdpt || !pd)
        return -ENOMEM;
    pml4[0] = (PT_BASE + 0x1000) | 3;
    for (uint64_t g = 0; g < 4; g++)
        pdpt[g] = (PT_BASE + 0x2000 + g * 0x1000) | 3;
    for (uint64_t i = 0; i < 4 * 512; i++)   /* the 4 PDs are consecutive: one array */
        pd[i] = (i << 21) | 0x83;
    return 0;
}

static void ramdisk_release(struct vm *vm, void *disk)
{
    (void)vm;
    ramdisk_destroy(disk);
}

int testguest_attach_virtio(struct vm *vm)
{
    uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x5e, 0x00, (uint8_t)vm->id };
    struct blk_dev *ram = ramdisk_create(NULL, 64 << 10, 0);
    struct blk_dev *disk = blk_defer_create(ram);   /* in flight until the next poll, as a network disk */
    int rc;
    if (!disk) {
        ramdisk_destroy(ram);
        return -ENOMEM;
    }
    if ((rc = vm_on_destroy(vm, ramdisk_release, disk)) < 0) {
        ramdisk_destroy(disk);
        return rc;
    }
    if ((rc = virtio_blk_attach(vm, 0, disk)) < 0)
        return rc;
    return virtio_net_attach(vm, 1, mac);
}

/* 1 when the guest's name contains word. */
static int named(const struct test_guest *g, const char *word)
{
    for (const char *s = g->name; *s; s++)
        if (!strncmp(s, word, strlen(word)))
            return 1;
    return 0;
}

/* Hostile guests face every device a Linux guest has: the interrupt chips, the legacy devices, virtio. */
static int attach_platform(struct vm *vm)
{
    int err;
    if ((err = pic_attach(vm)) || (err = ioapic_attach(vm)) || (err = lapic_attach(vm)) ||
        (err = pit_attach(vm)) || (err = rtc_attach(vm)) || (err = i8042_attach(vm)) ||
        (err = ns16550_attach(vm, 0x3F8, 4)))
        return err;
    return testguest_attach_virtio(vm);
}

/* The image at its load address, and the long-mode page tables. 0 or negative errno. */
static int load_image(struct vm *vm, const struct test_guest *g)
{
    int err = gpa_write(vm, g->mode == 16 ? LOAD16 : LOAD, g->start, (size_t)(g->end - g->start));
    if (!err && g->mode == 64)
        err = build_page_tables(vm);
    return err;
}

/* The reset of guests named reboot*: a warm reset. Devices and vCPUs back to their first state, the image
 * reloaded, the rest of RAM kept. Runs in the exit path: a test guest has no disk I/O to wait for. */
static void testguest_reset(struct vm *vm)
{
    struct testguest_vm *tg = testguest_of(vm);
    struct guest_regs regs;
    if (!tg || vm_reset_devices(vm) > 0 || load_image(vm, tg->g)) {
        vm_stop(vm, 0, "reset: reloading the test guest failed");
        return;
    }
    initial_regs(&regs, (int)tg->g->mode);
    regs.gpr[GPR_RSI] = vm->mem_size;
    vm_reset_vcpus(vm, &regs);
    log_info("vm %s: reset by the guest", vm->name);
}

static void testguest_describe(struct vm *vm, char *buf, int size)
{
    testdev_describe(vm, buf, size);
}

/* Test guests have shoal's hypercalls; those named reboot* can be reset, the others stop when they ask. */
static const struct vm_platform tg_platform = {
    .name = "test", .hypercall = hypercall_exit, .describe = testguest_describe,
};
static const struct vm_platform tg_reboot_platform = {
    .name = "test", .reset = testguest_reset, .hypercall = hypercall_exit, .describe = testguest_describe,
};

struct testguest_vm *testguest_of(struct vm *vm)
{
    void *tg = vm_platform_data(vm, &tg_platform);
    return tg ? tg : vm_platform_data(vm, &tg_reboot_platform);
}

static void testguest_free(struct vm *vm, void *arg)
{
    vm->platform = NULL;
    vm->platform_data = NULL;
    kfree(arg);
}

/* The platform record, freed with the VM (registered first, so freed after every device). */
static int testguest_platform(struct vm *vm, const struct test_guest *g)
{
    struct testguest_vm *tg = kzalloc(sizeof(*tg));
    if (!tg)
        return -ENOMEM;
    if (vm_on_destroy(vm, testguest_free, tg) < 0) {
        kfree(tg);
        return -ENOMEM;
    }
    tg->g = g;
    tg->hypercalls = 1;
    vm->platform = named(g, "reboot") ? &tg_reboot_platform : &tg_platform;
    vm->platform_data = tg;
    return 0;
}

struct vm *testguest_create(const char *name, const struct test_guest *g, uint64_t mem, int *err)
{
    struct guest_regs regs;
    struct vm *vm;

    initial_regs(&regs, (int)g->mode);
    regs.gpr[GPR_RSI] = (mem + CHUNK_SIZE - 1) & ~(CHUNK_SIZE - 1);   /* test guests learn their RAM size */
    vm = vm_create(name, mem, 1, &regs, err);
    if (!vm)
        return NULL;
    vm->guest = g->name;
    *err = testguest_platform(vm, g);
    if (!*err)
        *err = load_image(vm, g);
    if (!*err)
        *err = testdev_attach(vm);
    if (!*err && named(g, "hostile"))                 /* before virtio: it brings its own */
        *err = attach_platform(vm);
    else if (!*err && named(g, "virtio"))             /* guests named *virtio* drive virtio devices */
        *err = testguest_attach_virtio(vm);
    if (!*err && !strncmp(g->name, "storm", 5))
        *err = lapic_attach(vm);                        /* timer-storm guests program a local APIC */
    if (*err) {
        vm_destroy(vm);
        return NULL;
    }
    return vm;
}
