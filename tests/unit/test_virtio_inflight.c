/* Host tests of virtio-blk with requests in flight on an async disk while the guest reconfigures or resets the queue. */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "tests/unit/virtio_fake.h"
#include "tests/unit/blk_mock.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/devices.h"

/* A device over an async mock with one read of sector 0 in flight (status byte still 0xee). */
static struct blk_mock *inflight_setup(void)
{
    struct blk_mock *mock = blk_mock_create(64 * 512, 7, 0);
    CHECK(mock != NULL);
    CHECK_EQ(blk_setup(&mock->dev, 1), 15);
    CHECK_EQ(blk_req(0, 0, 512, 1), 0xee);
    CHECK_EQ(mock->nq, 1);
    return mock;
}

static void inflight_teardown(struct blk_mock *mock)
{
    fake_vm_destroy();
    mock->dev.ops->close(&mock->dev);
}

/* The driver resets, sets the device up again over fresh rings and reads: served as usual. Tears down. */
static void restart_and_read(struct blk_mock *mock)
{
    memset(ram + USED, 0, 4 + 8 * QN);
    memset(ram + AVAIL, 0, 4 + 2 * QN);
    CHECK_EQ(driver_init(1), 15);
    CHECK_EQ(blk_req(0, 0, 512, 1), 0xee);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(ram[0x30000], 0);
    CHECK_EQ(used_idx(), 1);
    /* /metrics' counters: the two reads the disk accepted (the one in flight at the reset and this one). */
    struct virtio_io_stats st;
    virtio_io_stats(&fvm, &st);
    CHECK_EQ(st.disk_reads, 2);
    CHECK_EQ(st.disk_read_bytes, 1024);
    CHECK_EQ(st.disk_writes, 0);
    inflight_teardown(mock);
}

/* Issue 12, first bullet: QueueReady=0 and QueueNum=0 under a read, no reset; the read then completes.
 * The completion must neither divide by the size (host #DE) nor write the status byte or used ring. */
TEST(blk_queue_disabled_and_sized_0_under_inflight_read)
{
    struct blk_mock *mock = inflight_setup();
    wr32(0x30, 0);
    wr32(0x44, 0);
    wr32(0x38, 0);
    CHECK_EQ(rd32(0x38), 0);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(ram[0x30000], 0xee);                           /* stale: no status written */
    CHECK_EQ(used_idx(), 0);
    CHECK_EQ(rd32(0x70) & VIRTIO_STATUS_NEEDS_RESET, 0);
    restart_and_read(mock);
}

/* Disabled and enabled again over new rings: the old request's completion must not land on the new ring. */
TEST(blk_queue_moved_under_inflight_read)
{
    struct blk_mock *mock = inflight_setup();
    uint64_t used2 = 0x4000;
    wr32(0x44, 0);
    queue_setup(0, 0x5000, 0x6000, used2);
    CHECK_EQ(rd32(0x44), 1);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    uint16_t idx2;
    memcpy(&idx2, ram + used2 + 2, 2);
    CHECK_EQ(idx2, 0);                                      /* nothing on the new used ring */
    CHECK_EQ(used_idx(), 0);                                /* nor on the old one */
    CHECK_EQ(ram[0x30000], 0xee);
    inflight_teardown(mock);
}

/* A device reset (status 0) under a read: the completion is dropped, the device is usable again. */
TEST(blk_reset_under_inflight_read)
{
    struct blk_mock *mock = inflight_setup();
    void *dev = win->dev;                                   /* the device record starts with its transport */
    CHECK_EQ(virtio_blk_inflight(dev), 1);
    wr32(0x70, 0);
    CHECK_EQ(virtio_blk_inflight(dev), 1);                  /* stale, still out at the disk */
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(virtio_blk_inflight(dev), 0);
    CHECK_EQ(ram[0x30000], 0xee);
    CHECK_EQ(used_idx(), 0);
    inflight_teardown(mock);
}

/* A chain waiting for a free slot (the disk said -EAGAIN) is taken when a slot frees, even when the
 * completion that freed it was stale: nothing else would ever retry it. */
TEST(blk_stalled_chain_resumes_after_stale_completion)
{
    struct blk_mock *mock = inflight_setup();
    mock->queue_limit = 1;
    desc_set(DESC, 4, 0x8000, 16, VRING_DESC_F_NEXT, 5);   /* a second read, refused while one is queued */
    desc_set(DESC, 5, 0x24000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 6);
    desc_set(DESC, 6, 0x31000, 1, VRING_DESC_F_WRITE, 0);
    ram[0x31000] = 0xee;
    avail_push(4);
    wr32(0x50, 0);
    CHECK_EQ(mock->nq, 1);
    wr32(0x44, 0);                                          /* stopped and started again, same rings */
    wr32(0x44, 1);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);                /* the first read: stale */
    CHECK_EQ(ram[0x30000], 0xee);
    CHECK_EQ(mock->nq, 1);                                  /* the waiting read went to the disk */
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(ram[0x31000], 0);
    CHECK_EQ(used_idx(), 1);
    CHECK_EQ(used_id(0), 4);
    inflight_teardown(mock);
}

/* A VM reset calls virtio_mmio_reset on the record as attached: registers back to 0, the read in flight
 * stale (its completion writes nothing), the device usable after the driver sets it up again. */
TEST(blk_vm_reset_under_inflight_read)
{
    struct blk_mock *mock = inflight_setup();
    virtio_mmio_reset(win->dev);
    CHECK_EQ(rd32(0x70), 0);
    CHECK_EQ(rd32(0x44), 0);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(ram[0x30000], 0xee);
    CHECK_EQ(used_idx(), 0);
    restart_and_read(mock);
}

/* A read at the disk holds the guest's RAM until it completes, even past the VM's destruction: its data
 * lands in guest pages (zero-copy), which must not go to another tenant meanwhile. */
TEST(blk_inflight_read_holds_guest_ram_past_destroy)
{
    struct blk_mock *mock = inflight_setup();
    CHECK_EQ(fake_ram_holds, 1);
    fake_vm_destroy();                                      /* the VM goes; the read is still out */
    CHECK_EQ(fake_ram_holds, 1);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(fake_ram_holds, 0);                            /* given back by the last completion */
    mock->dev.ops->close(&mock->dev);
}
