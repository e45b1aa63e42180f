/* Host tests: virtio devices mark exactly the guest pages they write dirty, a disk read at its completion. */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "tests/unit/virtio_fake.h"
#include "tests/unit/blk_mock.h"
#include "blk/ram.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/devices.h"
#include "net/vswitch.h"

#define NPAGES (RAM_SIZE / 4096)

/* 1 when the pages marked are exactly the n pages listed (as page numbers). */
static int dirty_exactly(const unsigned *pages, int n)
{
    uint8_t want[NPAGES] = { 0 };
    for (int i = 0; i < n; i++)
        want[pages[i]] = 1;
    return memcmp(want, fake_dirty, NPAGES) == 0;
}

/* A read still at the disk when a migration round collects (clears) the log: its data page, the status
 * byte's page and the used ring's page are dirty again once it completes. */
TEST(dirty_blk_read_marks_at_completion)
{
    struct blk_mock *mock = blk_mock_create(64 * 512, 7, 0);
    CHECK_EQ(blk_setup(&mock->dev, 1), 15);
    CHECK_EQ(blk_req(0, 0, 4096, 1), 0xee);
    memset(fake_dirty, 0, sizeof(fake_dirty));              /* collected while at the disk */
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(ram[0x30000], 0);
    static const unsigned want[] = { 0x20, 0x30, USED / 4096 };
    CHECK(dirty_exactly(want, 3));
    fake_vm_destroy();
    mock->dev.ops->close(&mock->dev);
}

/* A write to the disk only reads the guest's data: status and used ring are all it dirties. */
TEST(dirty_blk_write_marks_only_status_and_ring)
{
    struct blk_dev *disk = ramdisk_create(NULL, 64 * 512, 0);
    CHECK(disk != NULL);
    CHECK_EQ(blk_setup(disk, 1), 15);
    memset(fake_dirty, 0, sizeof(fake_dirty));
    CHECK_EQ(blk_req(1, 0, 4096, 0), 0);                   /* the RAM disk completes at once */
    static const unsigned want[] = { 0x30, USED / 4096 };
    CHECK(dirty_exactly(want, 2));
    fake_vm_destroy();
    ramdisk_destroy(disk);
}

/* A read made stale by a device reset still landed in the guest's page: that page is dirty, while the
 * status byte and the used ring are not written. */
TEST(dirty_blk_stale_read_marks_its_data)
{
    struct blk_mock *mock = blk_mock_create(64 * 512, 7, 0);
    CHECK_EQ(blk_setup(&mock->dev, 1), 15);
    CHECK_EQ(blk_req(0, 0, 4096, 1), 0xee);
    wr32(0x70, 0);
    memset(fake_dirty, 0, sizeof(fake_dirty));
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(ram[0x30000], 0xee);
    static const unsigned want[] = { 0x20 };
    CHECK(dirty_exactly(want, 1));
    fake_vm_destroy();
    mock->dev.ops->close(&mock->dev);
}

static void peer_rx(void *ctx, const void *f, size_t len) { (void)ctx; (void)f; (void)len; }

/* Receive of len bytes into a 2 KiB buffer at gpa: the pages the header and frame cover, and the used
 * ring, are dirty; the rest of the buffer is not. */
static int rx_dirty(uint64_t gpa, size_t len, const unsigned *want, int n)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x5e, 0, 9 };
    uint8_t f[1514] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 7 };
    fake_vm_new();
    vswitch_init(vswitch_default());
    CHECK_EQ(virtio_net_attach(&fvm, 1, mac), 0);
    win = &fvm.mmio[0];
    CHECK_EQ(driver_init(1), 15);
    int peer = vswitch_port_add(vswitch_default(), "peer", peer_rx, NULL, NULL);
    desc_set(DESC, 0, gpa, 2048, VRING_DESC_F_WRITE, 0);
    avail_push(0);
    memset(fake_dirty, 0, sizeof(fake_dirty));
    vswitch_input(vswitch_default(), peer, f, len);
    CHECK_EQ(used_idx(), 1);
    int ok = dirty_exactly(want, n);
    fake_vm_destroy();
    return ok;
}

TEST(dirty_net_rx_marks_the_pages_written)
{
    static const unsigned small[] = { 0x20, USED / 4096 };
    static const unsigned spans[] = { 0x20, 0x21, USED / 4096 };
    CHECK(rx_dirty(0x20c00, 64, small, 2));                 /* 2 KiB buffer reaches page 0x21: unwritten */
    CHECK(rx_dirty(0x20c00, 1514, spans, 3));
}
