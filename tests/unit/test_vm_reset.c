/* Host tests of the VM device registry: reset and destroy walks, and a guest reset with virtio I/O in flight. */
#define TEST_SUITE "vmm-reset"
#include "tests/unit/test.h"
#include "tests/unit/blk_mock.h"
#include "vmm/dev/virtqueue.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/devices.h"
#include "vmm/vm.h"
#include "net/vswitch.h"
#include "kernel/errno.h"
#include <stdlib.h>

/* ---- a VM whose RAM is one host buffer ---- */
#define MEM (1u << 20)
static struct vm tvm;
static uint8_t *mem;

/* RAM holds of requests at the disk: counted, so a test can see them all given back. */
static int ram_holds;
struct gmem_lease *gmem_hold(struct vm *vm)
{
    (void)vm;
    ram_holds++;
    return (struct gmem_lease *)&ram_holds;
}
void gmem_unhold(struct gmem_lease *lease)
{
    if (lease)
        ram_holds--;
}

void *gpa_ptr(struct vm *vm, uint64_t gpa, size_t len)
{
    return len && gpa + len >= gpa && gpa + len <= vm->mem_size ? mem + gpa : NULL;
}
void *gpa_ptr_w(struct vm *vm, uint64_t gpa, size_t len)
{
    return gpa_ptr(vm, gpa, len);
}
void gmem_mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len)
{
    (void)vm; (void)gpa; (void)len;
}
int gpa_read(struct vm *vm, uint64_t gpa, void *buf, size_t len)
{
    void *p = gpa_ptr(vm, gpa, len);
    if (len && !p)
        return -EFAULT;
    memcpy(buf, p, len);
    return 0;
}
int gpa_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    void *p = gpa_ptr(vm, gpa, len);
    if (len && !p)
        return -EFAULT;
    memcpy(p, buf, len);
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
void vm_irq_pulse(struct vm *vm, int gsi) { (void)vm; (void)gsi; }
/* Every exit here runs on the boot CPU: virtio notifications are handled at once (vmm/dev/virtio_kick.c). */
int smp_this_cpu(void) { return 0; }
void smp_kick(int i) { (void)i; }
int shell_add_poller(int (*fn)(void)) { (void)fn; return 0; }
int shell_add_waiting(int (*fn)(void)) { (void)fn; return 0; }

static void tvm_new(void)
{
    memset(&tvm, 0, sizeof(tvm));
    strcpy(tvm.name, "r");
    tvm.mem_size = MEM;
    free(mem);
    mem = calloc(1, MEM);
}

/* ---- a fake device that records the registry's calls ---- */
static char calls[64];
static int ncalls;
static void note(char c) { if (ncalls < 63) calls[ncalls++] = c; calls[ncalls] = 0; }
static void fake_reset(struct vm *vm, void *dev) { (void)vm; note(*(char *)dev); }
static int fake_quiesce(struct vm *vm, void *dev) { (void)vm; return *(char *)dev == 'b' ? 2 : 0; }
static void fake_destroy(struct vm *vm, void *dev) { (void)vm; note((char)(*(char *)dev - 32)); }

TEST(registry_walks_reset_in_order_and_destroy_newest_first)
{
    static char a = 'a', b = 'b', c = 'c';
    struct vm_dev da = {
        .name = "a", .quiesce = fake_quiesce, .reset = fake_reset, .destroy = fake_destroy, .dev = &a
    };
    struct vm_dev db = {
        .name = "b", .quiesce = fake_quiesce, .reset = fake_reset, .destroy = fake_destroy, .dev = &b
    };
    struct vm_dev dc = { .name = "c", .destroy = fake_destroy, .dev = &c };
    struct vm_dev dn = { .name = "n" };
    tvm_new();
    ncalls = 0;
    CHECK_EQ(vm_dev_register(&tvm, &da), 0);
    CHECK_EQ(vm_dev_register(&tvm, &db), 0);
    CHECK_EQ(vm_dev_register(&tvm, &dc), 0);
    dc.name = NULL;
    CHECK_EQ(vm_dev_register(&tvm, &dc), -EINVAL);
    CHECK_EQ(vm_reset_devices(&tvm), 2);                 /* b has two requests in flight */
    CHECK_STR(calls, "ab");
    vm_destroy_devices(&tvm);
    CHECK_STR(calls, "abCBA");
    CHECK_EQ(tvm.ndevs, 0);
    for (int i = 0; i < 40; i++)                        /* the table grows past its first 16 */
        CHECK_EQ(vm_dev_register(&tvm, &dn), 0);
    CHECK_EQ(tvm.ndevs, 40);
    vm_destroy_devices(&tvm);                           /* and is freed (LeakSanitizer checks) */
    CHECK(tvm.devs == NULL);
}

