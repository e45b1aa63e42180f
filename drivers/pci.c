/* PCI: configuration access (ECAM from the MCFG, else mechanism 1), bus scan, BAR sizing, `pci`. */
#include "drivers/pci.h"
#include "drivers/acpi.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/printf.h"
#include "kernel/shell.h"

#define PCI_CMD          0x04
#define PCI_CMD_IO       0x1
#define PCI_CMD_MEM      0x2
#define PCI_CMD_MASTER   0x4
#define PCI_STATUS       0x06
#define PCI_STATUS_CAPS  0x10
#define PCI_HDR_TYPE     0x0E
#define PCI_BAR0         0x10
#define PCI_CAP_PTR      0x34
#define CF8_ADDR         0xCF8
#define CF8_DATA         0xCFC

static struct pci_dev devs[PCI_MAX_DEVS];
static int ndevs, ndropped;
static uint64_t ecam_base;            /* 0: use mechanism 1 */
static uint8_t ecam_start, ecam_end;

/* The ECAM address of (bus, dev, fn, off), or NULL when that bus is outside the MCFG range (PCIe 7.2.2). */
static volatile void *ecam_ptr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    if (!ecam_base || bus < ecam_start || bus > ecam_end || off >= 4096)
        return 0;
    /* The MCFG base is where bus 0 would be, even when the range starts higher (PCI FW 3.0 4.1.2). */
    return (volatile void *)(uintptr_t)(ecam_base + ((uint64_t)bus << 20) + ((uint64_t)dev << 15) +
                                        ((uint64_t)fn << 12) + off);
}

static void cf8_select(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    outl(CF8_ADDR, 0x80000000u | (uint32_t)bus << 16 | (uint32_t)(dev & 31) << 11 |
                   (uint32_t)(fn & 7) << 8 | (off & 0xFC));
}

/* Read width (1, 2, 4) bytes at a naturally aligned off; all ones when unreachable. */
static uint32_t cfg_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, int width)
{
    volatile void *p = ecam_ptr(bus, dev, fn, off);
    uint32_t v;
    uint64_t f;
    if (p)
        return width == 4 ? *(volatile uint32_t *)p : width == 2 ? *(volatile uint16_t *)p : *(volatile uint8_t *)p;
    if (off >= 256)
        return width == 4 ? 0xffffffffu : width == 2 ? 0xffffu : 0xffu;
    f = irq_save();
    cf8_select(bus, dev, fn, off);
    v = width == 4 ? inl(CF8_DATA) : width == 2 ? inw(CF8_DATA + (off & 2)) : inb(CF8_DATA + (off & 3));
    irq_restore(f);
    return v;
}

static void cfg_write(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, int width, uint32_t v)
{
    volatile void *p = ecam_ptr(bus, dev, fn, off);
    uint64_t f;
    if (p) {
        if (width == 4)
            *(volatile uint32_t *)p = v;
        else if (width == 2)
            *(volatile uint16_t *)p = (uint16_t)v;
        else
            *(volatile uint8_t *)p = (uint8_t)v;
        return;
    }
    if (off >= 256)
        return;
    f = irq_save();
    cf8_select(bus, dev, fn, off);
    if (width == 4)
        outl(CF8_DATA, v);
    else if (width == 2)
        outw(CF8_DATA + (off & 2), (uint16_t)v);
    else
        outb(CF8_DATA + (off & 3), (uint8_t)v);
    irq_restore(f);
}

uint32_t pci_read32(const struct pci_dev *d, uint16_t off) { return cfg_read(d->bus, d->dev, d->fn, off & ~3, 4); }
uint16_t pci_read16(const struct pci_dev *d, uint16_t off) { return (uint16_t)cfg_read(d->bus, d->dev, d->fn, off & ~1, 2); }
uint8_t pci_read8(const struct pci_dev *d, uint16_t off) { return (uint8_t)cfg_read(d->bus, d->dev, d->fn, off, 1); }
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v) { cfg_write(d->bus, d->dev, d->fn, off & ~3, 4, v); }
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v) { cfg_write(d->bus, d->dev, d->fn, off & ~1, 2, v); }
void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v) { cfg_write(d->bus, d->dev, d->fn, off, 1, v); }

void pci_enable(const struct pci_dev *d)
{
    pci_write16(d, PCI_CMD, pci_read16(d, PCI_CMD) | PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER);
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id)
{
    uint8_t ptr;
    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAPS))
        return 0;
    ptr = pci_read8(d, PCI_CAP_PTR) & 0xFC;
    /* At most 48 capabilities fit in 192 bytes: a cyclic list still ends. */
    for (int i = 0; i < 48 && ptr >= 0x40; i++) {
        if (pci_read8(d, ptr) == id)
            return ptr;
        ptr = pci_read8(d, ptr + 1) & 0xFC;
    }
    return 0;
}

