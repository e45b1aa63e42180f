/* Host tests of virtio-net over virtio-mmio: frames from the switch fill receive buffers only on a live, ready queue. */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "tests/unit/virtio_fake.h"
#include "tests/unit/host_shim.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/devices.h"
#include "net/vswitch.h"

#define RXBUF 0x20000u
static int peer_got;
static void peer_rx(void *ctx, const void *f, size_t len) { (void)ctx; (void)f; (void)len; peer_got++; }

/* virtio-net in slot 1 with queue 0 (receive) over the fake's rings; returns the peer's switch port. */
static int net_setup(void)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x5e, 0, 9 };
    fake_vm_new();
    vswitch_init(vswitch_default());
    CHECK_EQ(virtio_net_attach(&fvm, 1, mac), 0);
    win = &fvm.mmio[0];
    CHECK_EQ(rd32(8), 1);
    CHECK_EQ(driver_init(1), 15);
    return vswitch_port_add(vswitch_default(), "peer", peer_rx, NULL, NULL);   /* the uplink: it learns */
}

static void rx_post(int d)
{
    memset(ram + RXBUF, 0xcc, 2048);
    desc_set(DESC, d, RXBUF, 2048, VRING_DESC_F_WRITE, 0);
    avail_push((uint16_t)d);
}

static void broadcast(int port)
{
    uint8_t f[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 7 };
    vswitch_input(vswitch_default(), port, f, sizeof(f));
}

TEST(net_rx_only_on_ready_queue)
{
    int peer = net_setup();
    CHECK(peer >= 0);
    rx_post(0);
    broadcast(peer);
    CHECK_EQ(used_idx(), 1);
    CHECK_EQ(used_len(0), 12 + 64);
    CHECK_EQ(ram[RXBUF + 12], 0xff);
    struct virtio_io_stats st;
    virtio_io_stats(&fvm, &st);                             /* /metrics' counters */
    CHECK_EQ(st.net_rx_frames, 1);
    CHECK_EQ(st.net_tx_frames, 0);
    rx_post(1);
    wr32(0x30, 0);                                          /* receive queue stopped and sized 0 */
    wr32(0x44, 0);
    wr32(0x38, 0);
    broadcast(peer);
    CHECK_EQ(used_idx(), 1);                                /* nothing delivered, nothing written */
    CHECK_EQ(ram[RXBUF], 0xcc);
    CHECK_EQ(rd32(0x70) & VIRTIO_STATUS_NEEDS_RESET, 0);
    wr32(0x70, 0);                                          /* after a reset: still nothing */
    broadcast(peer);
    CHECK_EQ(ram[RXBUF], 0xcc);
    vswitch_port_remove(vswitch_default(), peer);
    fake_vm_destroy();
}

/* A VM that is not running takes no frame into its RAM: a migration's final copy (or a held copy) would
 * miss the write, as nothing collects it after the pause. The frame is dropped, as on a wire to a stopped
 * machine; once the VM runs again frames arrive. */
TEST(net_rx_none_while_paused)
{
    int peer = net_setup();
    rx_post(0);
    fvm.state = VM_PAUSED;
    broadcast(peer);
    CHECK_EQ(used_idx(), 0);
    CHECK_EQ(ram[RXBUF], 0xcc);
    fvm.state = VM_RUNNING;
    broadcast(peer);
    CHECK_EQ(used_idx(), 1);
    CHECK_EQ(ram[RXBUF + 12], 0xff);
    vswitch_port_remove(vswitch_default(), peer);
    fake_vm_destroy();
}

#define TXDESC 0x40000u
#define TXAVAIL 0x41000u
#define TXUSED 0x42000u
#define TXBUF 0x50000u

static uint16_t tx_used_idx(void) { uint16_t v; memcpy(&v, ram + TXUSED + 2, 2); return v; }
static uint32_t tx_used_len(int i) { uint32_t v; memcpy(&v, ram + TXUSED + 8 + 8 * (i % QN), 4); return v; }

/* Send the chain at head through queue 1 and return how many frames the peer got meanwhile. */
static int tx_send(uint16_t head)
{
    int before = peer_got;
    avail_push_at(TXAVAIL, head);
    wr32(0x50, 1);
    return peer_got - before;
}

/* Transmit chains that are malformed or too long fail alone: nothing reaches the switch, the chain comes
 * back used with length 0, the log names the fault, and the next good frame goes out. */
TEST(net_tx_bad_chains_fail_alone)
{
    int peer = net_setup();
    queue_setup(1, TXDESC, TXAVAIL, TXUSED);
    memset(ram + TXBUF, 0, 12);
    memset(ram + TXBUF + 12, 0xff, 6);                      /* broadcast ... */
    memcpy(ram + TXBUF + 18, (const uint8_t[]){ 0x52, 0x54, 0, 0x5e, 0, 9 }, 6);   /* ... from its own MAC */
    desc_set(TXDESC, 0, TXBUF, 12 + 64, 0, 0);
    CHECK_EQ(tx_send(0), 1);
    host_console_clear();
    desc_set(TXDESC, 1, TXBUF, 12 + 64, VRING_DESC_F_NEXT, 1);               /* a loop */
    CHECK_EQ(tx_send(1), 0);
    CHECK(strstr(host_console_text(), "virtio-net slot 1: malformed descriptor chain at head 1 of queue 1: "
                                      "descriptor loop") != NULL);
    desc_set(TXDESC, 2, TXBUF, 12 + VSW_FRAME_MAX + 1, 0, 0);               /* longer than a frame */
    CHECK_EQ(tx_send(2), 0);
    desc_set(TXDESC, 3, TXBUF, 12, 0, 0);                                    /* a header, no frame */
    CHECK_EQ(tx_send(3), 0);
    CHECK_EQ(tx_used_idx(), 4);
    CHECK_EQ(tx_used_len(1) | tx_used_len(2) | tx_used_len(3), 0);
    CHECK_EQ(rd32(0x70), 15);
    CHECK_EQ(tx_send(0), 1);
    vswitch_port_remove(vswitch_default(), peer);
    fake_vm_destroy();
}
