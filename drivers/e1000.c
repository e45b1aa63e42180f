/* Intel 82540EM (e1000) and 82574L (e1000e) driver: reset, legacy RX/TX rings, polled (8254x SDM, 82574 DS). */
#include "drivers/e1000.h"
#include "drivers/pci.h"
#include "kernel/byteorder.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/pmm.h"
#include "kernel/time.h"
#include "arch/x86/paging.h"

/* Register offsets (8254x SDM 13.4; the 82574L keeps these legacy offsets). */
#define REG_CTRL    0x0000
#define REG_STATUS  0x0008
#define REG_EERD    0x0014
#define REG_ICR     0x00c0
#define REG_IMC     0x00d8
#define REG_RCTL    0x0100
#define REG_TCTL    0x0400
#define REG_TIPG    0x0410
#define REG_RDBAL   0x2800
#define REG_RDBAH   0x2804
#define REG_RDLEN   0x2808
#define REG_RDH     0x2810
#define REG_RDT     0x2818
#define REG_TDBAL   0x3800
#define REG_TDBAH   0x3804
#define REG_TDLEN   0x3808
#define REG_TDH     0x3810
#define REG_TDT     0x3818
#define REG_MPC     0x4010      /* missed packets (no RX descriptor), clear on read */
#define REG_MTA     0x5200
#define REG_RAL0    0x5400
#define REG_RAH0    0x5404

#define CTRL_SLU    (1u << 6)
#define CTRL_RST    (1u << 26)
#define STATUS_LU   (1u << 1)
#define RAH_AV      (1u << 31)
#define RCTL_EN     (1u << 1)
#define RCTL_UPE    (1u << 3)    /* unicast promiscuous: the guests' MACs behind the virtual switch */
#define RCTL_MPE    (1u << 4)    /* multicast promiscuous (8254x SDM 13.4.22) */
#define RCTL_BAM    (1u << 15)
#define RCTL_SECRC  (1u << 26)   /* strip the Ethernet CRC; BSIZE 00 = 2048-byte buffers */
#define TCTL_EN     (1u << 1)
#define TCTL_PSP    (1u << 3)
#define TCTL_CT     (0x0fu << 4)
#define TCTL_COLD   (0x40u << 12) /* full duplex (8254x SDM 13.4.33) */
#define TIPG_COPPER 0x0060200au   /* IPGT 10, IPGR1 8, IPGR2 6 (8254x SDM 13.4.34) */

#define DESC_DD     0x01
#define DESC_EOP    0x02
#define TXCMD_EOP   0x01
#define TXCMD_IFCS  0x02
#define TXCMD_RS    0x08

#define RING_N      256
#define BUF_SIZE    2048

struct rx_desc { uint64_t addr; uint16_t len, csum; uint8_t status, errors; uint16_t special; } __attribute__((packed));
struct tx_desc { uint64_t addr; uint16_t len; uint8_t cso, cmd, status, css; uint16_t special; } __attribute__((packed));

struct e1000 {
    struct nic nic;
    volatile uint8_t *mmio;
    volatile struct rx_desc *rx;
    volatile struct tx_desc *tx;
    uint8_t *rx_buf, *tx_buf;
    unsigned rx_next;             /* next RX descriptor the device will complete */
    unsigned tx_tail, tx_clean;   /* next TX slot to fill; oldest slot not yet reclaimed */
    int is_82574;
};

static uint32_t rd(struct e1000 *e, uint32_t reg) { return *(volatile uint32_t *)(e->mmio + reg); }
static void wr(struct e1000 *e, uint32_t reg, uint32_t v) { *(volatile uint32_t *)(e->mmio + reg) = v; }
#define barrier() __asm__ volatile("" ::: "memory")

static const char *e1000_match(const struct pci_dev *d)
{
    if (d->vendor != 0x8086)
        return NULL;
    switch (d->device) {
    case 0x100e: case 0x100f: case 0x1004: return "e1000";  /* 82540EM, 82545EM, 82543GC */
    case 0x10d3: return "e1000e";                           /* 82574L */
    default: return NULL;
    }
}

