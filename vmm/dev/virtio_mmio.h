/* The virtio-mmio transport, version 2 (virtio 1.x, 4.2.2): registers, features, queues, status, interrupts. */
#ifndef SHOAL_VMM_VIRTIO_MMIO_H
#define SHOAL_VMM_VIRTIO_MMIO_H
#include <stdint.h>
#include "vmm/dev/virtqueue.h"

struct vm;
struct snap;

#define VIRTIO_MMIO_MAGIC     0x74726976u    /* "virt" */
#define VIRTIO_VENDOR_SHOAL   0x4c414f53u    /* "SOAL" */
#define VIRTIO_QUEUES_MAX     2

/* Feature bits (6) and status bits (2.1). */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_VERSION_1      32
#define VIRTIO_STATUS_ACK          1
#define VIRTIO_STATUS_DRIVER       2
#define VIRTIO_STATUS_DRIVER_OK    4
#define VIRTIO_STATUS_FEATURES_OK  8
#define VIRTIO_STATUS_NEEDS_RESET  64
#define VIRTIO_STATUS_FAILED       128
/* InterruptStatus bits (4.2.2). */
#define VIRTIO_INT_USED    1
#define VIRTIO_INT_CONFIG  2

/* What a device type adds to the transport. */
struct virtio_dev_ops {
    const char *name;              /* in log lines: "virtio-blk" */
    uint32_t device_id;            /* 1 net, 2 block (5) */
    uint64_t features;             /* offered, besides VERSION_1 and INDIRECT_DESC */
    int nqueues;
    /* Device configuration space (offset from 0x100); 0 or negative errno (read gives 0). */
    int (*cfg_read)(void *dev, uint64_t off, int size, uint64_t *val);
    /* The driver notified queue q (DRIVER_OK set, q ready). */
    void (*notify)(void *dev, int q);
    /* The device was reset by the driver (status 0): drop device-side queue state. */
    void (*reset)(void *dev);
};

/* The transport's state: plain data, saved by virtio_mmio_snapshot. */
struct virtio_mmio_state {
    uint32_t version;              /* of this record */
    uint32_t status;
    uint32_t isr;
    uint32_t dev_feat_sel, drv_feat_sel;
    uint32_t queue_sel;
    uint32_t config_gen;
    uint32_t pad;
    uint64_t driver_features;
    struct vq_state q[VIRTIO_QUEUES_MAX];
};

struct virtio_mmio {
    struct virtio_mmio_state st;
    const struct virtio_dev_ops *ops;
    void *dev;                     /* the device type's own record */
    struct vm *vm;
    int slot, gsi;
    /* Per-queue generation, bumped whenever the queue stops (QueueReady=0, device reset): a request
     * taken under an older one is stale. Live state, not part of the snapshot; never goes back. */
    uint32_t qgen[VIRTIO_QUEUES_MAX];
    uint32_t complaints;           /* guest faults seen (log lines are rate-limited by it) */
    /* Notifications from vCPUs on other CPUs waiting for the boot CPU (vmm/dev/virtio_kick.c): one bit per
     * queue, and m's link in the pending list. Live state, not part of the snapshot (quiesce flushes it). */
    uint32_t kicked;
    int kick_queued;
    struct virtio_mmio *kick_next;
};

/*
 * QueueNotify for queue q (valid, ready, device live) from a vCPU: on the boot CPU returns 0 (the caller
 * hands it to the device now); on another CPU records it for the boot CPU's poll loop, kicks that CPU and
 * returns 1.
 */
int virtio_kick_defer(struct virtio_mmio *m, int q);
/* Hand m's recorded notifications to its device now (on the boot CPU: quiesce) and take m off the list. */
void virtio_kick_flush(struct virtio_mmio *m);
/* Drop m's recorded notifications and take it off the list (the device is destroyed). */
void virtio_kick_forget(struct virtio_mmio *m);
/* The boot CPU's poll loop: flush every device on the list. 1 when there was one, else 0. */
int virtio_kick_poll(void);
/* Notifications from vCPUs on other CPUs handed to the boot CPU since boot (for `sched`). */
uint64_t virtio_kick_handed(void);

