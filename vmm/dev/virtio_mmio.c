/* The virtio-mmio transport, version 2 (virtio 1.x, 4.2.2): register file shared by virtio-blk and virtio-net. */
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/devices.h"
#include "vmm/dev/snapshot.h"
#include "vmm/vm.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/log.h"

#define VIRTIO_MMIO_STATE_VERSION 1

/* Register offsets (4.2.2, table "MMIO Device Register Layout"). */
enum {
    R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
    R_DEV_FEAT = 0x010, R_DEV_FEAT_SEL = 0x014, R_DRV_FEAT = 0x020, R_DRV_FEAT_SEL = 0x024,
    R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044,
    R_QUEUE_NOTIFY = 0x050, R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
    R_DESC_LO = 0x080, R_DESC_HI = 0x084, R_DRIVER_LO = 0x090, R_DRIVER_HI = 0x094,
    R_DEVICE_LO = 0x0a0, R_DEVICE_HI = 0x0a4, R_SHM_LEN_LO = 0x0b0, R_SHM_LEN_HI = 0x0b4,
    R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

static uint64_t offered(const struct virtio_mmio *m)
{
    return m->ops->features | (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_INDIRECT_DESC);
}

int virtio_mmio_live(const struct virtio_mmio *m)
{
    return (m->st.status & VIRTIO_STATUS_DRIVER_OK) && !(m->st.status & VIRTIO_STATUS_NEEDS_RESET);
}

void virtio_mmio_interrupt(struct virtio_mmio *m, uint32_t bits)
{
    m->st.isr |= bits;
    vm_irq_pulse(m->vm, m->gsi);
}

void virtio_mmio_used(struct virtio_mmio *m, int q)
{
    if (vq_want_irq(m->vm, &m->st.q[q]))
        virtio_mmio_interrupt(m, VIRTIO_INT_USED);
}

/* A guest makes as many of these as it likes: log a device's first 8, then the 16th, 32nd, 64th... */
static int complain(struct virtio_mmio *m)
{
    uint32_t n = ++m->complaints;
    if (n == 8)
        log_warn("vm %s: %s slot %d: further faults of this device logged at powers of two only",
                 m->vm->name, m->ops->name, m->slot);
    return n <= 8 || !(n & (n - 1));
}

void virtio_mmio_fail(struct virtio_mmio *m, const char *what, const char *detail)
{
    if (m->st.status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    if (complain(m))
        log_warn("vm %s: %s slot %d: %s%s%s%s: device needs reset", m->vm->name, m->ops->name, m->slot, what,
                 detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
    m->st.status |= VIRTIO_STATUS_NEEDS_RESET;
    m->st.config_gen++;
    virtio_mmio_interrupt(m, VIRTIO_INT_CONFIG);
}

int virtio_mmio_refused(struct virtio_mmio *m, int q, int rc, const struct vq_chain *c)
{
    static const char *const ring[VIRTIO_QUEUES_MAX] = { "queue 0 ring corrupt", "queue 1 ring corrupt" };
    if (rc == -EIO || q < 0 || q >= VIRTIO_QUEUES_MAX) {
        virtio_mmio_fail(m, q == 1 ? ring[1] : ring[0], c->why);
        return -1;
    }
    if (complain(m))
        log_warn("vm %s: %s slot %d: malformed descriptor chain at head %u of queue %d: %s", m->vm->name,
                 m->ops->name, m->slot, c->head, q, c->why ? c->why : "?");
    if (vq_push(m->vm, &m->st.q[q], c->head, 0) < 0) {
        virtio_mmio_fail(m, "used ring not writable", NULL);
        return -1;
    }
    virtio_mmio_used(m, q);
    return 0;
}

void virtio_mmio_reset(struct virtio_mmio *m)
{
    memset(&m->st, 0, sizeof(m->st));
    m->st.version = VIRTIO_MMIO_STATE_VERSION;
    m->kicked = 0;                            /* the queues restart: recorded notifications mean nothing */
    for (int i = 0; i < VIRTIO_QUEUES_MAX; i++)
        m->qgen[i]++;
    if (m->ops->reset)
        m->ops->reset(m->dev);
}

void virtio_mmio_vm_reset(struct vm *vm, void *m)
{
    (void)vm;
    virtio_mmio_reset(m);
}

uint32_t virtio_mmio_queue_gen(const struct virtio_mmio *m, int q)
{
    return q >= 0 && q < VIRTIO_QUEUES_MAX ? m->qgen[q] : 0;
}

int virtio_mmio_queue_current(const struct virtio_mmio *m, int q, uint32_t gen)
{
    if (q < 0 || q >= m->ops->nqueues || q >= VIRTIO_QUEUES_MAX)
        return 0;
    return virtio_mmio_live(m) && m->st.q[q].ready && m->qgen[q] == gen;
}

static struct vq_state *cur_queue(struct virtio_mmio *m)
{
    return m->st.queue_sel < (uint32_t)m->ops->nqueues ? &m->st.q[m->st.queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_mmio *m, uint64_t off)
{
    struct vq_state *q = cur_queue(m);
    uint64_t feat = offered(m);
    switch (off) {
    case R_MAGIC: return VIRTIO_MMIO_MAGIC;
    case R_VERSION: return 2;
    case R_DEVICE_ID: return m->ops->device_id;
    case R_VENDOR_ID: return VIRTIO_VENDOR_SHOAL;
    case R_DEV_FEAT: return m->st.dev_feat_sel == 0 ? (uint32_t)feat : m->st.dev_feat_sel == 1 ? (uint32_t)(feat >> 32) : 0;
    case R_QUEUE_NUM_MAX: return q ? VQ_NUM_MAX : 0;
    case R_QUEUE_NUM: return q ? q->num : 0;
    case R_QUEUE_READY: return q ? q->ready : 0;
    case R_INT_STATUS: return m->st.isr;
    case R_STATUS: return m->st.status;
    case R_DESC_LO: return q ? (uint32_t)q->desc : 0;
    case R_DESC_HI: return q ? (uint32_t)(q->desc >> 32) : 0;
    case R_DRIVER_LO: return q ? (uint32_t)q->avail : 0;
    case R_DRIVER_HI: return q ? (uint32_t)(q->avail >> 32) : 0;
    case R_DEVICE_LO: return q ? (uint32_t)q->used : 0;
    case R_DEVICE_HI: return q ? (uint32_t)(q->used >> 32) : 0;
    case R_SHM_LEN_LO: case R_SHM_LEN_HI: return 0xffffffffu;   /* no shared memory regions */
    case R_CONFIG_GEN: return m->st.config_gen;
    default: return 0;
    }
}

static void set_half(uint64_t *field, int high, uint32_t v)
{
    *field = high ? (*field & 0xffffffffull) | ((uint64_t)v << 32) : (*field & ~0xffffffffull) | v;
}

static void write_status(struct virtio_mmio *m, uint32_t v)
{
    if (v == 0) {
        virtio_mmio_reset(m);
        return;
    }
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(m->st.status & VIRTIO_STATUS_FEATURES_OK)) {
        /* 3.1.1: accept only a subset of what we offered, and only a modern driver (VERSION_1). */
        uint64_t f = m->st.driver_features;
        if ((f & ~offered(m)) || !(f & (1ull << VIRTIO_F_VERSION_1)))
            v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
    }
    m->st.status = v | (m->st.status & VIRTIO_STATUS_NEEDS_RESET);
}

static void write_queue_ready(struct virtio_mmio *m, struct vq_state *q, uint32_t v)
{
    if (!(v & 1)) {
        /* The queue stops: its size and rings may change now (4.2.2.3), so what is in flight on it
         * must never be completed onto it (issue 12: a completion divided by a size of 0). */
        if (q->ready)
            m->qgen[q - m->st.q]++;
        q->ready = 0;
        return;
    }
    if (vq_validate(m->vm, q) < 0) {
        virtio_mmio_fail(m, "queue set up outside RAM, misaligned or with a bad size", NULL);
        return;
    }
    q->ready = 1;
}

static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
    struct vq_state *q = cur_queue(m);
    int qwritable = q && !q->ready;          /* 4.2.2.3: queue registers are set while not ready */
    switch (off) {
    case R_DEV_FEAT_SEL: m->st.dev_feat_sel = v; break;
    case R_DRV_FEAT_SEL: m->st.drv_feat_sel = v; break;
    case R_DRV_FEAT:
        if (m->st.drv_feat_sel < 2 && !(m->st.status & VIRTIO_STATUS_FEATURES_OK))
            set_half(&m->st.driver_features, (int)m->st.drv_feat_sel, v);
        break;
    case R_QUEUE_SEL: m->st.queue_sel = v; break;
    case R_QUEUE_NUM: if (qwritable) q->num = (uint16_t)(v > VQ_NUM_MAX ? 0 : v); break;
    case R_QUEUE_READY: if (q) write_queue_ready(m, q, v); break;
    case R_QUEUE_NOTIFY:
        if (v < (uint32_t)m->ops->nqueues && m->st.q[v].ready && virtio_mmio_live(m) &&
            !virtio_kick_defer(m, (int)v))
            m->ops->notify(m->dev, (int)v);
        break;
    case R_INT_ACK: m->st.isr &= ~v; break;
    case R_STATUS: write_status(m, v); break;
    case R_DESC_LO: case R_DESC_HI: if (qwritable) set_half(&q->desc, off == R_DESC_HI, v); break;
    case R_DRIVER_LO: case R_DRIVER_HI: if (qwritable) set_half(&q->avail, off == R_DRIVER_HI, v); break;
    case R_DEVICE_LO: case R_DEVICE_HI: if (qwritable) set_half(&q->used, off == R_DEVICE_HI, v); break;
    default: break;                           /* read-only or reserved: ignored */
    }
}

/* Accesses of 1, 2, 4 or 8 bytes inside the window: the only widths a device here decodes (a width is a
 * length handed on to the configuration readers' copies). */
static int access_ok(uint64_t off, int size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && off < PLAT_VIRTIO_SIZE &&
           off + (uint64_t)size <= PLAT_VIRTIO_SIZE;
}

int virtio_mmio_read(void *mp, uint64_t off, int size, uint64_t *val)
{
    struct virtio_mmio *m = mp;
    *val = 0;
    if (!access_ok(off, size))
        return 0;                             /* reads as 0, as a reserved register does */
    if (off >= R_CONFIG)
        return m->ops->cfg_read ? m->ops->cfg_read(m->dev, off - R_CONFIG, size, val) : 0;
    if (size == 4 && !(off & 3))              /* 4.2.2.2: registers are read 32 bits wide */
        *val = reg_read(m, off);
    return 0;
}

int virtio_mmio_write(void *mp, uint64_t off, int size, uint64_t val)
{
    struct virtio_mmio *m = mp;
    if (!access_ok(off, size) || off >= R_CONFIG)
        return 0;                             /* no writable configuration fields offered */
    if (size == 4 && !(off & 3))
        reg_write(m, off, (uint32_t)val);
    return 0;
}

int virtio_mmio_register(struct virtio_mmio *m, struct vm *vm, int slot)
{
    if (slot < 0 || slot >= 16)
        return -EINVAL;
    m->vm = vm;
    m->slot = slot;
    m->gsi = PLAT_VIRTIO_GSI0 + slot;
    virtio_mmio_reset(m);
    struct mmio_range r = { .base = PLAT_VIRTIO_BASE + (uint64_t)slot * PLAT_VIRTIO_SIZE, .len = PLAT_VIRTIO_SIZE,
                            .read = virtio_mmio_read, .write = virtio_mmio_write, .dev = m };
    return vm_register_mmio(vm, &r);
}

void virtio_mmio_snapshot(struct virtio_mmio_state *st, struct snap *s)
{
    snap_header(s, 0x4f495456 /* "VTIO" */, VIRTIO_MMIO_STATE_VERSION);
    SNAP(s, st->status);
    SNAP(s, st->isr);
    SNAP(s, st->dev_feat_sel);
    SNAP(s, st->drv_feat_sel);
    SNAP(s, st->queue_sel);
    SNAP(s, st->config_gen);
    SNAP(s, st->driver_features);
    for (int i = 0; i < VIRTIO_QUEUES_MAX; i++) {
        SNAP(s, st->q[i].desc);
        SNAP(s, st->q[i].avail);
        SNAP(s, st->q[i].used);
        SNAP(s, st->q[i].num);
        SNAP(s, st->q[i].last_avail);
        SNAP(s, st->q[i].used_idx);
        SNAP(s, st->q[i].ready);
    }
}

void virtio_mmio_restored(struct virtio_mmio *m, struct snap *s)
{
    for (int i = 0; i < VIRTIO_QUEUES_MAX && !s->save && !s->err; i++) {
        const struct vq_state *q = &m->st.q[i];
        if (i >= m->ops->nqueues ? (q->ready || q->num) : (q->ready && vq_validate(m->vm, q) < 0))
            snap_fail(s, "virtio queue outside RAM, misaligned or with a bad size");
        else if (q->num > VQ_NUM_MAX)
            snap_fail(s, "virtio queue size above the maximum");
    }
}
