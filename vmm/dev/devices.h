/* The emulated chips of a guest platform (vmm/dev/, one file per chip): how a platform attaches them. */
#ifndef SHOAL_VMM_DEVICES_H
#define SHOAL_VMM_DEVICES_H
#include <stdint.h>

struct vm;
struct blk_dev;

/*
 * Every attach function registers the device's ports/MMIO on vm, allocates its state, registers one entry
 * in the VM's device registry (vm_dev_register: snapshot, reset to power-on, destroy) and returns 0 or a
 * negative errno (the caller destroys the VM).
 * Each device keeps its state in a plain-data struct (no pointers) with a version, and exports one
 * snapshot function walking it with vmm/dev/snapshot.h, so save and restore are one code path.
 */

/* Guest platform memory map (fixed; the ACPI tables and e820 describe it). */
#define PLAT_IOAPIC_BASE   0xFEC00000ull
#define PLAT_LAPIC_BASE    0xFEE00000ull
#define PLAT_VIRTIO_BASE   0xD0000000ull    /* virtio-mmio device i at base + i * 0x1000 */
#define PLAT_VIRTIO_SIZE   0x1000ull
#define PLAT_VIRTIO_GSI0   5                /* device i uses GSI 5 + i (skips 8: the RTC) */

/* Interrupt chips: 8259 pair, IOAPIC (24 pins), one LAPIC per vCPU (xAPIC MMIO and x2APIC MSRs,
 * timer one-shot/periodic/TSC-deadline, EOI, ICR incl. INIT/SIPI). lapic_attach installs vm->irqchip,
 * routing GSIs through the IOAPIC (and the PIC while the guest uses it) to the LAPICs. */
int pic_attach(struct vm *vm);
int ioapic_attach(struct vm *vm);
int lapic_attach(struct vm *vm);

/* Legacy devices. */
int pit_attach(struct vm *vm);                          /* i8254 at 0x40-0x43 (+ 0x61 gate), GSI 0 */
int rtc_attach(struct vm *vm);                          /* mc146818 at 0x70/0x71, host date and time, GSI 8 */
int i8042_attach(struct vm *vm);                        /* 0x60/0x64; 0xFE to 0x64 resets the VM */
int ns16550_attach(struct vm *vm, uint16_t port, int gsi);  /* UART; output to the VM's console ring */
int pmtimer_attach(struct vm *vm);                      /* ACPI PM timer at ACPI_PM_TMR_PORT (vmm/acpi.h) */

/* virtio 1.x devices on virtio-mmio (version 2) at PLAT_VIRTIO_BASE + i * PLAT_VIRTIO_SIZE. */
int virtio_blk_attach(struct vm *vm, int slot, struct blk_dev *disk);
int virtio_net_attach(struct vm *vm, int slot, const uint8_t mac[6]);
/*
 * Announce each virtio-net MAC of vm on the switch, as QEMU's self-announce does after a migration: one
 * RARP broadcast (ethertype 0x8035, "reverse request", sender and target the guest's MAC) from its port,
 * so switches and peers learn where the guest is now. Returns the frames sent.
 */
int virtio_net_announce(struct vm *vm);

/* I/O counters of a VM's virtio devices, summed over its disks / its NICs (for /metrics). */
struct virtio_io_stats {
    uint64_t disk_reads, disk_writes, disk_read_bytes, disk_write_bytes;   /* requests the guest submitted */
    uint64_t net_rx_frames, net_tx_frames, net_rx_drops, net_tx_drops;
};
/* Fill *st for vm (zeros for what it lacks). */
void virtio_io_stats(struct vm *vm, struct virtio_io_stats *st);
/* Add vm's disk counters to *st (virtio_io_stats' disk half, in virtio_blk.c). */
void virtio_blk_io_stats(struct vm *vm, struct virtio_io_stats *st);
#endif
