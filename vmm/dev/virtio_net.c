/* virtio-net (virtio 1.x, 5.1) on virtio-mmio: MAC, link status, one rx/tx queue pair on the virtual switch. */
#include "vmm/dev/devices.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/snapshot.h"
#include "vmm/vm.h"
#include "net/vswitch.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/printf.h"

#define VIRTIO_NET_F_MAC     5
#define VIRTIO_NET_F_STATUS  16
#define VIRTIO_NET_S_LINK_UP 1
#define VNET_HDR_LEN         12      /* struct virtio_net_hdr with num_buffers: always, with VERSION_1 (5.1.6) */
#define VNET_RXQ 0
#define VNET_TXQ 1

/* Plain-data device state (the transport's lives in mmio.st). */
struct vnet_state {
    uint8_t mac[6];
    uint16_t status;
    uint64_t rx_frames, tx_frames, rx_drops, tx_drops;
};

struct vnet {
    struct virtio_mmio mmio;           /* first: virtio_mmio_reset takes the record as attached */
    struct vnet_state st;
    int port;                          /* on the switch */
    int rehome;                        /* restored with another MAC than the port's: move the port to it */
    char name[16];                     /* the port's name */
};

/*
 * A restored guest keeps the MAC its driver read: the switch port moves to it, as soon as no other
 * port holds it (the source of a move on this host holds it until it is destroyed). Until then the
 * port-security of the old port drops the guest's frames, as they would be on a wire being re-cabled.
 */
static void vnet_rx(void *dp, const void *frame, size_t len);

static void vnet_rehome(struct vnet *d)
{
    struct vswitch *sw = vswitch_default();
    int port;
    d->rehome = 0;
    if (!memcmp(sw->port[d->port].mac, d->st.mac, 6))
        return;
    if ((port = vswitch_port_add(sw, d->name, vnet_rx, d, d->st.mac)) < 0) {
        d->rehome = 1;
        return;
    }
    vswitch_port_remove(sw, d->port);
    d->port = port;
}

static int vnet_cfg_read(void *dp, uint64_t off, int size, uint64_t *val)
{
    struct vnet *d = dp;
    uint8_t cfg[8];
    memcpy(cfg, d->st.mac, 6);         /* 5.1.4: mac[6], status */
    memcpy(cfg + 6, &d->st.status, 2);
    *val = 0;
    if (off < sizeof(cfg) && size <= 8 && off + (uint64_t)size <= sizeof(cfg))
        memcpy(val, cfg + off, (size_t)size);
    return 0;
}

/*
 * The switch delivers a frame: fill one receive chain with the header and the frame (5.1.6.4). Only while
 * the VM runs: a paused VM's RAM must not change (a migration's last copy has been taken), so its frames
 * are dropped, as on a wire to a stopped machine; TCP peers retransmit.
 */
static void vnet_rx(void *dp, const void *frame, size_t len)
{
    static struct vq_chain c;
    struct vnet *d = dp;
    struct virtio_mmio *m = &d->mmio;
    uint8_t hdr[VNET_HDR_LEN] = { 0 };
    if (m->vm->state != VM_RUNNING) {
        d->st.rx_drops++;
        return;
    }
    for (;;) {
        int rc = virtio_mmio_live(m) ? vq_pop(m->vm, &m->st.q[VNET_RXQ], &c) : 0;
        if (rc == 0) {
            d->st.rx_drops++;          /* no buffer posted: the frame is lost, as on a wire */
            return;
        }
        if (rc < 0) {
            if (virtio_mmio_refused(m, VNET_RXQ, rc, &c) < 0)
                return;
            continue;
        }
        break;
    }
    hdr[10] = 1;                       /* num_buffers */
    uint32_t used = 0;
    if (c.in_len >= VNET_HDR_LEN + len && vq_copy_to(m->vm, &c, 0, hdr, VNET_HDR_LEN) == VNET_HDR_LEN &&
        vq_copy_to(m->vm, &c, VNET_HDR_LEN, frame, len) == (long)len) {
        used = (uint32_t)(VNET_HDR_LEN + len);
        d->st.rx_frames++;
    } else {
        d->st.rx_drops++;
    }
    if (vq_push(m->vm, &m->st.q[VNET_RXQ], c.head, used) < 0) {
        virtio_mmio_fail(m, "used ring not writable", NULL);
        return;
    }
    virtio_mmio_used(m, VNET_RXQ);
}

/* The guest sent: every transmit chain is header + frame; frames go to the switch (5.1.6.2). */
static void vnet_tx(struct vnet *d)
{
    static struct vq_chain c;
    static uint8_t frame[VNET_HDR_LEN + VSW_FRAME_MAX];
    struct virtio_mmio *m = &d->mmio;
    int sent = 0;
    while (virtio_mmio_live(m)) {
        int rc = vq_pop(m->vm, &m->st.q[VNET_TXQ], &c);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (virtio_mmio_refused(m, VNET_TXQ, rc, &c) < 0)
                return;
            continue;
        }
        long n = c.out_len <= sizeof(frame) ? vq_copy_from(m->vm, &c, 0, frame, c.out_len) : -1;
        if (d->rehome)
            vnet_rehome(d);
        if (n > VNET_HDR_LEN && (uint32_t)n == c.out_len) {
            d->st.tx_frames++;
            vswitch_input(vswitch_default(), d->port, frame + VNET_HDR_LEN, (size_t)n - VNET_HDR_LEN);
        } else {
            d->st.tx_drops++;
        }
        if (vq_push(m->vm, &m->st.q[VNET_TXQ], c.head, 0) < 0) {
            virtio_mmio_fail(m, "used ring not writable", NULL);
            return;
        }
        sent++;
    }
    if (sent)
        virtio_mmio_used(m, VNET_TXQ);
}