const struct pci_dev *pci_get(int i)
{
    return i >= 0 && i < ndevs ? &devs[i] : 0;
}

const struct pci_dev *pci_find(uint16_t vendor, uint16_t device, int *pos)
{
    for (int i = pos ? *pos : 0; i < ndevs; i++)
        if (devs[i].vendor == vendor && devs[i].device == device) {
            if (pos)
                *pos = i + 1;
            return &devs[i];
        }
    return 0;
}

/*
 * Size BAR i by writing all ones and reading back the writable bits (PCI LB 3.0 6.2.5.1). Returns the
 * number of slots it used (2 for a 64-bit memory BAR). The caller has disabled decoding.
 */
static int bar_probe(struct pci_dev *d, int i, int nbars)
{
    uint16_t off = PCI_BAR0 + 4 * i;
    uint32_t lo = pci_read32(d, off), szlo, hi = 0, szhi = 0xffffffffu;
    struct pci_bar *b = &d->bar[i];
    uint64_t mask;
    pci_write32(d, off, 0xffffffffu);
    szlo = pci_read32(d, off);
    pci_write32(d, off, lo);
    if (!szlo || szlo == 0xffffffffu)
        return 1;                                   /* unimplemented (or a vanished device) */
    if (lo & 1) {
        b->is_io = 1;
        mask = szlo & ~3u;
        if (!(szlo & 0xffff0000u))                  /* 16-bit I/O decoder: upper bits read as zero */
            mask |= 0xffff0000u;
        b->base = lo & ~3u;
        b->size = (uint32_t)(~mask + 1);
        return 1;
    }
    b->prefetch = (lo >> 3) & 1;
    b->is_64 = ((lo >> 1) & 3) == 2 && i + 1 < nbars;
    if (b->is_64) {
        hi = pci_read32(d, off + 4);
        pci_write32(d, off + 4, 0xffffffffu);
        szhi = pci_read32(d, off + 4);
        pci_write32(d, off + 4, hi);
    }
    mask = (uint64_t)szhi << 32 | (szlo & ~0xfu);
    b->base = (uint64_t)hi << 32 | (lo & ~0xfu);
    b->size = ~mask + 1;
    return b->is_64 ? 2 : 1;
}

