/* virtio-net over modern virtio-pci (virtio 1.1 spec 4.1 transport, 2.6 split queues, 5.1 net device). */
#include "drivers/virtio_net.h"
#include "drivers/pci.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/pmm.h"
#include "kernel/time.h"
#include "arch/x86/paging.h"

/* PCI capability types (virtio 1.1 4.1.4). */
#define PCI_CAP_VENDOR      0x09
#define CAP_COMMON          1
#define CAP_NOTIFY          2
#define CAP_DEVICE          4

/* Common configuration structure offsets (virtio 1.1 4.1.4.3). */
#define CC_DFSELECT   0
#define CC_DF         4
#define CC_GFSELECT   8
#define CC_GF         12
#define CC_MSIX       16
#define CC_STATUS     20
#define CC_Q_SELECT   22
#define CC_Q_SIZE     24
#define CC_Q_MSIX     26
#define CC_Q_ENABLE   28
#define CC_Q_NOFF     30
#define CC_Q_DESC     32
#define CC_Q_DRIVER   40
#define CC_Q_DEVICE   48

#define ST_ACK        1
#define ST_DRIVER     2
#define ST_DRIVER_OK  4
#define ST_FEATURES_OK 8
#define ST_FAILED     128

#define F_MAC         (1ull << 5)
#define F_STATUS      (1ull << 16)
#define F_VERSION_1   (1ull << 32)
#define NET_S_LINK_UP 1
#define NO_VECTOR     0xffff

#define VRING_DESC_F_WRITE 2
#define QN            256
#define BUF_SIZE      2048
#define HDR_LEN       12   /* struct virtio_net_hdr with num_buffers: always with VERSION_1 (5.1.6) */

struct vq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vq_avail { uint16_t flags, idx, ring[QN], used_event; };
struct vq_used_elem { uint32_t id, len; };
struct vq_used { uint16_t flags, idx; struct vq_used_elem ring[QN]; uint16_t avail_event; };

struct vq {
    uint16_t index, size;
    volatile struct vq_desc *desc;
    volatile struct vq_avail *avail;
    volatile struct vq_used *used;
    uint8_t *buf;                      /* size * BUF_SIZE bytes, buffer i for descriptor i */
    uint16_t avail_idx, last_used;
    volatile uint16_t *notify;
    uint16_t free_ids[QN];
    int nfree;
};

struct vnet {
    struct nic nic;
    volatile uint8_t *common, *device, *notify_base;
    uint32_t notify_mult;
    struct vq rx, tx;
};

#define barrier() __asm__ volatile("" ::: "memory")
static uint8_t  c8(struct vnet *v, int o) { return *(volatile uint8_t *)(v->common + o); }
static uint16_t c16(struct vnet *v, int o) { return *(volatile uint16_t *)(v->common + o); }
static uint32_t c32(struct vnet *v, int o) { return *(volatile uint32_t *)(v->common + o); }
static void w8(struct vnet *v, int o, uint8_t x) { *(volatile uint8_t *)(v->common + o) = x; }
static void w16(struct vnet *v, int o, uint16_t x) { *(volatile uint16_t *)(v->common + o) = x; }
static void w32(struct vnet *v, int o, uint32_t x) { *(volatile uint32_t *)(v->common + o) = x; }
static void w64(struct vnet *v, int o, uint64_t x) { w32(v, o, (uint32_t)x); w32(v, o + 4, (uint32_t)(x >> 32)); }

static const char *vnet_match(const struct pci_dev *d)
{
    /* 1041: modern-only; 1000: transitional (attach fails cleanly when it lacks modern capabilities). */
    if (d->vendor == 0x1af4 && (d->device == 0x1041 || d->device == 0x1000))
        return "virtio-net";
    return NULL;
}

/* Map a capability's window: BAR base + offset, bounds-checked against the BAR size. */
static volatile uint8_t *cap_window(const struct pci_dev *d, uint8_t cap)
{
    uint8_t bar = pci_read8(d, cap + 4);
    uint32_t off = pci_read32(d, cap + 8), len = pci_read32(d, cap + 12);
    if (bar > 5 || d->bar[bar].is_io || !d->bar[bar].base || (uint64_t)off + len > d->bar[bar].size)
        return NULL;
    uint64_t top = d->bar[bar].base + d->bar[bar].size;
    if (top > paging_mapped_top() && paging_map_identity(top) < 0)
        return NULL;
    return (volatile uint8_t *)(d->bar[bar].base + off);
}

