/* The Linux VM platform: `vm create ... kernel=`, guest memory layout, boot state, ACPI, e820, devices. */
#include "vmm/linux.h"
#include "vmm/loader.h"
#include "vmm/acpi.h"
#include "vmm/vm.h"
#include "vmm/dev/devices.h"
#include "vmm/dev/pci_host.h"
#include "blk/ram.h"
#include "blk/blk.h"
#include "arch/x86/tsc.h"
#include "kernel/kernel.h"
#include "kernel/heap.h"
#include "kernel/pmm.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"
#include "kernel/param.h"
#include "kernel/errno.h"
#include "kernel/init.h"
#include "kernel/log.h"
#include "kernel/shell.h"


#define SLOT_BLK 0
#define SLOT_NET 1
#define NVIRTIO  2

/* The command's options: the spec plus the modules the disk comes from. */
struct lx_opts {
    struct linux_spec s;
    const struct boot_module *disk;
    int disk_rw;
};

/* What the loader decided before the VM exists: entry state and where things go. */
struct lx_plan {
    int pvh;
    struct bz_info bz;
    struct pvh_info pvh_info;
    uint64_t load, kernel_end, initrd_gpa;
};

/* A Linux VM's platform record (vm->platform_data): what a guest-requested reset needs to boot it again. */
struct lx_vm {
    struct linux_spec o;
    struct lx_plan p;
    struct guest_regs regs;
    char cmdline[LX_CMDLINE_MAX];
    int reset_pending;
};

/* key=VALUE among the words after `vm create NAME`. */
static const char *opt(int argc, char **argv, const char *key)
{
    return param_find(argc, argv, 3, key);
}

static const struct boot_module *lx_module(const struct linux_spec *o, const char *key, const char *mod)
{
    const struct boot_module *m = boot_module_find(mod);
    if (!m)
        kprintf("error: vm create %s: %s=%s: no such boot module\n", o->name, key, mod);
    else if (m->end <= m->start)
        kprintf("error: vm create %s: %s=%s: module is empty\n", o->name, key, mod);
    else
        return m;
    return NULL;
}

static int lx_parse(int argc, char **argv, struct lx_opts *o)
{
    const char *k = opt(argc, argv, "kernel"), *i = opt(argc, argv, "initrd"), *m = opt(argc, argv, "mem");
    const char *c = opt(argc, argv, "vcpus"), *d = opt(argc, argv, "disk"), *drw = opt(argc, argv, "disk-rw");

    const struct boot_module *km, *im = NULL;
    struct linux_spec *s = &o->s;
    int rc;

    memset(o, 0, sizeof(*o));
    s->name = argv[2];
    s->cmdline = opt(argc, argv, "cmdline");
    s->mem = 256ull << 20;
    if (linux_parse_name(s->name))
        return -EINVAL;
    if (m && (rc = linux_parse_mem(s->name, m, &s->mem)))
        return rc;
    if (c && linux_parse_vcpus(s->name, c, &s->vcpus))
        return -EINVAL;
    if (!k) {
        kprintf("error: vm create %s: kernel= is required\n", s->name);
        return -EINVAL;
    }
    if (!(km = lx_module(s, "kernel", k)) || (i && !(im = lx_module(s, "initrd", i))))
        return -ENOENT;
    s->kernel = (const void *)km->start;
    s->kernel_len = km->end - km->start;
    if (i) {                                            /* optional: a kernel may need no initramfs */
        s->initrd = (const void *)im->start;
        s->initrd_len = im->end - im->start;
    }
    o->disk_rw = drw != NULL;
    if ((d || drw) && !(o->disk = lx_module(s, drw ? "disk-rw" : "disk", drw ? drw : d)))
        return -ENOENT;
    return 0;
}

const char *vm_create_error(int err)
{
    switch (err) {
    case -EEXIST: return "the name is taken";
    case -ENODEV: return "no VMX+EPT or SVM+NPT on this CPU";
    case -ENOSPC: return "every VM slot is in use (destroy one first)";
    case -ENOMEM: return "not enough free host memory for its RAM and vCPUs";
    default: return "the hypervisor refused it (name, memory or vCPUs out of range)";
    }
}

