/* Intel 8254x (82540EM "e1000") and 82574L ("e1000e") host NIC driver: legacy descriptors, polled. */
#ifndef SHOAL_DRIVERS_E1000_H
#define SHOAL_DRIVERS_E1000_H
#include "drivers/nic.h"

/* The driver descriptor (match by PCI id, attach): also declared in drivers/nic.h. */
extern const struct nic_driver e1000_driver;
#endif
