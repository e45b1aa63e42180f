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
#include <stdlib.h>

/* ---- the fake VM: RAM is one host buffer; MMIO windows, destroy hooks and interrupts are recorded ---- */
#define RAM_SIZE (1u << 20)
static struct vm fvm;
static uint8_t *ram;
static int irq_pulses, last_gsi;

void *gpa_ptr(struct vm *vm, uint64_t gpa, size_t len)
{
    if (!len || gpa + len < gpa || gpa + len > vm->mem_size)
        return NULL;
    return ram + gpa;
}
int gpa_read(struct vm *vm, uint64_t gpa, void *buf, size_t len)
{
    if (gpa + len < gpa || gpa + len > vm->mem_size)
        return -EFAULT;
    memcpy(buf, ram + gpa, len);
    return 0;
}
int gpa_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa + len < gpa || gpa + len > vm->mem_size)
        return -EFAULT;
    memcpy(ram + gpa, buf, len);
    return 0;
}
int vm_register_mmio(struct vm *vm, const struct mmio_range *r)
{
    if (vm->nmmio >= VM_MMIO_MAX)
        return -ENOSPC;
    vm->mmio[vm->nmmio++] = *r;
    return 0;
}
void vm_irq_set(struct vm *vm, int gsi, int level) { (void)vm; (void)gsi; (void)level; }
void vm_irq_pulse(struct vm *vm, int gsi) { (void)vm; irq_pulses++; last_gsi = gsi; }

static void fake_vm_new(void)
{
    memset(&fvm, 0, sizeof(fvm));
    strcpy(fvm.name, "t");
    fvm.mem_size = RAM_SIZE;
    free(ram);
    ram = calloc(1, RAM_SIZE);
    irq_pulses = 0;
}
static void fake_vm_destroy(void)
{
    vm_destroy_devices(&fvm);
}

/* ---- ring helpers: desc table at 0x1000, avail at 0x2000, used at 0x3000, 8 entries ---- */
#define DESC 0x1000u
#define AVAIL 0x2000u
#define USED 0x3000u
#define QN 8

static void desc_set(uint64_t table, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = ram + table + 16 * i;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}
static void avail_push(uint16_t head)
{
    uint16_t idx;
    memcpy(&idx, ram + AVAIL + 2, 2);
    memcpy(ram + AVAIL + 4 + 2 * (idx % QN), &head, 2);
    idx++;
    memcpy(ram + AVAIL + 2, &idx, 2);
}
static uint16_t used_idx(void) { uint16_t v; memcpy(&v, ram + USED + 2, 2); return v; }
static uint32_t used_len(int i) { uint32_t v; memcpy(&v, ram + USED + 4 + 8 * i + 4, 4); return v; }
static uint32_t used_id(int i) { uint32_t v; memcpy(&v, ram + USED + 4 + 8 * i, 4); return v; }

static struct vq_state q_new(void)
{
    fake_vm_new();
    return (struct vq_state){ .desc = DESC, .avail = AVAIL, .used = USED, .num = QN, .ready = 1 };
}

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
    CHECK_EQ(q.last_avail, 1);                              /* consumed: the caller fails that request */
    desc_set(DESC, 3, 0x10000, 16, VRING_DESC_F_NEXT, 3);  /* a self loop */
    avail_push(3);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    desc_set(DESC, 5, 0x10000, 0, VRING_DESC_F_NEXT, 6);   /* a loop of empty buffers */
    desc_set(DESC, 6, 0x10000, 0, VRING_DESC_F_NEXT, 5);
    avail_push(5);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
    desc_set(DESC, 4, 0x10000, 16, VRING_DESC_F_NEXT, 9);  /* next past the table */
    avail_push(4);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
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
    desc_set(DESC, 3, 0x10000, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
    desc_set(DESC, 4, 0x10000, 16, 0, 0);                   /* readable after writable */
    avail_push(3);
    CHECK_EQ(vq_pop(&fvm, &q, &ch), -EINVAL);
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
static struct mmio_range *win;
static uint32_t rd32(uint64_t off) { uint64_t v; win->read(win->dev, off, 4, &v); return (uint32_t)v; }
static void wr32(uint64_t off, uint32_t v) { win->write(win->dev, off, 4, v); }

/* Attach a virtio-blk over disk in slot 0 and run the driver's setup (3.1.1); returns the status read back. */
static uint32_t blk_setup(struct blk_dev *disk, int version_1)
{
    fake_vm_new();
    CHECK_EQ(virtio_blk_attach(&fvm, 0, disk), 0);
    win = &fvm.mmio[0];
    CHECK_U64(win->base, PLAT_VIRTIO_BASE);
    CHECK_EQ(rd32(0), VIRTIO_MMIO_MAGIC);
    CHECK_EQ(rd32(4), 2);
    CHECK_EQ(rd32(8), 2);
    wr32(0x70, 1);
    wr32(0x70, 3);
    wr32(0x14, 1);
    CHECK(rd32(0x10) & 1);                                  /* VERSION_1 offered (bit 32) */
    wr32(0x24, 1);
    wr32(0x20, version_1 ? 1 : 0);
    wr32(0x70, 11);
    if (!(rd32(0x70) & VIRTIO_STATUS_FEATURES_OK))
        return rd32(0x70);
    wr32(0x30, 0);
    CHECK_EQ(rd32(0x34), VQ_NUM_MAX);
    wr32(0x38, QN);
    wr32(0x80, DESC);
    wr32(0x90, AVAIL);
    wr32(0xa0, USED);
    wr32(0x44, 1);
    wr32(0x70, 15);
    return rd32(0x70);
}

/* Submit one request: header (type, sector), data at 0x20000 of len bytes, status byte at 0x30000. */
static uint8_t blk_req(uint32_t type, uint64_t sector, uint32_t len, int data_write)
{
    static int n;
    uint8_t hdr[16] = { 0 };
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    memcpy(ram + 0x8000, hdr, 16);
    ram[0x30000] = 0xee;
    int d = (n++ % 2) * 3;
    desc_set(DESC, d, 0x8000, 16, VRING_DESC_F_NEXT, (uint16_t)(d + 1));
    desc_set(DESC, d + 1, 0x20000, len, VRING_DESC_F_NEXT | (data_write ? VRING_DESC_F_WRITE : 0), (uint16_t)(d + 2));
    desc_set(DESC, d + 2, 0x30000, 1, VRING_DESC_F_WRITE, 0);
    avail_push((uint16_t)d);
    wr32(0x50, 0);
    return ram[0x30000];
}

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