/* Free host RAM in MiB: what a new VM's memory can come from. */
static uint64_t host_free_mib(void)
{
    struct pmm_stats st;
    pmm_get_stats(&st);
    return st.free_pages * PAGE_SIZE >> 20;
}

int linux_parse_mem_range(const char *name, const char *v, uint64_t min, uint64_t max, const char *who,
                          uint64_t *mem)
{
    int rc = kstrtou64(v, mem, 1);
    uint64_t host = host_free_mib();
    if (rc == -EINVAL)
        kprintf("error: vm create %s: mem=%s: not a size (give e.g. 256M or 1G)\n", name, v);
    else if (!rc && *mem < min)
        kprintf("error: vm create %s: mem=%s is less than the %llu MiB %s needs\n", name, v,
                (unsigned long long)(min >> 20), who);
    else if (rc || *mem >> 20 > host) {
        kprintf("error: vm create %s: mem=%s is more than the host's free memory (%llu MiB)\n", name, v,
                (unsigned long long)host);
        return rc ? -EINVAL : -ENOMEM;
    } else if (*mem > max)
        kprintf("error: vm create %s: mem=%s is more than the %llu MiB %s can have\n", name, v,
                (unsigned long long)(max >> 20), who);
    else
        return 0;
    return -EINVAL;
}

int linux_parse_mem(const char *name, const char *v, uint64_t *mem)
{
    return linux_parse_mem_range(name, v, LX_MEM_MIN, LX_MEM_MAX, "a Linux guest", mem);
}

/* VM names as vm_create takes them: 1 to VM_NAME_MAX - 1 letters, digits, '-' or '_'. */
int linux_parse_name(const char *name)
{
    size_t n = strlen(name), i = 0;
    while (i < n && (strchr("-_", name[i]) || (name[i] >= '0' && name[i] <= '9') ||
                     ((name[i] | 0x20) >= 'a' && (name[i] | 0x20) <= 'z')))
        i++;
    if (!n || i < n || n >= VM_NAME_MAX) {
        kprintf("error: vm create: name '%s': give 1 to %d letters, digits, '-' or '_'\n", name, VM_NAME_MAX - 1);
        return -EINVAL;
    }
    if (vm_find(name)) {
        kprintf("error: vm create: name '%s' is taken\n", name);
        return -EEXIST;
    }
    return 0;
}

int linux_parse_vcpus(const char *name, const char *v, int *vcpus)
{
    uint64_t n;
    if (kstrtou64(v, &n, 0) || n < 1 || n > VCPU_MAX) {
        kprintf("error: vm create %s: vcpus=%s: a VM has 1..%d vCPUs\n", name, v, VCPU_MAX);
        return -EINVAL;
    }
    *vcpus = (int)n;
    return 0;
}

/* Initrds the kernel can unpack: cpio newc, gzip, xz, zstd, lz4, bzip2, lzma (by magic). */
static int initrd_known(const uint8_t *p, uint64_t n)
{
    return n >= 6 && (!memcmp(p, "070701", 6) || !memcmp(p, "070702", 6) || (p[0] == 0x1F && p[1] == 0x8B) ||
                      !memcmp(p, "\xFD" "7zXZ", 5) || !memcmp(p, "\x28\xB5\x2F\xFD", 4) ||
                      !memcmp(p, "\x02\x21\x4C\x18", 4) || !memcmp(p, "BZh", 3) || !memcmp(p, "\x5D\x00\x00", 3));
}

