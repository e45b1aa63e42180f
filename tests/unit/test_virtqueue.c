/* Host tests of split virtqueues and virtio-blk over virtio-mmio, on a fake guest RAM. */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "vmm/dev/virtqueue.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/devices.h"
#include "vmm/vm.h"
#include "blk/blk.h"
#include "blk/ram.h"
#include "kernel/errno.h"
#include "tests/unit/virtio_fake.h"

static struct vq_chain ch;

TEST(vq_good_chain)
{
    struct vq_state q = q_new();
    CHECK_EQ(vq_validate(&fvm, &q), 0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), 0);                     /* nothing yet */
    desc_set(DESC, 2, 0x10000, 16, VRING_DESC_F_NEXT, 5);
    desc_set(DESC, 5, 0x11000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 7);
    desc_set(DESC, 7, 0x12000, 1, VRING_DESC_F_WRITE, 0);
    avail_push(2);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), 1);
    CHECK_EQ(ch.head, 2);
    CHECK_EQ(ch.n, 3);
    CHECK_EQ(ch.out_len, 16);
    CHECK_EQ(ch.in_len, 513);
    CHECK_EQ(ch.buf[1].gpa, 0x11000);
    CHECK_EQ(vq_push(&fvm, &q, ch.head, 513), 0);
    CHECK_EQ(used_idx(), 1);
    CHECK_EQ(used_id(0), 2);
    CHECK_EQ(used_len(0), 513);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), 0);
}

