/* An empty PCI host bridge: configuration mechanism #1 and an ECAM window for bus 0, with only the bridge. */
#ifndef SHOAL_VMM_PCI_HOST_H
#define SHOAL_VMM_PCI_HOST_H
#include <stdint.h>

struct vm;

#define PCI_HOST_VENDOR 0x1B36           /* Red Hat, Inc.: the generic PCIe host bridge ID QEMU uses too */
#define PCI_HOST_DEVICE 0x0008

/*
 * Give vm a PCI bus 0 holding one function, a host bridge at 00:00.0 (class 06/00), reachable through
 * ports 0xCF8-0xCFF (PCI 3.0 3.2.2.3.2) and through ECAM at ecam_base (1 MiB, PCIe 4.0 7.2.2). Every other
 * function reads all-ones; writes change nothing. Linux then finds config space where the MCFG says,
 * scans bus 0 and finds nothing to drive. Returns 0 or a negative errno (no room for the ranges).
 */
int pci_host_attach(struct vm *vm, uint64_t ecam_base);
#endif
