/* PCI: enumeration (ECAM when MCFG exists, else configuration mechanism 1), config access, BARs. */
#ifndef SHOAL_DRIVERS_PCI_H
#define SHOAL_DRIVERS_PCI_H
#include <stdint.h>

#define PCI_MAX_DEVS 64

struct pci_bar {
    uint64_t base;      /* physical address (memory) or port (I/O); 0 when unused */
    uint64_t size;      /* bytes, from the sizing probe; 0 when unused */
    int is_io, is_64, prefetch;
};

struct pci_dev {
    uint8_t bus, dev, fn;
    uint16_t vendor, device, subsys_vendor, subsys_id;
    uint8_t class_code, subclass, prog_if, revision;
    uint8_t irq_line, irq_pin;
    struct pci_bar bar[6];
};

/* Scan every bus; record and log what was found. Returns the number of functions found. */
int pci_init(void);
/* The i-th function found (0-based), or NULL past the end. */
const struct pci_dev *pci_get(int i);
/* The first function with vendor:device at or after index *pos (updated past it), or NULL. */
const struct pci_dev *pci_find(uint16_t vendor, uint16_t device, int *pos);

/* Configuration space access (offset < 256 with mechanism 1, < 4096 with ECAM). */
uint32_t pci_read32(const struct pci_dev *d, uint16_t off);
uint16_t pci_read16(const struct pci_dev *d, uint16_t off);
uint8_t pci_read8(const struct pci_dev *d, uint16_t off);
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v);

/* Enable memory and I/O decoding and bus mastering for d. */
void pci_enable(const struct pci_dev *d);
/* Offset of capability id in d's list, or 0 when absent (bounded walk: loops end). */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id);
/* A short lower-case name for a class/subclass pair ("ethernet", "host-bridge"; "other" if unknown). */
const char *pci_class_name(uint8_t cls, uint8_t sub);
#endif