static void bars_probe(struct pci_dev *d, uint8_t hdr)
{
    int nbars = hdr == 0 ? 6 : hdr == 1 ? 2 : 0;
    uint16_t cmd = pci_read16(d, PCI_CMD);
    /* Host bridges keep decoding (as Linux does): turning them off can cut the CPU off from memory. */
    int keep = d->class_code == 0x06 && d->subclass == 0x00;
    uint64_t f = irq_save();
    if (!keep && nbars)
        pci_write16(d, PCI_CMD, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
    for (int i = 0; i < nbars;)
        i += bar_probe(d, i, nbars);
    if (!keep && nbars)
        pci_write16(d, PCI_CMD, cmd);
    irq_restore(f);
}

static void pci_record(uint8_t bus, uint8_t dev, uint8_t fn)
{
    struct pci_dev *d;
    uint32_t id = cfg_read(bus, dev, fn, 0, 4), cls;
    uint8_t hdr;
    if (ndevs == PCI_MAX_DEVS) {
        ndropped++;
        return;
    }
    d = &devs[ndevs++];
    *d = (struct pci_dev){ .bus = bus, .dev = dev, .fn = fn, .vendor = id & 0xffff, .device = id >> 16 };
    cls = pci_read32(d, 0x08);
    d->revision = cls & 0xff;
    d->prog_if = (cls >> 8) & 0xff;
    d->subclass = (cls >> 16) & 0xff;
    d->class_code = cls >> 24;
    hdr = pci_read8(d, PCI_HDR_TYPE) & 0x7f;
    if (hdr == 0) {
        d->subsys_vendor = pci_read16(d, 0x2C);
        d->subsys_id = pci_read16(d, 0x2E);
    }
    d->irq_line = pci_read8(d, 0x3C);
    d->irq_pin = pci_read8(d, 0x3D);
    bars_probe(d, hdr);
}

static void scan_device(uint8_t bus, uint8_t dev)
{
    int nfn;
    if ((cfg_read(bus, dev, 0, 0, 2) & 0xffff) == 0xffff)
        return;
    nfn = cfg_read(bus, dev, 0, PCI_HDR_TYPE, 1) & 0x80 ? 8 : 1;    /* multifunction bit */
    for (int fn = 0; fn < nfn; fn++)
        if ((cfg_read(bus, dev, fn, 0, 2) & 0xffff) != 0xffff)
            pci_record(bus, dev, fn);
}

/* Make the ECAM window addressable: below 4 GiB it is in the boot identity map already. */
static int ecam_setup(void)
{
    uint64_t top;
    ecam_base = acpi_ecam_base(&ecam_start, &ecam_end);
    if (!ecam_base)
        return 0;
    top = ecam_base + ((uint64_t)ecam_end + 1) * (1u << 20);
    if (top > paging_mapped_top() && paging_map_identity(top) < 0) {
        log_warn("pci: cannot map ECAM at %#llx, using mechanism 1", (unsigned long long)ecam_base);
        ecam_base = 0;
        return -ENOMEM;
    }
    return 0;
}

int pci_init(void)
{
    int first = 0, last = 255;
    ndevs = ndropped = 0;
    ecam_setup();
    if (ecam_base) {
        first = ecam_start;
        last = ecam_end;
    }
    /* Brute force over every bus: finds functions behind bridges and extra root buses alike. */
    for (int bus = first; bus <= last; bus++)
        for (int dev = 0; dev < 32; dev++)
            scan_device((uint8_t)bus, (uint8_t)dev);
    if (ecam_base)
        log_info("pci: %d functions, ECAM at %#llx buses %u-%u", ndevs, (unsigned long long)ecam_base,
                 ecam_start, ecam_end);
    else
        log_info("pci: %d functions, configuration mechanism 1", ndevs);
    for (int i = 0; i < ndevs; i++)
        log_info("pci: %02x:%02x.%x %04x:%04x %s", devs[i].bus, devs[i].dev, devs[i].fn, devs[i].vendor,
                 devs[i].device, pci_class_name(devs[i].class_code, devs[i].subclass));
    if (ndropped)
        log_warn("pci: %d functions beyond the table of %d ignored", ndropped, PCI_MAX_DEVS);
    return ndevs;
}

const char *pci_class_name(uint8_t cls, uint8_t sub)
{
    static const struct { uint8_t cls, sub; const char *name; } names[] = {
        { 0x01, 0x00, "scsi" }, { 0x01, 0x01, "ide" }, { 0x01, 0x05, "ata" }, { 0x01, 0x06, "sata" },
        { 0x01, 0x08, "nvme" }, { 0x01, 0xff, "storage" },
        { 0x02, 0x00, "ethernet" }, { 0x02, 0xff, "network" },
        { 0x03, 0x00, "vga" }, { 0x03, 0xff, "display" },
        { 0x04, 0xff, "multimedia" }, { 0x05, 0xff, "memory" },
        { 0x06, 0x00, "host-bridge" }, { 0x06, 0x01, "isa-bridge" }, { 0x06, 0x04, "pci-bridge" },
        { 0x06, 0xff, "bridge" },
        { 0x07, 0x00, "serial" }, { 0x07, 0xff, "communication" }, { 0x08, 0xff, "system" },
        { 0x0c, 0x03, "usb" }, { 0x0c, 0x05, "smbus" }, { 0x0c, 0xff, "serial-bus" },
        { 0x0d, 0xff, "wireless" },
    };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].cls == cls && (names[i].sub == sub || names[i].sub == 0xff))
            return names[i].name;
    return "other";
}

static int cmd_pci(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return shell_usage("pci");
    for (int i = 0; i < ndevs; i++) {
        const struct pci_dev *d = &devs[i];
        kprintf("%02x:%02x.%x %04x:%04x class %02x.%02x.%02x %s irq %u\n", d->bus, d->dev, d->fn, d->vendor,
                d->device, d->class_code, d->subclass, d->prog_if, pci_class_name(d->class_code, d->subclass),
                d->irq_line);
        for (int b = 0; b < 6; b++) {
            const struct pci_bar *bar = &d->bar[b];
            if (!bar->size)
                continue;
            kprintf("    bar%d %s %#llx size %#llx%s\n", b, bar->is_io ? "io" : bar->is_64 ? "mem64" : "mem32",
                    (unsigned long long)bar->base, (unsigned long long)bar->size, bar->prefetch ? " prefetch" : "");
        }
    }
    if (ndropped)
        kprintf("(%d more functions not recorded)\n", ndropped);
    return 0;
}
SHELL_COMMAND("pci", "", "PCI functions with class, IRQ line and BARs", cmd_pci);
