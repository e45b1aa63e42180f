/* Host tests of queue notifications from vCPUs on other CPUs, handed to the boot CPU (vmm/dev/virtio_kick.c). */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "tests/unit/virtio_fake.h"
#include "tests/unit/blk_mock.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/devices.h"
#include <string.h>

/* A virtio-blk device over an async mock, and one read notified from CPU 1 (not yet at the disk). */
static struct blk_mock *notified_from_cpu1(void)
{
    struct blk_mock *mock = blk_mock_create(64 * 512, 7, 0);
    CHECK(mock != NULL);
    CHECK_EQ(blk_setup(&mock->dev, 1), 15);
    fake_cpu = 1;
    CHECK_EQ(blk_req(0, 0, 512, 1), 0xee);
    fake_cpu = 0;
    return mock;
}

static void teardown(struct blk_mock *mock)
{
    fake_vm_destroy();
    mock->dev.ops->close(&mock->dev);
}

/* The reads reach the disk when the boot CPU polls, not in the exit on CPU 1, which kicks the boot CPU once
 * for both; their completions land as usual. */
TEST(a_notify_on_another_cpu_waits_for_the_boot_cpus_poll)
{
    int k0 = fake_kicks[0];
    uint64_t h0 = virtio_kick_handed();
    struct blk_mock *mock = notified_from_cpu1();
    fake_cpu = 1;
    CHECK_EQ(blk_req(0, 8, 512, 1), 0xee);
    fake_cpu = 0;
    CHECK_EQ(mock->nq, 0);
    CHECK_EQ(fake_kicks[0], k0 + 1);
    CHECK_EQ(virtio_kick_handed(), h0 + 2);
    CHECK_EQ(virtio_kick_poll(), 1);
    CHECK_EQ(mock->nq, 2);
    CHECK_EQ(virtio_kick_poll(), 0);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    CHECK_EQ(used_idx(), 2);
    teardown(mock);
}

/* On the boot CPU a notify is handled in the exit itself, as before. */
TEST(a_notify_on_the_boot_cpu_is_handled_at_once)
{
    struct blk_mock *mock = blk_mock_create(64 * 512, 7, 0);
    CHECK_EQ(blk_setup(&mock->dev, 1), 15);
    CHECK_EQ(blk_req(0, 0, 512, 1), 0xee);
    CHECK_EQ(mock->nq, 1);
    CHECK_EQ(virtio_kick_poll(), 0);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    teardown(mock);
}

/* A driver reset before the poll: the recorded notification means nothing for the restarted queue. */
TEST(a_reset_drops_the_recorded_notification)
{
    struct blk_mock *mock = notified_from_cpu1();
    wr32(0x70, 0);
    virtio_kick_poll();
    CHECK_EQ(mock->nq, 0);
    teardown(mock);
}

/* A device destroyed before the poll leaves the list (ASan would see the poll touch freed memory). */
TEST(a_destroyed_device_leaves_the_list)
{
    struct blk_mock *mock = notified_from_cpu1();
    teardown(mock);
    CHECK_EQ(virtio_kick_poll(), 0);
}

/* Quiesce (a migration's last copy, a reset) hands recorded notifications over first and counts their
 * requests as in flight. */
TEST(quiesce_flushes_the_recorded_notifications)
{
    struct blk_mock *mock = notified_from_cpu1();
    int busy = 0;
    for (int i = 0; i < fvm.ndevs; i++)
        if (!strcmp(fvm.devs[i].name, "virtio-blk"))
            busy += fvm.devs[i].quiesce(&fvm, fvm.devs[i].dev);
    CHECK_EQ(busy, 1);
    CHECK_EQ(mock->nq, 1);
    CHECK_EQ(virtio_kick_poll(), 0);
    CHECK_EQ(blk_mock_complete(mock, 0), 0);
    teardown(mock);
}