/* Walk the capability list (bounded) for the virtio vendor capabilities we need. */
static int find_caps(struct vnet *v, const struct pci_dev *d)
{
    if (!(pci_read16(d, 0x06) & (1u << 4)))
        return -ENODEV;
    uint8_t p = pci_read8(d, 0x34) & 0xfc;
    for (int n = 0; p && n < 48; n++, p = pci_read8(d, p + 1) & 0xfc) {
        if (pci_read8(d, p) != PCI_CAP_VENDOR)
            continue;
        uint8_t type = pci_read8(d, p + 3);
        if (type == CAP_COMMON && !v->common)
            v->common = cap_window(d, p);
        else if (type == CAP_DEVICE && !v->device)
            v->device = cap_window(d, p);
        else if (type == CAP_NOTIFY && !v->notify_base) {
            v->notify_base = cap_window(d, p);
            v->notify_mult = pci_read32(d, p + 16);
        }
    }
    return v->common && v->device && v->notify_base ? 0 : -ENODEV;
}

/* Negotiate VERSION_1 + MAC + STATUS (virtio 1.1 3.1.1 steps 1-6). */
static int negotiate(struct vnet *v)
{
    w8(v, CC_STATUS, 0);
    for (int i = 0; c8(v, CC_STATUS) != 0; i++) {
        if (i > 1000)
            return -ETIMEDOUT;
        time_delay_ns(10000);
    }
    w8(v, CC_STATUS, ST_ACK);
    w8(v, CC_STATUS, ST_ACK | ST_DRIVER);
    w32(v, CC_DFSELECT, 0);
    uint64_t have = c32(v, CC_DF);
    w32(v, CC_DFSELECT, 1);
    have |= (uint64_t)c32(v, CC_DF) << 32;
    if (!(have & F_VERSION_1))
        return -ENOTSUP;
    uint64_t want = have & (F_VERSION_1 | F_MAC | F_STATUS);
    w32(v, CC_GFSELECT, 0);
    w32(v, CC_GF, (uint32_t)want);
    w32(v, CC_GFSELECT, 1);
    w32(v, CC_GF, (uint32_t)(want >> 32));
    w8(v, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    if (!(c8(v, CC_STATUS) & ST_FEATURES_OK))
        return -ENOTSUP;
    for (int i = 0; i < 6; i++)
        v->nic.mac[i] = (want & F_MAC) ? v->device[i] : (uint8_t)(i == 0 ? 0x52 : i);
    return 0;
}

/* Set up virtqueue index with up to QN entries: desc, avail, used on separate pages; buffers. */
static int vq_init(struct vnet *v, struct vq *q, uint16_t index)
{
    w16(v, CC_Q_SELECT, index);
    uint16_t size = c16(v, CC_Q_SIZE);
    if (size == 0)
        return -ENODEV;
    if (size > QN)
        size = QN;
    uint64_t ring = pmm_alloc(3, 1), buf = pmm_alloc((size_t)size * BUF_SIZE / PAGE_SIZE + 1, 1);
    if (!ring || !buf)
        return -ENOMEM;
    memset((void *)ring, 0, 3 * PAGE_SIZE);
    q->index = index;
    q->size = size;
    q->desc = (volatile struct vq_desc *)ring;
    q->avail = (volatile struct vq_avail *)(ring + PAGE_SIZE);
    q->used = (volatile struct vq_used *)(ring + 2 * PAGE_SIZE);
    q->buf = (uint8_t *)buf;
    for (uint16_t i = 0; i < size; i++) {
        q->desc[i].addr = buf + (uint64_t)i * BUF_SIZE;
        q->free_ids[i] = (uint16_t)(size - 1 - i);
    }
    q->nfree = size;
    w16(v, CC_Q_SIZE, size);
    w16(v, CC_Q_MSIX, NO_VECTOR);
    w64(v, CC_Q_DESC, ring);
    w64(v, CC_Q_DRIVER, ring + PAGE_SIZE);
    w64(v, CC_Q_DEVICE, ring + 2 * PAGE_SIZE);
    q->notify = (volatile uint16_t *)(v->notify_base + (uint32_t)c16(v, CC_Q_NOFF) * v->notify_mult);
    w16(v, CC_Q_ENABLE, 1);
    return 0;
}

/* Offer descriptor id to the device (publish after the ring entry: 2.6.13). */
static void vq_push(struct vq *q, uint16_t id)
{
    q->avail->ring[q->avail_idx % q->size] = id;
    barrier();
    q->avail_idx++;
    q->avail->idx = q->avail_idx;
}

/* Notify the device unless it asked not to be (VIRTQ_USED_F_NO_NOTIFY, virtio 1.1 2.6.10). */
static void vq_kick(struct vq *q)
{
    __asm__ volatile("mfence" ::: "memory");   /* avail idx visible before reading used flags */
    if (!(q->used->flags & 1))
        *q->notify = q->index;
}

static int vnet_send(struct nic *n, const void *frame, size_t len)
{
    struct vnet *v = n->priv;
    struct vq *q = &v->tx;
    if (len == 0 || len > NIC_MTU_FRAME)
        return -EINVAL;
    while (q->last_used != q->used->idx) {     /* reclaim finished transmissions */
        barrier();
        uint32_t id = q->used->ring[q->last_used % q->size].id;
        if (id < q->size && q->nfree < q->size)
            q->free_ids[q->nfree++] = (uint16_t)id;
        q->last_used++;
    }
    if (q->nfree == 0) {
        n->stats.tx_drops++;
        return -EAGAIN;
    }
    uint16_t id = q->free_ids[--q->nfree];
    uint8_t *b = q->buf + (size_t)id * BUF_SIZE;
    memset(b, 0, HDR_LEN);
    memcpy(b + HDR_LEN, frame, len);
    q->desc[id].len = (uint32_t)(HDR_LEN + len);
    q->desc[id].flags = 0;
    vq_push(q, id);
    vq_kick(q);
    n->stats.tx_packets++;
    n->stats.tx_bytes += len;
    return 0;
}

static int vnet_poll(struct nic *n, nic_rx_fn rx, void *arg, int budget)
{
    struct vnet *v = n->priv;
    struct vq *q = &v->rx;
    int got = 0;
    while (got < budget && q->last_used != q->used->idx) {
        barrier();
        volatile struct vq_used_elem *e = &q->used->ring[q->last_used % q->size];
        uint32_t id = e->id, len = e->len;
        q->last_used++;
        got++;
        if (id >= q->size) {            /* a device bug: never index with it */
            n->stats.rx_errors++;
            continue;
        }
        if (len <= HDR_LEN || len > BUF_SIZE) {
            n->stats.rx_errors++;
        } else {
            n->stats.rx_packets++;
            n->stats.rx_bytes += len - HDR_LEN;
            rx(arg, q->buf + (size_t)id * BUF_SIZE + HDR_LEN, len - HDR_LEN);
        }
        vq_push(q, (uint16_t)id);
    }
    if (got)
        vq_kick(q);
    return got;
}

static int vnet_rx_ready(struct nic *n)
{
    struct vnet *v = n->priv;
    return v->rx.last_used != v->rx.used->idx;
}

static int vnet_link_up(struct nic *n)
{
    struct vnet *v = n->priv;
    return (*(volatile uint16_t *)(v->device + 6) & NET_S_LINK_UP) != 0;
}

static const struct nic_ops vnet_ops = {
    .send = vnet_send, .poll = vnet_poll, .rx_ready = vnet_rx_ready, .link_up = vnet_link_up,
};

/* Fill the RX queue with every buffer, writable by the device. */
static void rx_fill(struct vq *q)
{
    for (uint16_t i = 0; i < q->size; i++) {
        q->desc[i].len = BUF_SIZE;
        q->desc[i].flags = VRING_DESC_F_WRITE;
        vq_push(q, i);
    }
    q->nfree = 0;
}

static int vnet_attach(const struct pci_dev *d, struct nic **out)
{
    struct vnet *v = kzalloc(sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->nic.model = "virtio-net";
    v->nic.pci = d;
    v->nic.ops = &vnet_ops;
    v->nic.priv = v;
    pci_enable(d);
    int rc = find_caps(v, d);
    if (rc == 0)
        rc = negotiate(v);
    if (rc == 0) {
        w16(v, CC_MSIX, NO_VECTOR);
        rc = vq_init(v, &v->rx, 0);
    }
    if (rc == 0)
        rc = vq_init(v, &v->tx, 1);
    if (rc < 0) {
        if (v->common)
            w8(v, CC_STATUS, ST_FAILED);
        log_err("virtio-net: %02x:%02x.%x: init failed (%d)", d->bus, d->dev, d->fn, rc);
        kfree(v);
        return rc;
    }
    rx_fill(&v->rx);
    w8(v, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    *v->rx.notify = v->rx.index;
    *out = &v->nic;
    return 0;
}

const struct nic_driver virtio_net_driver = { "virtio-net", vnet_match, vnet_attach };