TEST(vq_loop_stops)
{
    struct vq_state q = q_new();
    desc_set(DESC, 0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
    desc_set(DESC, 1, 0x10010, 16, VRING_DESC_F_NEXT, 0);  /* back to 0 */
    avail_push(0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    CHECK_EQ(ch.head, 0);
    CHECK_STR(ch.why, "descriptor loop");
    CHECK_EQ(q.last_avail, 1);                              /* consumed: the caller fails that request */
    desc_set(DESC, 3, 0x10000, 16, VRING_DESC_F_NEXT, 3);  /* a self loop */
    avail_push(3);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    desc_set(DESC, 5, 0x10000, 0, VRING_DESC_F_NEXT, 6);   /* a loop of empty buffers */
    desc_set(DESC, 6, 0x10000, 0, VRING_DESC_F_NEXT, 5);
    avail_push(5);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    CHECK_STR(ch.why, "descriptor loop");
    desc_set(DESC, 4, 0x10000, 16, VRING_DESC_F_NEXT, 9);  /* next past the table */
    avail_push(4);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    CHECK_STR(ch.why, "next descriptor past the table");
}

TEST(vq_outside_ram_and_absurd_lengths)
{
    struct vq_state q = q_new();
    desc_set(DESC, 0, RAM_SIZE - 8, 16, 0, 0);              /* straddles the end of RAM */
    avail_push(0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    desc_set(DESC, 1, 0xfffffffffffff000ull, 0x2000, 0, 0); /* wraps around */
    avail_push(1);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    desc_set(DESC, 2, 0x10000, 0xffffffffu, VRING_DESC_F_WRITE, 0);   /* 4 GiB */
    avail_push(2);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    CHECK_STR(ch.why, "buffer longer than 16 MiB");
    desc_set(DESC, 3, 0x10000, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
    desc_set(DESC, 4, 0x10000, 16, 0, 0);                   /* readable after writable */
    avail_push(3);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    CHECK_STR(ch.why, "readable buffer after a writable one");
}

TEST(vq_indirect)
{
    struct vq_state q = q_new();
    uint64_t tab = 0x5000;
    desc_set(tab, 0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
    desc_set(tab, 1, 0x11000, 100, VRING_DESC_F_WRITE, 0);
    desc_set(DESC, 0, tab, 32, VRING_DESC_F_INDIRECT, 0);
    avail_push(0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), 1);
    CHECK_EQ(ch.n, 2);
    CHECK_EQ(ch.in_len, 100);
    desc_set(tab, 1, 0x6000, 16, VRING_DESC_F_INDIRECT, 0); /* an indirect table inside one: forbidden */
    avail_push(0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    desc_set(tab, 1, 0x11000, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);   /* loop in the table */
    avail_push(0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    desc_set(DESC, 1, tab, 24, VRING_DESC_F_INDIRECT, 0);   /* not a whole number of entries */
    avail_push(1);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    desc_set(DESC, 2, RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);   /* table outside RAM */
    avail_push(2);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
}

TEST(vq_ring_corruption)
{
    struct vq_state q = q_new();
    uint16_t idx = QN + 1;                                  /* more outstanding than the ring holds */
    memcpy(ram + AVAIL + 2, &idx, 2);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EIO);
    q = q_new();
    uint16_t head = QN;                                     /* head out of range */
    memcpy(ram + AVAIL + 4, &head, 2);
    idx = 1;
    memcpy(ram + AVAIL + 2, &idx, 2);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EIO);
    q = q_new();
    q.num = 6;
    CHECK_EQ(vq_validate(&fvm, &q), -EINVAL);               /* not a power of two */
    q.num = QN;
    q.desc = DESC + 8;
    CHECK_EQ(vq_validate(&fvm, &q), -EINVAL);               /* misaligned */
    q.desc = RAM_SIZE - 64;
    CHECK_EQ(vq_validate(&fvm, &q), -EINVAL);               /* past RAM */
}

/* ---- virtio-blk through the virtio-mmio registers ---- */
TEST(blk_read_write_flush_id)
{
    struct blk_dev *disk = ramdisk_create(NULL, 64 * 512, 0);
    CHECK(disk != NULL);
    CHECK_EQ(blk_setup(disk, 1), 15);
    CHECK_EQ(rd32(0x100), 64);                              /* capacity in sectors */
    memset(ram + 0x20000, 0xa5, 1024);
    CHECK_EQ(blk_req(1, 3, 1024, 0), 0);                    /* write sectors 3-4 */
    CHECK_EQ(used_idx(), 1);
    CHECK(irq_pulses >= 1 && last_gsi == PLAT_VIRTIO_GSI0);
    CHECK(rd32(0x60) & VIRTIO_INT_USED);
    wr32(0x64, VIRTIO_INT_USED);
    CHECK_EQ(rd32(0x60), 0);
    memset(ram + 0x20000, 0, 4096);
    CHECK_EQ(blk_req(0, 2, 2048, 1), 0);                    /* read sectors 2-5 */
    CHECK_EQ(used_len(1), 2049);
    CHECK_EQ(ram[0x20000 + 511], 0);
    CHECK_EQ(ram[0x20000 + 512], 0xa5);
    CHECK_EQ(ram[0x20000 + 1535], 0xa5);
    CHECK_EQ(ram[0x20000 + 1536], 0);
    CHECK_EQ(blk_req(4, 0, 0, 0) , 0);                      /* flush (with an empty data buffer) */
    CHECK_EQ(blk_req(8, 0, 20, 1), 0);                      /* get-id */
    CHECK_STR((char *)ram + 0x20000, "ramdisk");
    CHECK_EQ(blk_req(0, 63, 1024, 1), 1);                   /* past the end: IOERR */
    CHECK_EQ(blk_req(0, 0, 100, 1), 1);                     /* not whole sectors: IOERR */
    CHECK_EQ(blk_req(99, 0, 512, 1), 2);                    /* unknown type: UNSUPP */
    CHECK_EQ(blk_req(0, 0, 8192, 1), 1);                    /* a segment over size_max */
    fake_vm_destroy();
    ramdisk_destroy(disk);
}

TEST(blk_read_only_refuses_writes)
{
    static uint8_t image[8 * 512];
    memset(image, 0x3c, sizeof(image));
    struct blk_dev *disk = ramdisk_create(image, sizeof(image), 1);
    CHECK_EQ(blk_setup(disk, 1), 15);
    wr32(0x14, 0);
    CHECK(rd32(0x10) & (1u << 5));                          /* VIRTIO_BLK_F_RO offered */
    memset(ram + 0x20000, 0x11, 512);
    CHECK_EQ(blk_req(1, 0, 512, 0), 1);                     /* 5.2.6.2: IOERR, nothing written */
    CHECK_EQ(image[0], 0x3c);
    CHECK_EQ(blk_req(0, 0, 512, 1), 0);
    CHECK_EQ(ram[0x20000], 0x3c);
    fake_vm_destroy();
    ramdisk_destroy(disk);
}

TEST(blk_bad_requests_fail_alone)
{
    struct blk_dev *disk = ramdisk_create(NULL, 8 * 512, 0);
    CHECK_EQ(blk_setup(disk, 1), 15);
    desc_set(DESC, 0, 0x8000, 8, VRING_DESC_F_NEXT, 1);     /* header too short */
    desc_set(DESC, 1, 0x30000, 1, VRING_DESC_F_WRITE, 0);
    ram[0x30000] = 0xee;
    avail_push(0);
    wr32(0x50, 0);
    CHECK_EQ(ram[0x30000], 1);
    CHECK_EQ(used_idx(), 1);
    desc_set(DESC, 2, 0x8000, 16, VRING_DESC_F_NEXT, 2);    /* a loop: returned used with length 0 */
    avail_push(2);
    wr32(0x50, 0);
    CHECK_EQ(used_idx(), 2);
    CHECK_EQ(used_len(1), 0);
    CHECK_EQ(used_id(1), 2);
    CHECK_EQ(blk_req(0, 0, 512, 1), 0);                     /* the device goes on */
    CHECK_EQ(rd32(0x70) & VIRTIO_STATUS_NEEDS_RESET, 0);
    uint16_t idx = used_idx() + 50;                          /* a corrupt avail index: NEEDS_RESET */
    memcpy(ram + AVAIL + 2, &idx, 2);
    wr32(0x50, 0);
    CHECK(rd32(0x70) & VIRTIO_STATUS_NEEDS_RESET);
    CHECK(rd32(0x60) & VIRTIO_INT_CONFIG);
    wr32(0x70, 0);                                          /* a reset clears it */
    CHECK_EQ(rd32(0x70), 0);
    fake_vm_destroy();
    ramdisk_destroy(disk);
}

TEST(blk_needs_version_1_and_good_rings)
{
    struct blk_dev *disk = ramdisk_create(NULL, 8 * 512, 0);
    CHECK_EQ(blk_setup(disk, 0) & VIRTIO_STATUS_FEATURES_OK, 0);   /* a legacy driver is refused */
    fake_vm_destroy();
    CHECK_EQ(blk_setup(disk, 1), 15);
    wr32(0x70, 0);
    wr32(0x70, 3);
    wr32(0x24, 1);
    wr32(0x20, 1);
    wr32(0x70, 11);
    wr32(0x38, QN);
    wr32(0x80, RAM_SIZE - 16);                              /* descriptor table outside RAM */
    wr32(0x44, 1);
    CHECK(rd32(0x70) & VIRTIO_STATUS_NEEDS_RESET);
    CHECK_EQ(rd32(0x44), 0);
    fake_vm_destroy();
    ramdisk_destroy(disk);
}

/* Issue 12: the ring functions themselves re-check the state they are given (a queue reconfigured or
 * restored behind the device's back): never a division by a size of 0, never an index past the ring. */
TEST(vq_unchecked_state_refused)
{
    static const uint16_t bad_num[] = { 0, 6, VQ_NUM_MAX * 2, 0xffff };
    for (unsigned i = 0; i < sizeof(bad_num) / sizeof(bad_num[0]); i++) {
        struct vq_state q = q_new();
        avail_push(0);
        q.num = bad_num[i];
        CHECK_EQ(vq_push(&fvm, &q, 0, 1), -EIO);
        CHECK_EQ(vq_pop(&fvm, &q, &ch), -EIO);
        CHECK_EQ(vq_want_irq(&fvm, &q), 0);
        CHECK_EQ(used_idx(), 0);
    }
    struct vq_state q = q_new();
    q.ready = 0;                                            /* stopped: nothing taken, nothing written */
    avail_push(0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), 0);
    CHECK_EQ(vq_push(&fvm, &q, 0, 1), -EIO);
    q = q_new();
    q.used = RAM_SIZE - 8;                                  /* used ring moved outside RAM */
    CHECK_EQ(vq_push(&fvm, &q, 0, 1), -EIO);
    q = q_new();
    CHECK_EQ(vq_push(&fvm, &q, QN, 1), -EIO);               /* a head the ring cannot hold */
    CHECK_EQ(used_idx(), 0);
}

/* 2.7.5.3.1 abuse of indirect tables: each chain is refused alone (-EINVAL, consumed), the ring goes on. */
TEST(vq_indirect_abuse)
{
    struct vq_state q = q_new();
    uint64_t tab = 0x5000;
    desc_set(tab, 0, 0x10000, 16, 0, 0);
    desc_set(DESC, 0, tab, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);    /* with NEXT */
    desc_set(DESC, 1, tab, 0, VRING_DESC_F_INDIRECT, 0);                         /* empty table */
    desc_set(DESC, 2, tab, 16 * (VQ_CHAIN_MAX + 1), VRING_DESC_F_INDIRECT, 0);   /* longer than a chain */
    desc_set(DESC, 3, 0xfffffffffffffff0ull, 32, VRING_DESC_F_INDIRECT, 0);      /* wraps around */
    desc_set(DESC, 4, tab + 16, 32, VRING_DESC_F_INDIRECT, 0);                   /* next past its end: */
    desc_set(tab, 1, 0x10000, 16, VRING_DESC_F_NEXT, 2);
    desc_set(DESC, 5, tab + 48, 16, VRING_DESC_F_INDIRECT, 0);                   /* buffer outside RAM */
    desc_set(tab, 3, RAM_SIZE, 16, VRING_DESC_F_WRITE, 0);
    desc_set(DESC, 6, 0x10000, 16, VRING_DESC_F_NEXT, 7);                        /* direct, then an */
    desc_set(DESC, 7, tab + 64, 16, VRING_DESC_F_INDIRECT, 0);                   /* indirect whose entry */
    desc_set(tab, 4, 0x6000, 16, VRING_DESC_F_INDIRECT, 0);                      /* is indirect again */
    static const char *const why[7] = {
        "indirect table with NEXT", "indirect table size not 1-64 whole entries",
        "indirect table size not 1-64 whole entries", "indirect table outside RAM", "next descriptor past the table",
        "buffer outside RAM", "indirect table inside an indirect table",
    };
    for (uint16_t h = 0; h < 7; h++) {
        avail_push(h);
        CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
        CHECK_EQ(ch.head, h);
        CHECK_STR(ch.why, why[h]);
    }
    CHECK_EQ(q.last_avail, 7);
    desc_set(DESC, 0, 0x10000, 16, 0, 0);                   /* the ring still works */
    avail_push(0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), 1);
}

/* A chain of more buffers than any device here takes (VQ_CHAIN_MAX), directly or through a table. */
TEST(vq_chain_too_long)
{
    struct vq_state q = q_new();
    q.num = 128;                                            /* rings of 128: desc 0x1000-0x1800, avail 0x2000 */
    for (int i = 0; i <= VQ_CHAIN_MAX; i++)
        desc_set(DESC, i, 0x10000 + 16 * i, 16, i < VQ_CHAIN_MAX ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    uint16_t head = 0, idx = 1;
    memcpy(ram + AVAIL + 4, &head, 2);
    memcpy(ram + AVAIL + 2, &idx, 2);
    CHECK_EQ(vq_validate(&fvm, &q), 0);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    CHECK_STR(ch.why, "more than 64 buffers");
    desc_set(DESC, VQ_CHAIN_MAX - 1, 0x10000, 16, 0, 0);   /* exactly VQ_CHAIN_MAX: taken */
    idx = 2;
    memcpy(ram + AVAIL + 6, &head, 2);
    memcpy(ram + AVAIL + 2, &idx, 2);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), 1);
    CHECK_EQ(ch.n, VQ_CHAIN_MAX);
}