/* Check the kernel and initrd and decide where they go; one-line error naming the problem. */
static int lx_plan(const struct linux_spec *o, struct lx_plan *p)
{
    const uint8_t *k = o->kernel, *ird = o->initrd;
    uint64_t klen = o->kernel_len, ilen = o->initrd_len, limit;
    const char *why = NULL;
    int err;

    memset(p, 0, sizeof(*p));
    p->pvh = pvh_is_elf(k, klen);
    err = p->pvh ? pvh_parse(k, klen, &p->pvh_info, &why) : bz_parse(k, klen, &p->bz, &why);
    if (err) {
        kprintf("error: vm create %s: kernel: %s\n", o->name, why);
        return err;
    }
    if (p->pvh) {
        p->load = p->pvh_info.lowest;
        p->kernel_end = p->pvh_info.highest;
        limit = o->mem;
        if (p->kernel_end > o->mem || p->load < (1ull << 20))
            err = -ENOMEM;
    } else {
        err = bz_load_address(&p->bz, o->mem, &p->load);
        p->kernel_end = p->load + p->bz.init_size;
        limit = p->bz.initrd_addr_max + 1ull < o->mem ? p->bz.initrd_addr_max + 1ull : o->mem;
    }
    if (err) {
        kprintf("error: vm create %s: kernel needs %llu MiB from %#llx: does not fit in mem=%lluM\n", o->name,
                (unsigned long long)((p->kernel_end - p->load) >> 20), (unsigned long long)p->load,
                (unsigned long long)(o->mem >> 20));
        return err;
    }
    if (!ilen)
        return 0;                                       /* no initrd: nothing to place */
    if (!initrd_known(ird, ilen)) {
        kprintf("error: vm create %s: initrd: not a cpio archive or compressed image\n", o->name);
        return -ENOTSUP;
    }
    if (initrd_place(ilen, limit, p->load, p->kernel_end, &p->initrd_gpa)) {
        kprintf("error: vm create %s: initrd of %llu KiB does not fit beside the kernel in mem=%lluM\n",
                o->name, (unsigned long long)(ilen >> 10), (unsigned long long)(o->mem >> 20));
        return -ENOMEM;
    }
    return 0;
}

/*
 * e820 (and PVH memmap): low RAM, the reserved ACPI area up to 1 MiB, RAM from 1 MiB to the end, and the
 * ECAM window reserved (Linux takes an MCFG region early only when e820 reserves it, PCI Firmware Spec 4.1.2).
 */
static int lx_e820(uint64_t mem, struct e820_entry *e)
{
    e[0] = (struct e820_entry){ 0, LX_LOW_RAM_END, E820_RAM };
    e[1] = (struct e820_entry){ LX_ACPI, LX_ACPI_SIZE, E820_RESERVED };
    e[2] = (struct e820_entry){ 1ull << 20, mem - (1ull << 20), E820_RAM };
    e[3] = (struct e820_entry){ LX_ECAM_BASE, LX_ECAM_SIZE, E820_RESERVED };
    return 4;
}

static struct seg lx_seg(uint16_t sel, uint16_t attr)
{
    return (struct seg){ sel, attr, 0xffffffffu, 0 };
}

/*
 * Entry state. bzImage (boot.rst "64-bit Boot Protocol"): long mode, identity paging, __BOOT_CS 0x10,
 * __BOOT_DS 0x18, interrupts off, RSI = boot_params, RIP = load + 0x200. PVH (xen start_info.h):
 * 32-bit flat protected mode, paging off, EBX = hvm_start_info.
 */
static void lx_regs(struct guest_regs *r, const struct lx_plan *p)
{
    memset(r, 0, sizeof(*r));
    r->rflags = 0x2;
    r->xcr0 = 1;
    r->tr = (struct seg){ 0, 0x8B, 0x67, 0 };
    r->gdtr_base = LX_GDT;
    r->gdtr_limit = 4 * 8 - 1;
    r->ds = r->es = r->fs = r->gs = r->ss = lx_seg(0x18, 0xC93);
    r->cr0 = 0x31;                                      /* PE, ET, NE */
    r->gpr[GPR_RSP] = LX_STACK_TOP;
    if (p->pvh) {
        r->cs = lx_seg(0x10, 0xC9B);
        r->rip = p->pvh_info.entry;
        r->gpr[GPR_RBX] = LX_PVH_INFO;
        return;
    }
    r->cs = lx_seg(0x10, 0xA9B);
    r->cr0 |= 0x80000000u;                              /* PG */
    r->cr3 = LX_PML4;
    r->cr4 = 0x20;                                      /* PAE */
    r->efer = 0x500;                                    /* LME, LMA */
    r->rip = p->load + 0x200;
    r->gpr[GPR_RSI] = LX_BOOT_PARAMS;
}