static void vnet_notify(void *dp, int q)
{
    if (q == VNET_TXQ)
        vnet_tx(dp);                   /* new receive buffers need nothing until a frame comes */
}

static const struct virtio_dev_ops vnet_ops = {
    .name = "virtio-net", .device_id = 1, .nqueues = 2, .cfg_read = vnet_cfg_read, .notify = vnet_notify,
    .features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS),
};

/* Frames the guest queued from another CPU go out before the last copy (nothing stays in flight). */
static int vnet_quiesce(struct vm *vm, void *dp)
{
    struct vnet *d = dp;
    (void)vm;
    virtio_kick_flush(&d->mmio);
    return 0;
}

static void vnet_destroy(struct vm *vm, void *arg)
{
    struct vnet *d = arg;
    (void)vm;
    virtio_kick_forget(&d->mmio);
    vswitch_port_remove(vswitch_default(), d->port);
    kfree(d);
}

void virtio_net_snapshot(void *dp, struct snap *s)
{
    struct vnet *d = dp;
    virtio_mmio_snapshot(&d->mmio.st, s);
    virtio_mmio_restored(&d->mmio, s);
    snap_header(s, 0x54454e56 /* "VNET" */, 1);
    SNAP(s, d->st);
    if (!s->save && !s->err && (d->st.mac[0] & 1))
        snap_fail(s, "virtio-net MAC is a group address");
}

static void vnet_post_restore(struct vm *vm, void *dp)
{
    (void)vm;
    vnet_rehome(dp);
}

/* A RARP "request reverse" for mac (RFC 903), padded to Ethernet's 60-byte minimum. */
static void rarp_frame(uint8_t f[60], const uint8_t mac[6])
{
    static const uint8_t head[] = { 0x80, 0x35, 0, 1, 0x08, 0x00, 6, 4, 0, 3 };
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    memcpy(f + 12, head, sizeof(head));
    memcpy(f + 22, mac, 6);                /* sender hardware address; sender IP 0 */
    memcpy(f + 32, mac, 6);                /* target hardware address; target IP 0 */
}

int virtio_net_announce(struct vm *vm)
{
    uint8_t f[60];
    int n = 0;
    for (int i = 0; i < vm->ndevs; i++) {
        struct vnet *d = vm->devs[i].dev;
        if (vm->devs[i].snapshot != virtio_net_snapshot)
            continue;
        if (d->rehome)
            vnet_rehome(d);
        rarp_frame(f, d->st.mac);
        vswitch_input(vswitch_default(), d->port, f, sizeof(f));
        n++;
    }
    return n;
}

int virtio_net_attach(struct vm *vm, int slot, const uint8_t mac[6])
{
    struct vnet *d = kzalloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    memcpy(d->st.mac, mac, 6);
    d->st.status = VIRTIO_NET_S_LINK_UP;
    d->mmio.ops = &vnet_ops;
    d->mmio.dev = d;
    ksnprintf(d->name, sizeof(d->name), "%s.%d", vm->name, slot);
    d->port = vswitch_port_add(vswitch_default(), d->name, vnet_rx, d, mac);
    struct vm_dev reg = { "virtio-net", virtio_net_snapshot, vnet_post_restore, vnet_quiesce, virtio_mmio_vm_reset,
                          vnet_destroy, d };
    int rc = d->port < 0 ? d->port : virtio_mmio_register(&d->mmio, vm, slot);
    if (rc == 0)
        rc = vm_dev_register(vm, &reg);
    if (rc < 0) {
        if (d->port >= 0)
            vswitch_port_remove(vswitch_default(), d->port);
        kfree(d);
        return rc;
    }
    log_info("vm %s: virtio-net slot %d: MAC %02x:%02x:%02x:%02x:%02x:%02x, switch port %d", vm->name, slot,
             mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], d->port);
    return 0;
}

void virtio_io_stats(struct vm *vm, struct virtio_io_stats *st)
{
    memset(st, 0, sizeof(*st));
    virtio_blk_io_stats(vm, st);
    for (int i = 0; i < vm->ndevs; i++) {
        const struct vnet *d = vm->devs[i].dev;
        if (strcmp(vm->devs[i].name, "virtio-net") || !d)
            continue;
        st->net_rx_frames += d->st.rx_frames;
        st->net_tx_frames += d->st.tx_frames;
        st->net_rx_drops += d->st.rx_drops;
        st->net_tx_drops += d->st.tx_drops;
    }
}
