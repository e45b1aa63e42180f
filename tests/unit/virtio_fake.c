/* A fake VM for virtio host tests: guest memory, MMIO registration, destroy hooks, interrupts, ring helpers. */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "tests/unit/virtio_fake.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/devices.h"
#include "kernel/errno.h"
#include <stdlib.h>

struct vm fvm;
uint8_t *ram;
int irq_pulses, last_gsi;
struct mmio_range *win;

int fake_ram_holds;
static struct gmem_lease *const fake_lease = (struct gmem_lease *)&fake_ram_holds;

struct gmem_lease *gmem_hold(struct vm *vm)
{
    (void)vm;
    fake_ram_holds++;
    return fake_lease;
}

void gmem_unhold(struct gmem_lease *lease)
{
    if (lease == fake_lease)
        fake_ram_holds--;
}

void *gpa_ptr(struct vm *vm, uint64_t gpa, size_t len)
{
    if (!len || gpa + len < gpa || gpa + len > vm->mem_size)
        return NULL;
    return ram + gpa;
}
uint8_t fake_dirty[RAM_SIZE / 4096];

/* As vmm/dirty.c's log: every page of [gpa, gpa+len) inside RAM. */
void gmem_mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len)
{
    (void)vm;
    for (uint64_t p = gpa / 4096; len && p <= (gpa + len - 1) / 4096 && p < RAM_SIZE / 4096; p++)
        fake_dirty[p] = 1;
}
void *gpa_ptr_w(struct vm *vm, uint64_t gpa, size_t len)
{
    void *p = gpa_ptr(vm, gpa, len);
    if (p)
        gmem_mark_dirty(vm, gpa, len);
    return p;
}
int gpa_read(struct vm *vm, uint64_t gpa, void *buf, size_t len)
{
    if (gpa + len < gpa || gpa + len > vm->mem_size)
        return -EFAULT;
    memcpy(buf, ram + gpa, len);
    return 0;
}
void (*fake_write_hook)(uint64_t gpa, size_t len);

int gpa_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa + len < gpa || gpa + len > vm->mem_size)
        return -EFAULT;
    if (fake_write_hook)
        fake_write_hook(gpa, len);
    memcpy(ram + gpa, buf, len);
    gmem_mark_dirty(vm, gpa, len);
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

/* One vCPU's exits on CPU fake_cpu; kicks between CPUs counted; the shell's poll loop is the test's to run. */
int fake_cpu, fake_kicks[4];
int smp_this_cpu(void) { return fake_cpu; }
void smp_kick(int i) { if (i >= 0 && i < 4) fake_kicks[i]++; }
int shell_add_poller(int (*fn)(void)) { (void)fn; return 0; }
int shell_add_waiting(int (*fn)(void)) { (void)fn; return 0; }

void fake_vm_new(void)
{
    memset(&fvm, 0, sizeof(fvm));
    strcpy(fvm.name, "t");
    fvm.mem_size = RAM_SIZE;
    fvm.state = VM_RUNNING;                /* devices take work only for a running VM */
    if (!ram)
        ram = malloc(RAM_SIZE);
    memset(ram, 0, RAM_SIZE);
    irq_pulses = 0;
}

void fake_vm_destroy(void)
{
    vm_destroy_devices(&fvm);
}

void desc_set(uint64_t table, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = ram + table + 16 * i;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

void avail_push_at(uint64_t avail, uint16_t head)
{
    uint16_t idx;
    memcpy(&idx, ram + avail + 2, 2);
    memcpy(ram + avail + 4 + 2 * (idx % QN), &head, 2);
    idx++;
    memcpy(ram + avail + 2, &idx, 2);
}

void avail_push(uint16_t head) { avail_push_at(AVAIL, head); }
uint16_t used_idx(void) { uint16_t v; memcpy(&v, ram + USED + 2, 2); return v; }
uint32_t used_len(int i) { uint32_t v; memcpy(&v, ram + USED + 4 + 8 * i + 4, 4); return v; }
uint32_t used_id(int i) { uint32_t v; memcpy(&v, ram + USED + 4 + 8 * i, 4); return v; }

struct vq_state q_new(void)
{
    fake_vm_new();
    return (struct vq_state){ .desc = DESC, .avail = AVAIL, .used = USED, .num = QN, .ready = 1 };
}

uint32_t rd32(uint64_t off) { uint64_t v; win->read(win->dev, off, 4, &v); return (uint32_t)v; }
void wr32(uint64_t off, uint32_t v) { win->write(win->dev, off, 4, v); }

void queue_setup(int q, uint64_t desc, uint64_t avail, uint64_t used)
{
    wr32(0x30, (uint32_t)q);
    CHECK_EQ(rd32(0x34), VQ_NUM_MAX);
    wr32(0x38, QN);
    wr32(0x80, (uint32_t)desc);
    wr32(0x84, (uint32_t)(desc >> 32));
    wr32(0x90, (uint32_t)avail);
    wr32(0x94, (uint32_t)(avail >> 32));
    wr32(0xa0, (uint32_t)used);
    wr32(0xa4, (uint32_t)(used >> 32));
    wr32(0x44, 1);
}

uint32_t blk_setup(struct blk_dev *disk, int version_1)
{
    fake_vm_new();
    CHECK_EQ(virtio_blk_attach(&fvm, 0, disk), 0);
    win = &fvm.mmio[0];
    CHECK_U64(win->base, PLAT_VIRTIO_BASE);
    CHECK_EQ(rd32(8), 2);
    return driver_init(version_1);
}

uint32_t driver_init(int version_1)
{
    CHECK_EQ(rd32(0), VIRTIO_MMIO_MAGIC);
    CHECK_EQ(rd32(4), 2);
    wr32(0x70, 0);
    wr32(0x70, 1);
    wr32(0x70, 3);
    wr32(0x14, 1);
    CHECK(rd32(0x10) & 1);                                  /* VERSION_1 offered (bit 32) */
    wr32(0x24, 1);
    wr32(0x20, version_1 ? 1 : 0);
    wr32(0x70, 11);
    if (!(rd32(0x70) & VIRTIO_STATUS_FEATURES_OK))
        return rd32(0x70);
    queue_setup(0, DESC, AVAIL, USED);
    wr32(0x70, 15);
    return rd32(0x70);
}

uint8_t blk_req(uint32_t type, uint64_t sector, uint32_t len, int data_write)
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