/* GDT (null, null, code, data) and the identity page tables for the 64-bit entry. */
static int lx_tables(struct vm *vm, int pvh)
{
    uint64_t gdt[4] = { 0, 0, pvh ? 0x00cf9b000000ffffull : 0x00af9b000000ffffull, 0x00cf93000000ffffull };
    uint64_t *pml4 = gpa_ptr_w(vm, LX_PML4, 4096), *pdpt = gpa_ptr_w(vm, LX_PML4 + 0x1000, 4096);
    uint64_t *pd = gpa_ptr_w(vm, LX_PML4 + 0x2000, 4 * 4096);
    if (gpa_write(vm, LX_GDT, gdt, sizeof(gdt)) || !pml4 || !pdpt || !pd)
        return -EFAULT;
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = (LX_PML4 + 0x1000) | 3;
    for (uint64_t g = 0; g < 4; g++)
        pdpt[g] = (LX_PML4 + 0x2000 + g * 0x1000) | 3;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | 0x83;
    return 0;
}

/* 1 when the command line has a word starting with key. */
static int has_word(const char *s, const char *key)
{
    size_t n = strlen(key);
    for (const char *w = s; w && *w; w++)
        if ((w == s || w[-1] == ' ') && !strncmp(w, key, n))
            return 1;
    return 0;
}

/* The guest command line: the user's, console=ttyS0 unless a console is given, and the TSC rate. */
static int lx_cmdline(struct vm *vm, const char *user, uint32_t max)
{
    char *buf = kzalloc(LX_CMDLINE_MAX);
    int n, err;
    if (!buf)
        return -ENOMEM;
    n = ksnprintf(buf, LX_CMDLINE_MAX, "%s%s%stsc_early_khz=%llu", user ? user : "", user ? " " : "",
                  has_word(user, "console=") ? "" : "console=ttyS0 ",
                  (unsigned long long)(tsc_hz() / 1000));
    err = n < 0 || (uint32_t)n >= LX_CMDLINE_MAX || (max && (uint32_t)n > max) ? -E2BIG : 0;
    if (!err)
        err = gpa_write(vm, LX_CMDLINE, buf, (size_t)n + 1);
    kfree(buf);
    return err;
}

/* Zero [gpa, gpa + len) of guest RAM (a PVH segment's bss). 0 or -EFAULT. */
static int lx_zero(struct vm *vm, uint64_t gpa, uint64_t len)
{
    static const uint8_t zero[4096];
    while (len) {
        uint64_t n = len < sizeof(zero) ? len : sizeof(zero);
        int err = gpa_write(vm, gpa, zero, n);
        if (err)
            return err;
        gpa += n;
        len -= n;
    }
    return 0;
}

/* Copy the kernel: bzImage's protected-mode part at the load address, or PVH's PT_LOAD segments (bss zeroed). */
static int lx_load_kernel(struct vm *vm, const struct linux_spec *o, const struct lx_plan *p)
{
    const uint8_t *k = o->kernel;
    if (!p->pvh)
        return gpa_write(vm, p->load, k + p->bz.pm_offset, p->bz.pm_size);
    for (int i = 0; i < p->pvh_info.nseg; i++) {
        const struct pvh_seg *s = &p->pvh_info.seg[i];
        int err = gpa_write(vm, s->paddr, k + s->offset, s->filesz);
        if (err || (err = lx_zero(vm, s->paddr + s->filesz, s->memsz - s->filesz)))
            return err;
    }
    return 0;
}