/* Read one EEPROM word through EERD; the done/address bits moved on the 82574 (82574 DS 10.2.2.4). */
static int eeprom_read(struct e1000 *e, unsigned word, uint16_t *out)
{
    uint32_t start = e->is_82574 ? ((word << 2) | 1) : ((word << 8) | 1);
    uint32_t done = e->is_82574 ? (1u << 1) : (1u << 4);
    wr(e, REG_EERD, start);
    for (int i = 0; i < 100000; i++) {
        uint32_t v = rd(e, REG_EERD);
        if (v & done) {
            *out = (uint16_t)(v >> 16);
            return 0;
        }
    }
    return -ETIMEDOUT;
}

/* The MAC from receive address 0 (loaded from the EEPROM at reset), else from EEPROM words 0-2. */
static int read_mac(struct e1000 *e)
{
    uint32_t ral = rd(e, REG_RAL0), rah = rd(e, REG_RAH0);
    if ((rah & RAH_AV) && (ral || (rah & 0xffff))) {
        put_le32(e->nic.mac, ral);
        put_le16(e->nic.mac + 4, (uint16_t)rah);
        return 0;
    }
    for (unsigned w = 0; w < 3; w++) {
        uint16_t v;
        if (eeprom_read(e, w, &v) < 0)
            return -EIO;
        put_le16(e->nic.mac + 2 * w, v);
    }
    wr(e, REG_RAL0, get_le32(e->nic.mac));
    wr(e, REG_RAH0, get_le16(e->nic.mac + 4) | RAH_AV);
    return 0;
}

/* Global reset, interrupts masked (we poll), link forced up (8254x SDM 14.3, 14.5). */
static int hw_reset(struct e1000 *e)
{
    wr(e, REG_IMC, 0xffffffffu);
    wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_RST);
    time_delay_ns(1000000);
    for (int i = 0; rd(e, REG_CTRL) & CTRL_RST; i++) {
        if (i > 1000)
            return -ETIMEDOUT;
        time_delay_ns(10000);
    }
    wr(e, REG_IMC, 0xffffffffu);
    (void)rd(e, REG_ICR);
    wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_SLU);
    for (int i = 0; i < 128; i++)
        wr(e, REG_MTA + 4 * i, 0);
    return 0;
}