/* Register m's window for slot on vm (ops, dev filled by the caller). 0, -EINVAL bad slot, or what
 * vm_register_mmio returns. */
int virtio_mmio_register(struct virtio_mmio *m, struct vm *vm, int slot);
/*
 * Reset the device as a driver's status write of 0 does (4.2.2.1): registers and queues back to their
 * initial state, every queue's generation bumped (requests in flight become stale: their completions
 * write nothing to guest memory), then the device type's reset op. For a VM reset as well: the record
 * virtio_blk_attach and virtio_net_attach make starts with its struct virtio_mmio, so that pointer will do.
 */
void virtio_mmio_reset(struct virtio_mmio *m);
/* The generation of queue q (0 <= q < ops->nqueues) to record with a request taken from it now. */
uint32_t virtio_mmio_queue_gen(const struct virtio_mmio *m, int q);
/* 1 when a request taken from queue q under generation gen may still be completed: the device is live,
 * q is ready and has not stopped since. Every completion checks this before touching guest memory. */
int virtio_mmio_queue_current(const struct virtio_mmio *m, int q, uint32_t gen);
/* 1 when the driver finished setup (DRIVER_OK) and the device is not broken. */
int virtio_mmio_live(const struct virtio_mmio *m);
/* The VM is reset (its device registry's reset hook): the driver's status-0 reset of the device whose record
 * starts with the struct virtio_mmio m. */
void virtio_mmio_vm_reset(struct vm *vm, void *m);
/* Raise InterruptStatus bits and pulse the device's GSI (edge-triggered, active high). */
void virtio_mmio_interrupt(struct virtio_mmio *m, uint32_t bits);
/* Used-buffer interrupt for q unless the driver suppressed it. */
void virtio_mmio_used(struct virtio_mmio *m, int q);
/* The driver broke the device's rules (a corrupt ring): NEEDS_RESET (2.1.1) and a config interrupt;
 * the device ignores its queues until reset. what (and detail, when not NULL) is logged once. */
void virtio_mmio_fail(struct virtio_mmio *m, const char *what, const char *detail);
/* vq_pop on queue q refused with rc: -EINVAL (a malformed chain) is logged with c->why and c->head is
 * returned used with length 0, the device goes on (returns 0); -EIO (the ring) fails the device with
 * c->why (returns -1, as when the used ring cannot be written). Log lines are rate-limited per device. */
int virtio_mmio_refused(struct virtio_mmio *m, int q, int rc, const struct vq_chain *c);
/* MMIO handlers (offsets from the window), exported for tests. 0 or negative errno. */
int virtio_mmio_read(void *mp, uint64_t off, int size, uint64_t *val);
int virtio_mmio_write(void *mp, uint64_t off, int size, uint64_t val);
/* Walk the transport state (save or restore). */
void virtio_mmio_snapshot(struct virtio_mmio_state *st, struct snap *s);
/* After a restore into m (s restoring): refuse (snap_fail) a queue the guest could not have made ready
 * (rings outside RAM, misaligned, a bad size) or a queue beyond the device's. Nothing when saving. */
void virtio_mmio_restored(struct virtio_mmio *m, struct snap *s);
/* Each device's snapshot: the transport state, then its own plain-data record (dev as attached).
 * Requests in flight are not part of it: snapshot a quiesced (paused, no I/O outstanding) device. */
void virtio_blk_snapshot(void *dev, struct snap *s);
/* Requests of the virtio-blk dev (as attached) the disk has not completed yet, stale ones included: their
 * data may still be placed into the guest buffers they were given, so guest RAM must stay allocated (and
 * a reset guest stopped) until this is 0. */
int virtio_blk_inflight(const void *dev);
void virtio_net_snapshot(void *dev, struct snap *s);
#endif