TEST(registry_new_state_is_zeroed_registered_and_freed)
{
    struct vm_dev d = { .name = "z", .destroy = vm_dev_free, .dev = &tvm };
    int rc = 1;
    uint8_t *z;
    tvm_new();
    z = vm_dev_new(&tvm, 64, &d, &rc);
    CHECK(z != NULL);
    CHECK_EQ(rc, 0);
    for (int i = 0; i < 64; i++)
        CHECK_EQ(z[i], 0);
    CHECK_EQ(tvm.ndevs, 1);
    CHECK(tvm.devs[0].dev == z);                        /* the new state, not what reg->dev held */
    d.name = NULL;
    CHECK(vm_dev_new(&tvm, 64, &d, &rc) == NULL);       /* refused: nothing registered, nothing leaked */
    CHECK_EQ(rc, -EINVAL);
    CHECK_EQ(tvm.ndevs, 1);
    vm_destroy_devices(&tvm);                           /* vm_dev_free frees it (LeakSanitizer checks) */
    CHECK(tvm.devs == NULL);
}

/* ---- virtio-mmio driver side: rings at 0x1000 (desc), 0x2000 (avail), 0x3000 (used), 8 entries ---- */
#define QSZ 8
static struct mmio_range *dev_win;
static void w32(uint64_t off, uint32_t v) { dev_win->write(dev_win->dev, off, 4, v); }
static uint32_t r32(uint64_t off) { uint64_t v; dev_win->read(dev_win->dev, off, 4, &v); return (uint32_t)v; }
static uint16_t ring16(uint64_t gpa) { uint16_t v; memcpy(&v, mem + gpa, 2); return v; }

/* Bring queue q up at base + 0x1000/0x2000/0x3000, then DRIVER_OK (3.1.1). */
static void drv_up(int nq)
{
    w32(0x70, 1);
    w32(0x70, 3);
    w32(0x24, 1);
    w32(0x20, 1);                                        /* VERSION_1 */
    w32(0x70, 11);
    for (int q = 0; q < nq; q++) {
        uint64_t base = (uint64_t)q * 0x10000;
        w32(0x30, (uint32_t)q);
        w32(0x38, QSZ);
        w32(0x80, (uint32_t)(base + 0x1000));
        w32(0x90, (uint32_t)(base + 0x2000));
        w32(0xa0, (uint32_t)(base + 0x3000));
        w32(0x44, 1);
    }
    w32(0x70, 15);
}

static void put_desc(uint64_t base, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = mem + base + 0x1000 + 16 * i;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static void offer(uint64_t base, uint16_t head)
{
    uint16_t idx = ring16(base + 0x2002);
    memcpy(mem + base + 0x2004 + 2 * (idx % QSZ), &head, 2);
    idx++;
    memcpy(mem + base + 0x2002, &idx, 2);
}

TEST(reset_with_disk_read_in_flight_writes_nothing_after)
{
    struct blk_mock *disk = blk_mock_create(64 * 512, 7, 1);
    uint32_t hdr[4] = { 0, 0, 3, 0 };                    /* VIRTIO_BLK_T_IN, sector 3 */
    tvm_new();
    CHECK_EQ(virtio_blk_attach(&tvm, 0, &disk->dev), 0);
    dev_win = &tvm.mmio[0];
    drv_up(1);
    CHECK_EQ(r32(0x70), 15);
    memcpy(mem + 0x8000, hdr, 16);
    mem[0x9000] = 0xee;
    put_desc(0, 0, 0x8000, 16, VRING_DESC_F_NEXT, 1);
    put_desc(0, 1, 0xa000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    put_desc(0, 2, 0x9000, 1, VRING_DESC_F_WRITE, 0);
    offer(0, 0);
    w32(0x50, 0);
    CHECK_EQ(disk->nq, 1);                               /* the read is at the disk */
    CHECK(vm_reset_devices(&tvm) > 0);                   /* still in flight: the guest must not restart yet */
    CHECK_EQ(r32(0x70), 0);                              /* the device is back to its reset state */
    CHECK_EQ(blk_mock_complete(disk, 0), 0);
    CHECK_EQ(ring16(0x3002), 0);                         /* no used-ring entry ... */
    CHECK_EQ(mem[0x9000], 0xee);                         /* ... and no status byte for the old request */
    CHECK_EQ(vm_reset_devices(&tvm), 0);                 /* idle: the platform may reload and restart */
    vm_destroy_devices(&tvm);
    disk->dev.ops->close(&disk->dev);
}

static void peer_tx(void *ctx, const void *frame, size_t len) { (void)ctx; (void)frame; (void)len; }

TEST(reset_stops_frame_delivery)
{
    static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
    uint8_t frame[60];
    tvm_new();
    CHECK_EQ(virtio_net_attach(&tvm, 1, mac), 0);
    dev_win = &tvm.mmio[0];
    drv_up(2);
    CHECK_EQ(r32(0x70), 15);
    put_desc(0, 0, 0x40000, 2048, VRING_DESC_F_WRITE, 0);    /* one receive buffer */
    offer(0, 0);
    vm_reset_devices(&tvm);
    int port = vswitch_port_add(vswitch_default(), "peer", peer_tx, NULL, NULL);   /* the uplink: it learns */
    CHECK(port >= 0);
    memset(frame, 0xff, sizeof(frame));                  /* broadcast: every port gets it */
    vswitch_input(vswitch_default(), port, frame, sizeof(frame));
    CHECK_EQ(ring16(0x3002), 0);                         /* nothing received into the old ring */
    CHECK_EQ(mem[0x40000], 0);
    vswitch_port_remove(vswitch_default(), port);
    vm_destroy_devices(&tvm);
}