/* ACPI tables at LX_ACPI: COM1, RTC and the virtio-mmio slots in use. */
static int lx_acpi(struct vm *vm, const struct linux_spec *o)
{
    struct acpi_config c = { vm->nvcpus, PLAT_IOAPIC_BASE, PLAT_LAPIC_BASE, NVIRTIO, 0, PLAT_VIRTIO_BASE,
                             PLAT_VIRTIO_SIZE, { 0 }, 1, 1, LX_ECAM_BASE };
    uint8_t *buf = kzalloc(LX_ACPI_SIZE);
    int n;
    if (!buf)
        return -ENOMEM;
    for (int i = 0; i < NVIRTIO; i++)
        c.virtio_gsi[i] = PLAT_VIRTIO_GSI0 + i;
    if (o->disk)                                       /* declare only the slots lx_devices fills */
        c.virtio_mask |= 1u << SLOT_BLK;
    c.virtio_mask |= 1u << SLOT_NET;                    /* every Linux guest has a network card */
    n = acpi_build(buf, LX_ACPI_SIZE - LX_RESET_STUB_SIZE, LX_ACPI, &c);   /* the reset stub ends the area */
    if (n > 0)
        n = gpa_write(vm, LX_ACPI, buf, (size_t)n);
    kfree(buf);
    return n;
}

/* The real-mode reset vector F000:FFF0, the last 16 bytes below 1 MiB (SDM 3A 9.1.4). There is no BIOS:
 * a guest that restarts through it (Linux on hardware-reduced ACPI picks EFI then BIOS reboot, and with no
 * EFI jumps to F000:FFF0, arch/x86/kernel/reboot.c) finds `mov al,0xfe; out 0x64,al; hlt; jmp $-3`,
 * which asks the i8042 for the reset the guest wanted. */
static int lx_reset_stub(struct vm *vm)
{
    static const uint8_t stub[LX_RESET_STUB_SIZE] = { 0xb0, 0xfe, 0xe6, 0x64, 0xf4, 0xeb, 0xfd };
    return gpa_write(vm, LX_ACPI + LX_ACPI_SIZE - LX_RESET_STUB_SIZE, stub, sizeof(stub));
}

/* Kernel, initrd, command line, tables and the zero page (or PVH start info). */
static int lx_load(struct vm *vm, const struct linux_spec *o, const struct lx_plan *p)
{
    uint64_t ilen = o->initrd_len;
    struct e820_entry e820[4];
    int n = lx_e820(vm->mem_size, e820), err;
    uint8_t *bp;

    if ((err = lx_load_kernel(vm, o, p)) || (ilen && (err = gpa_write(vm, p->initrd_gpa, o->initrd, ilen))) ||
        (err = lx_tables(vm, p->pvh)) || (err = lx_cmdline(vm, o->cmdline, p->pvh ? 0 : p->bz.cmdline_size)) ||
        (err = lx_acpi(vm, o)) || (err = lx_reset_stub(vm)))
        return err;
    if (!(bp = kzalloc(BP_SIZE)))
        return -ENOMEM;
    if (p->pvh)
        err = pvh_build_start_info(bp, LX_PVH_INFO, LX_CMDLINE, p->initrd_gpa, ilen, LX_ACPI, e820, n);
    else
        err = bz_build_params(bp, o->kernel, &p->bz, LX_CMDLINE, p->initrd_gpa, ilen,
                              LX_ACPI, e820, n);
    if (!err)
        err = gpa_write(vm, p->pvh ? LX_PVH_INFO : LX_BOOT_PARAMS, bp, p->pvh ? PVH_INFO_SIZE : BP_SIZE);
    kfree(bp);
    return err;
}

/* Hardware-reduced ACPI sleep registers (ACPI 6.4 4.8.3.7): SLP_EN with SLP_TYP 5 is poweroff. */
static int lx_sleep_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    (void)dev;
    (void)size;
    *val = off == 1 ? 0x80 : 0;                         /* WAK_STS */
    return 0;
}

