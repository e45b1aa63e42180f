/* PCI: enumeration (ECAM when MCFG exists, else configuration mechanism 1), config access, BARs. */
#ifndef SHOAL_DRIVERS_PCI_H
#define SHOAL_DRIVERS_PCI_H
#include <stdint.h>

/* Scan every bus; log what was found. Returns the number of functions found. */
int pci_init(void);
#endif
