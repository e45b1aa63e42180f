/* An empty PCI host bridge: the bridge's own config space through port CF8/CFC and through ECAM. */
#include "vmm/dev/pci_host.h"
#include "vmm/dev/dev.h"
#include "kernel/errno.h"

#define CONF1_ENABLE  0x80000000u
#define ECAM_SIZE     (1ull << 20)     /* bus 0: 32 devices x 8 functions x 4 KiB */

/* The host bridge's header (type 0): IDs, class 06/00 (host bridge); all else reads 0. */
static uint32_t bridge_dword(unsigned reg)
{
    switch (reg) {
    case 0x00: return PCI_HOST_VENDOR | (uint32_t)PCI_HOST_DEVICE << 16;
    case 0x08: return 0x06000000u;     /* class 06, subclass 00, prog-if 00, revision 0 */
    default: return 0;
    }
}

/* size bytes (1, 2, 4) at reg of function devfn on bus 0; absent functions read all-ones (PCI 3.0 6.1). */
static uint32_t cfg_read(unsigned devfn, unsigned reg, int size)
{
    uint32_t mask = size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    if (devfn != 0)
        return mask;
    return (bridge_dword(reg & ~3u) >> ((reg & 3) * 8)) & mask;
}

/* Ports 0xCF8-0xCFF: the address register (dword accesses only) and the data window. */
static int conf1_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    uint32_t addr = *(uint32_t *)dev;
    if (off < 4) {
        *val = off == 0 && size == 4 ? addr : 0xffffffffu;
        return 0;
    }
    if (!(addr & CONF1_ENABLE) || ((addr >> 16) & 0xff) != 0) {
        *val = 0xffffffffu;                         /* disabled, or a bus that does not exist */
        return 0;
    }
    *val = cfg_read((addr >> 8) & 0xff, (addr & 0xfc) + (off - 4u), size);
    return 0;
}

static int conf1_out(void *dev, uint16_t off, int size, uint32_t val)
{
    if (off == 0 && size == 4)
        *(uint32_t *)dev = val & 0x80fffffcu;       /* enable, bus, device, function, dword register */
    return 0;                                       /* config writes: the bridge has nothing to set */
}

/* ECAM: offset = device << 15 | function << 12 | register. */
static int ecam_read(void *dev, uint64_t off, int size, uint64_t *val)
{
    (void)dev;
    *val = size > 4 ? ~0ull : cfg_read((unsigned)(off >> 12) & 0xff, (unsigned)off & 0xfff, size);
    return 0;
}

static int ecam_write(void *dev, uint64_t off, int size, uint64_t val)
{
    (void)dev;
    (void)off;
    (void)size;
    (void)val;
    return 0;
}

/* A reset clears CONFIG_ADDRESS (PCI 3.0 3.2.2.3.2: 0 at reset); the bridge holds nothing else. */
static void pci_host_reset(struct vm *vm, void *arg)
{
    (void)vm;
    *(uint32_t *)arg = 0;
}

int pci_host_attach(struct vm *vm, uint64_t ecam_base)
{
    struct vm_dev reg = { .name = "pci-host", .reset = pci_host_reset, .destroy = vm_dev_free };
    struct mmio_range mmio = { ecam_base, ECAM_SIZE, ecam_read, ecam_write, NULL };
    int rc;
    uint32_t *addr = vm_dev_new(vm, sizeof(*addr), &reg, &rc);
    if (!addr)
        return rc;
    struct pio_range pio = { 0xCF8, 8, conf1_in, conf1_out, addr };
    if ((rc = vm_register_pio(vm, &pio)) < 0)
        return rc;
    return vm_register_mmio(vm, &mmio);
}