static int lx_sleep_out(void *dev, uint16_t off, int size, uint32_t val)
{
    (void)size;
    if (off == 0 && (val & ACPI_SLP_EN) && ((val >> 2) & 7) == ACPI_S5_TYP)
        vm_stop(dev, 0, "guest powered off (ACPI S5)");
    return 0;
}

/* Interrupt chips, legacy devices, the PM timer, the sleep registers, an empty PCI bus, virtio-net (and virtio-blk with a disk). */
static int lx_devices(struct vm *vm, const struct linux_spec *o)
{
    struct pio_range sleep = { ACPI_SLEEP_CTL_PORT, 2, lx_sleep_in, lx_sleep_out, vm };
    uint8_t mac[6] = { 0x02, 0x53, 0x48, 0x4F, 0x00, (uint8_t)vm->id };    /* locally administered */
    int err = 0;

    if (o->has_mac)
        memcpy(mac, o->mac, 6);

    if ((err = pic_attach(vm)) || (err = ioapic_attach(vm)) || (err = lapic_attach(vm)) ||
        (err = pit_attach(vm)) || (err = rtc_attach(vm)) || (err = i8042_attach(vm)) ||
        (err = ns16550_attach(vm, 0x3F8, 4)) || (err = pmtimer_attach(vm)))
        return err;
    if ((err = vm_register_pio(vm, &sleep)) || (err = pci_host_attach(vm, LX_ECAM_BASE)))
        return err;
    if (o->disk && (err = virtio_blk_attach(vm, SLOT_BLK, o->disk)))
        return err;
    return virtio_net_attach(vm, SLOT_NET, mac);
}

/* The platform's reset (i8042 0xFE, the FADT reset register): pause now, reboot from the shell's poll loop. */
static void lx_reset_request(struct vm *vm)
{
    struct lx_vm *l = vm->platform_data;
    l->reset_pending = 1;
    vm->state = VM_PAUSED;
}

/* Reload kernel, initrd and tables; every vCPU back to its first state (APs wait for SIPI). */
static void lx_reset(struct vm *vm, struct lx_vm *l)
{
    int err;
    if (vm_wait_off_cpus(vm)) {              /* a vCPU on another CPU still in its slice: next poll */
        l->reset_pending = 1;
        return;
    }
    if (vm_reset_devices(vm) > 0) {         /* disk requests in flight: stay paused until they land */
        l->reset_pending = 1;
        return;
    }
    err = lx_load(vm, &l->o, &l->p);
    if (err) {
        vm_stop(vm, 0, "reset: reloading the kernel failed (%d)", err);
        return;
    }
    vm_reset_vcpus(vm, &l->regs);
    vm->state = VM_RUNNING;
    log_info("vm %s: reset by the guest", vm->name);
}

static const struct vm_platform lx_platform = { .name = "linux", .reset = lx_reset_request };

static int lx_reset_poll(void)
{
    for (int i = 0; i < VM_MAX; i++) {
        struct vm *vm = vm_slot(i);
        struct lx_vm *l = vm ? vm_platform_data(vm, &lx_platform) : NULL;
        if (l && l->reset_pending) {
            l->reset_pending = 0;
            lx_reset(vm, l);
            return 1;
        }
    }
    return 0;
}

static int lx_init(void)
{
    return shell_add_poller(lx_reset_poll);
}
INIT_HOOK(INIT_VMM, lx_init);

/* The disk's release (the spec's hook, else close); nothing without a disk. */
static void lx_disk_release(const struct linux_spec *o)
{
    if (!o->disk)
        return;
    if (o->disk_release)
        o->disk_release(o->disk, o->disk_arg);
    else
        o->disk->ops->close(o->disk);
}

/* At destroy, after the devices (registered later, so run earlier) let go: the disk, then the record. */
static void lx_vm_free(struct vm *vm, void *arg)
{
    struct lx_vm *l = arg;
    vm->platform = NULL;
    vm->platform_data = NULL;
    lx_disk_release(&l->o);
    kfree(l);
}

