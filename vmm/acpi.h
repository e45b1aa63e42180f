/* Guest ACPI tables: RSDP, XSDT, FADT (hardware-reduced), MADT, MCFG and a DSDT whose AML declares the devices. */
#ifndef SHOAL_VMM_ACPI_H
#define SHOAL_VMM_ACPI_H
#include <stdint.h>
#include <stddef.h>

#define ACPI_MAX_VIRTIO   8
/* The hardware-reduced sleep registers (ACPI 6.4 4.8.3.7): one I/O port each, the platform emulates them. */
#define ACPI_SLEEP_CTL_PORT  0x600
#define ACPI_SLEEP_STS_PORT  0x601
/* The PM timer's 32-bit counter (FADT X_PM_TMR_BLK, TMR_VAL_EXT; vmm/dev/pmtimer.c). */
#define ACPI_PM_TMR_PORT     0x608
#define ACPI_SLP_EN          0x20
#define ACPI_S5_TYP          5

struct acpi_config {
    int ncpus;                       /* one enabled Local APIC per vCPU, APIC ids 0..ncpus-1 */
    uint64_t ioapic_base, lapic_base;
    int nvirtio;                     /* virtio-mmio slots 0..nvirtio-1 ... */
    uint32_t virtio_mask;            /* ... of which those whose bit is set are declared */
    uint64_t virtio_base, virtio_size;
    int virtio_gsi[ACPI_MAX_VIRTIO];
    int uart;                        /* COM1 at 0x3F8, IRQ 4 */
    int rtc;                         /* CMOS RTC at 0x70 */
    uint64_t ecam_base;              /* a PCI host bridge: bus 0's ECAM window here (MCFG), 0 for none */
};

/*
 * Build all tables into buf (len bytes), which the caller copies to guest address gpa: the RSDP (v2) is
 * at offset 0, the other tables follow, 16-byte aligned, their pointers absolute guest addresses.
 * Returns the bytes used, or -ENOSPC when buf is too small, -EINVAL for a bad config.
 */
int acpi_build(uint8_t *buf, size_t len, uint64_t gpa, const struct acpi_config *cfg);

/* Sum of len bytes (a table is valid when the sum over its length is 0 mod 256). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

/*
 * AML PkgLength (ACPI 6.4 20.2.4): encode n (the length including the encoding itself) into out
 * (1-4 bytes, returned), or 0 when n is too large (>= 2^28). aml_pkglen_decode reads one back:
 * bytes consumed (1-4) with *n set, or 0 when avail is too short or the encoding is malformed.
 */
int aml_pkglen_encode(uint32_t n, uint8_t out[4]);
int aml_pkglen_decode(const uint8_t *p, size_t avail, uint32_t *n);
#endif
