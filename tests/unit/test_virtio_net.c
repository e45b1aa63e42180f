/* Host tests of virtio-net over virtio-mmio: frames from the switch fill receive buffers only on a live, ready queue. */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "tests/unit/virtio_fake.h"
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
    return vswitch_port_add(vswitch_default(), "peer", peer_rx, NULL);
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