/* Create the VM of l (options and plan filled in): memory, loaded kernel, devices. Frees l (and releases
 * the disk) on failure. */
static int lx_build(struct lx_vm *l, struct vm **out)
{
    struct vm *vm;
    char ird[32];
    int err;

    lx_regs(&l->regs, &l->p);
    if (!(vm = vm_create(l->o.name, l->o.mem, l->o.vcpus, &l->regs, &err))) {
        kprintf("error: vm create %s: %s\n", l->o.name, vm_create_error(err));
        goto fail;
    }
    l->o.name = vm->name;
    vm->guest = l->p.pvh ? "linux-pvh" : "linux";
    if ((err = vm_on_destroy(vm, lx_vm_free, l))) {
        vm_destroy(vm);
        goto fail;
    }
    vm->platform = &lx_platform;
    vm->platform_data = l;
    if ((err = lx_load(vm, &l->o, &l->p)) || (err = lx_devices(vm, &l->o))) {
        kprintf("error: vm create %s: loading or attaching devices failed (%d)\n", l->o.name, err);
        vm_destroy(vm);                                 /* frees l, releases the disk */
        return err;
    }
    ksnprintf(ird, sizeof(ird), l->o.initrd_len ? "initrd at %#llx" : "no initrd",
              (unsigned long long)l->p.initrd_gpa);
    kprintf("vm %s created (linux%s, %llu MiB, %d vcpus, kernel at %#llx, %s)\n", vm->name, l->p.pvh ? " pvh" : "",
            (unsigned long long)(l->o.mem >> 20), l->o.vcpus, (unsigned long long)l->p.load, ird);
    *out = vm;
    return 0;
fail:
    lx_disk_release(&l->o);
    kfree(l);
    return err;
}

int linux_vm_create(const struct linux_spec *spec, struct vm **out)
{
    struct lx_vm *l = kzalloc(sizeof(*l));
    int err;

    if (!l)
        return -ENOMEM;
    l->o = *spec;
    if (!l->o.vcpus)
        l->o.vcpus = 1;
    if (l->o.cmdline) {                                 /* the caller's string goes away: keep a copy for resets */
        kstrlcpy(l->cmdline, l->o.cmdline, sizeof(l->cmdline));
        l->o.cmdline = l->cmdline;
    }
    if ((err = lx_plan(&l->o, &l->p))) {
        lx_disk_release(&l->o);
        kfree(l);
        return err;
    }
    return lx_build(l, out);
}

struct blk_dev *linux_vm_disk(struct vm *vm)
{
    struct lx_vm *l = vm_platform_data(vm, &lx_platform);
    return l ? l->o.disk : NULL;
}

int linux_vm_boot_pieces(struct vm *vm, const uint8_t **ptr, uint64_t *len, int max)
{
    struct lx_vm *l = vm_platform_data(vm, &lx_platform);
    int n = 0;
    if (!l)
        return 0;
    if (!l->p.pvh && n < max) {
        ptr[n] = (const uint8_t *)l->o.kernel + l->p.bz.pm_offset;
        len[n++] = l->p.bz.pm_size;
    }
    if (l->o.initrd && l->o.initrd_len && n < max) {
        ptr[n] = l->o.initrd;
        len[n++] = l->o.initrd_len;
    }
    return n;
}

/* A module disk: read-only in place (disk=), or a private writable copy (disk-rw=). */
int linux_vm_create_cmd(int argc, char **argv)
{
    struct lx_opts o;
    struct vm *vm;
    int err;


    if (argc < 4) {
        kprintf("error: vm create: give NAME kernel=MODULE [initrd=MODULE]\n");
        return -EINVAL;
    }
    if ((err = lx_parse(argc, argv, &o)))
        return err;
    if (o.disk && !(o.s.disk = ramdisk_create((const void *)o.disk->start, o.disk->end - o.disk->start, !o.disk_rw)))
        return -ENOMEM;
    return linux_vm_create(&o.s, &vm);
}
