/* virtio-net host NIC driver: virtio 1.x modern PCI transport, split virtqueues, polled. */
#ifndef SHOAL_DRIVERS_VIRTIO_NET_H
#define SHOAL_DRIVERS_VIRTIO_NET_H
#include "drivers/nic.h"

/* The driver descriptor (match by PCI id, attach): also declared in drivers/nic.h. */
extern const struct nic_driver virtio_net_driver;
#endif