/* Allocate the rings and buffers and start RX (all descriptors but one owned by the device) and TX. */
static int rings_init(struct e1000 *e)
{
    uint64_t rxr = pmm_alloc(1, 1), txr = pmm_alloc(1, 1);
    uint64_t rxb = pmm_alloc(RING_N * BUF_SIZE / PAGE_SIZE, 1), txb = pmm_alloc(RING_N * BUF_SIZE / PAGE_SIZE, 1);
    if (!rxr || !txr || !rxb || !txb)
        return -ENOMEM;   /* pages stay allocated: attach failure is a boot-time event */
    e->rx = (volatile struct rx_desc *)rxr;
    e->tx = (volatile struct tx_desc *)txr;
    e->rx_buf = (uint8_t *)rxb;
    e->tx_buf = (uint8_t *)txb;
    memset((void *)rxr, 0, PAGE_SIZE);
    memset((void *)txr, 0, PAGE_SIZE);
    for (unsigned i = 0; i < RING_N; i++) {
        e->rx[i].addr = rxb + (uint64_t)i * BUF_SIZE;
        e->tx[i].addr = txb + (uint64_t)i * BUF_SIZE;
        e->tx[i].status = DESC_DD;   /* free */
    }
    wr(e, REG_RDBAL, (uint32_t)rxr);
    wr(e, REG_RDBAH, (uint32_t)(rxr >> 32));
    wr(e, REG_RDLEN, RING_N * sizeof(struct rx_desc));
    wr(e, REG_RDH, 0);
    wr(e, REG_RDT, RING_N - 1);
    wr(e, REG_RCTL, RCTL_EN | RCTL_UPE | RCTL_MPE | RCTL_BAM | RCTL_SECRC);
    wr(e, REG_TDBAL, (uint32_t)txr);
    wr(e, REG_TDBAH, (uint32_t)(txr >> 32));
    wr(e, REG_TDLEN, RING_N * sizeof(struct tx_desc));
    wr(e, REG_TDH, 0);
    wr(e, REG_TDT, 0);
    wr(e, REG_TIPG, TIPG_COPPER);
    wr(e, REG_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
    return 0;
}

static int e1000_send(struct nic *n, const void *frame, size_t len)
{
    struct e1000 *e = n->priv;
    if (len == 0 || len > NIC_MTU_FRAME)
        return -EINVAL;
    /* Reclaim slots the device has finished (DD written back because RS was set). */
    while (e->tx_clean != e->tx_tail && (e->tx[e->tx_clean].status & DESC_DD))
        e->tx_clean = (e->tx_clean + 1) % RING_N;
    unsigned next = (e->tx_tail + 1) % RING_N;
    if (next == e->tx_clean) {
        n->stats.tx_drops++;
        return -EAGAIN;
    }
    volatile struct tx_desc *d = &e->tx[e->tx_tail];
    memcpy(e->tx_buf + (size_t)e->tx_tail * BUF_SIZE, frame, len);
    d->len = (uint16_t)len;
    d->cso = 0;
    d->css = 0;
    d->special = 0;
    d->status = 0;
    d->cmd = TXCMD_EOP | TXCMD_IFCS | TXCMD_RS;
    barrier();
    e->tx_tail = next;
    wr(e, REG_TDT, next);
    n->stats.tx_packets++;
    n->stats.tx_bytes += len;
    return 0;
}

static int e1000_poll(struct nic *n, nic_rx_fn rx, void *arg, int budget)
{
    struct e1000 *e = n->priv;
    int got = 0;
    unsigned last = RING_N;
    while (got < budget) {
        volatile struct rx_desc *d = &e->rx[e->rx_next];
        if (!(d->status & DESC_DD))
            break;
        barrier();
        uint16_t len = d->len;
        /* Frames spanning descriptors cannot happen with 2 KiB buffers and LPE off: count them as errors. */
        if (!(d->status & DESC_EOP) || d->errors || len == 0 || len > BUF_SIZE) {
            n->stats.rx_errors++;
        } else {
            n->stats.rx_packets++;
            n->stats.rx_bytes += len;
            rx(arg, e->rx_buf + (size_t)e->rx_next * BUF_SIZE, len);
        }
        d->status = 0;
        last = e->rx_next;
        e->rx_next = (e->rx_next + 1) % RING_N;
        got++;
    }
    if (last != RING_N) {
        barrier();
        wr(e, REG_RDT, last);   /* give the consumed descriptors back in one write */
    }
    return got;
}

static int e1000_rx_ready(struct nic *n)
{
    struct e1000 *e = n->priv;
    return (e->rx[e->rx_next].status & DESC_DD) != 0;
}

static int e1000_link_up(struct nic *n)
{
    return (rd(n->priv, REG_STATUS) & STATUS_LU) != 0;
}

static void e1000_refresh_stats(struct nic *n)
{
    n->stats.rx_drops += rd(n->priv, REG_MPC);
}

static const struct nic_ops e1000_ops = {
    .send = e1000_send,
    .poll = e1000_poll,
    .rx_ready = e1000_rx_ready,
    .link_up = e1000_link_up,
    .refresh_stats = e1000_refresh_stats,
};

static int e1000_attach(const struct pci_dev *d, struct nic **out)
{
    const char *model = e1000_match(d);
    const struct pci_bar *bar = &d->bar[0];
    if (!model || !bar->base || bar->is_io || bar->size < 0x20000)
        return -ENODEV;
    if (bar->base + bar->size > paging_mapped_top() && paging_map_identity(bar->base + bar->size) < 0)
        return -ENOMEM;
    struct e1000 *e = kzalloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->mmio = (volatile uint8_t *)bar->base;
    e->is_82574 = d->device == 0x10d3;
    e->nic.model = model;
    e->nic.pci = d;
    e->nic.ops = &e1000_ops;
    e->nic.priv = e;
    pci_enable(d);
    int rc = hw_reset(e);
    if (rc == 0)
        rc = read_mac(e);
    if (rc == 0)
        rc = rings_init(e);
    if (rc < 0) {
        log_err("%s: %02x:%02x.%x: init failed (%d)", model, d->bus, d->dev, d->fn, rc);
        kfree(e);
        return rc;
    }
    *out = &e->nic;
    return 0;
}

const struct nic_driver e1000_driver = { "e1000", e1000_match, e1000_attach };
