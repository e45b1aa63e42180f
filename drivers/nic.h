/* The host NIC interface every NIC driver implements: send a frame, poll received frames, MAC, link, counters. */
#ifndef SHOAL_DRIVERS_NIC_H
#define SHOAL_DRIVERS_NIC_H
#include <stddef.h>
#include <stdint.h>
#include "drivers/pci.h"

#define NIC_MTU_FRAME 1514   /* largest Ethernet frame without FCS the drivers send or accept */

struct nic_stats {
    uint64_t rx_packets, rx_bytes, rx_errors, rx_drops;
    uint64_t tx_packets, tx_bytes, tx_errors, tx_drops;
};

/* Called by nic_ops.poll for each good received frame; the frame is only valid during the call. */
typedef void (*nic_rx_fn)(void *arg, const void *frame, size_t len);

struct nic;
struct nic_ops {
    /* Queue one frame (len <= NIC_MTU_FRAME) for sending; copies it. 0, -EAGAIN when the ring is full, -EINVAL. */
    int (*send)(struct nic *n, const void *frame, size_t len);
    /* Hand up to budget received frames to rx(arg, ...) and refill the ring. Returns the frames handed up. */
    int (*poll)(struct nic *n, nic_rx_fn rx, void *arg, int budget);
    /* 1 when a received frame waits for poll, else 0. Reads only the ring in memory (no device register),
     * so that it is cheap enough to ask at every VM exit. */
    int (*rx_ready)(struct nic *n);
    /* 1 when the link is up, 0 when down. */
    int (*link_up)(struct nic *n);
    /* Fold hardware counters into n->stats (optional; NULL when the driver counts everything itself). */
    void (*refresh_stats)(struct nic *n);
};

struct nic {
    const char *model;            /* "e1000", "e1000e", "virtio-net" */
    uint8_t mac[6];
    const struct pci_dev *pci;
    const struct nic_ops *ops;
    struct nic_stats stats;
    void *priv;                   /* driver state */
};

struct nic_driver {
    const char *name;             /* driver name for logs */
    /* The model name this driver would give d ("e1000", ...), or NULL when d is not its device. */
    const char *(*match)(const struct pci_dev *d);
    /* Reset and start d. Returns 0 and stores the NIC in *out, or negative errno (device left disabled). */
    int (*attach)(const struct pci_dev *d, struct nic **out);
};

extern const struct nic_driver e1000_driver;
extern const struct nic_driver virtio_net_driver;
#endif
