/* virtio-blk (virtio 1.x, 5.2) on virtio-mmio: read, write, flush, get-id against an async struct blk_dev. */
#include "vmm/dev/devices.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/snapshot.h"
#include "vmm/vm.h"
#include "blk/blk.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"

/* Features (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX  1
#define VIRTIO_BLK_F_SEG_MAX   2
#define VIRTIO_BLK_F_RO        5
#define VIRTIO_BLK_F_BLK_SIZE  6
#define VIRTIO_BLK_F_FLUSH     9
/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN      0
#define VIRTIO_BLK_T_OUT     1
#define VIRTIO_BLK_T_FLUSH   4
#define VIRTIO_BLK_T_GET_ID  8
#define VIRTIO_BLK_S_OK      0
#define VIRTIO_BLK_S_IOERR   1
#define VIRTIO_BLK_S_UNSUPP  2
#define VIRTIO_BLK_ID_BYTES  20

/* Segment limits: a segment of at most one page spans at most two host pages, so a request always
 * fits BLK_MAX_IOV host-contiguous pieces. */
#define VBLK_SIZE_MAX  4096u
#define VBLK_SEG_MAX   (BLK_MAX_IOV / 2)
#define PAGE           4096ull

struct vblk_slot {
    struct gmem_lease *ram;        /* the guest RAM the request reads into stays owned until it is done */
    struct blk_req req;
    uint64_t iov_gpa[BLK_MAX_IOV];  /* guest address of each req.iov piece: a read marks them dirty */
    struct vblk *dev;
    uint64_t status_gpa;
    uint32_t written;              /* bytes the device writes into the chain on success */
    uint32_t gen;                  /* queue 0's generation when the request was taken */
    uint16_t head;
    uint8_t busy;
};

struct vblk {
    struct virtio_mmio mmio;       /* first: the transport's state is the device state */
    struct blk_dev *disk;
    int inflight, stalled, dead;
    uint64_t reads, writes, read_bytes, write_bytes;   /* requests accepted by the disk (live counters) */
    struct vblk_slot slot[VQ_NUM_MAX];
};

static int vblk_cfg_read(void *dp, uint64_t off, int size, uint64_t *val)
{
    struct vblk *d = dp;
    uint8_t cfg[24] = { 0 };
    uint64_t cap = d->disk->sectors;
    uint32_t size_max = VBLK_SIZE_MAX, seg_max = VBLK_SEG_MAX, bs = d->disk->block_size ? d->disk->block_size : 512;
    memcpy(cfg + 0, &cap, 8);                /* 5.2.4: capacity, size_max, seg_max, geometry, blk_size */
    memcpy(cfg + 8, &size_max, 4);
    memcpy(cfg + 12, &seg_max, 4);
    memcpy(cfg + 20, &bs, 4);
    *val = 0;
    if (off < sizeof(cfg) && size <= 8 && off + (uint64_t)size <= sizeof(cfg))
        memcpy(val, cfg + off, (size_t)size);
    return 0;
}

/* Append [gpa, gpa+len) to s's scatter list, split where host or guest pages are not contiguous; the
 * device writes into those pages when write is set (a read from the disk). */
static int map_range(struct vm *vm, struct vblk_slot *s, uint64_t gpa, uint64_t len, int write)
{
    struct blk_req *req = &s->req;
    while (len) {
        uint64_t n = PAGE - gpa % PAGE < len ? PAGE - gpa % PAGE : len;
        uint8_t *p = write ? gpa_ptr_w(vm, gpa, n) : gpa_ptr(vm, gpa, n);
        if (!p)
            return -EFAULT;
        struct blk_iov *last = req->niov ? &req->iov[req->niov - 1] : NULL;
        if (last && (uint8_t *)last->base + last->len == p && s->iov_gpa[req->niov - 1] + last->len == gpa) {
            last->len += n;
        } else {
            if (req->niov >= BLK_MAX_IOV)
                return -E2BIG;
            s->iov_gpa[req->niov] = gpa;
            req->iov[req->niov++] = (struct blk_iov){ p, n };
        }
        gpa += n;
        len -= n;
    }
    return 0;
}

/* The data buffers: readable after the 16-byte header (OUT) or writable before the status byte (IN). */
static int map_data(struct vm *vm, const struct vq_chain *c, int write, struct vblk_slot *s)
{
    uint64_t skip = write ? 0 : 16, left = write ? c->in_len - 1 : c->out_len - 16;
    for (int i = 0; i < c->n && left; i++) {
        const struct vq_buf *b = &c->buf[i];
        if (b->write != write)
            continue;
        if (skip >= b->len) {
            skip -= b->len;
            continue;
        }
        uint64_t n = b->len - skip < left ? b->len - skip : left;
        if (b->len > VBLK_SIZE_MAX + 16 || map_range(vm, s, b->gpa + skip, n, write) < 0)
            return -EINVAL;
        left -= n;
        skip = 0;
    }
    return 0;
}

static void vblk_finish(struct vblk *d, uint16_t head, uint64_t status_gpa, uint8_t status, uint32_t written)
{
    struct virtio_mmio *m = &d->mmio;
    if (status_gpa && gpa_write(m->vm, status_gpa, &status, 1) == 0)
        written += 1;
    else
        written = 0;
    if (vq_push(m->vm, &m->st.q[0], head, written) < 0) {
        virtio_mmio_fail(m, "used ring not writable", NULL);
        return;
    }
    virtio_mmio_used(m, 0);
}

static void vblk_process(struct vblk *d);

/* The disk has written into the guest's pages (whatever the status, stale or not): dirty again now, as a
 * migration round may have collected them while the request was at the disk. */
static void mark_read_done(struct vm *vm, const struct vblk_slot *s)
{
    if (s->req.op != BLK_READ)
        return;
    for (int i = 0; i < s->req.niov; i++)
        gmem_mark_dirty(vm, s->iov_gpa[i], s->req.iov[i].len);
}

static void vblk_done(struct blk_req *req, int status)
{
    struct vblk_slot *s = req->priv;
    struct vblk *d = s->dev;
    struct gmem_lease *ram = s->ram;
    if (!d->dead)
        mark_read_done(d->mmio.vm, s);
    s->busy = 0;
    d->inflight--;
    if (d->dead) {
        if (d->inflight == 0)
            kfree(d);
        gmem_unhold(ram);              /* the VM is gone: its RAM may go back now */
        return;
    }
    /* Reset, queue stopped or device broken since the request was taken: stale, it writes nothing. */
    if (virtio_mmio_queue_current(&d->mmio, 0, s->gen))
        vblk_finish(d, s->head, s->status_gpa, status ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, status ? 0 : s->written);
    gmem_unhold(ram);
    if (d->stalled) {                  /* a slot is free, stale or not: take the waiting chain */
        d->stalled = 0;
        vblk_process(d);
    }
}

static struct vblk_slot *slot_get(struct vblk *d)
{
    for (int i = 0; i < VQ_NUM_MAX; i++)
        if (!d->slot[i].busy)
            return &d->slot[i];
    return NULL;
}

/* Build and submit the block request of chain c. Returns a virtio status when it completes now, -1 when
 * submitted (completion comes through vblk_done), -EAGAIN when the disk is busy (retry the chain). */
static int vblk_submit(struct vblk *d, const struct vq_chain *c, uint32_t type, uint64_t sector, uint64_t status_gpa)
{
    struct vblk_slot *s = slot_get(d);
    if (!s)
        return -EAGAIN;
    struct blk_req *r = &s->req;
    memset(r, 0, sizeof(*r));
    int write = type == VIRTIO_BLK_T_IN;         /* the device writes into the guest's buffers */
    uint64_t bytes = write ? c->in_len - 1 : c->out_len - 16;
    r->op = type == VIRTIO_BLK_T_FLUSH ? BLK_FLUSH : type == VIRTIO_BLK_T_IN ? BLK_READ : BLK_WRITE;
    if (r->op != BLK_FLUSH) {
        if (bytes % BLK_SECTOR_SIZE || bytes / BLK_SECTOR_SIZE > 0xffffffffull || map_data(d->mmio.vm, c, write, s) < 0)
            return VIRTIO_BLK_S_IOERR;
        r->lba = sector;
        r->nr = (uint32_t)(bytes / BLK_SECTOR_SIZE);
    }
    r->done = vblk_done;
    r->priv = s;
    s->dev = d;
    s->status_gpa = status_gpa;
    s->written = write ? (uint32_t)bytes : 0;
    s->gen = virtio_mmio_queue_gen(&d->mmio, 0);
    s->head = c->head;
    s->busy = 1;
    s->ram = gmem_hold(d->mmio.vm);
    d->inflight++;
    int rc = blk_submit(d->disk, &s->req);
    if (rc == 0) {
        if (r->op == BLK_READ)
            d->reads++, d->read_bytes += bytes;
        else if (r->op == BLK_WRITE)
            d->writes++, d->write_bytes += bytes;
        return -1;
    }
    s->busy = 0;
    d->inflight--;
    gmem_unhold(s->ram);
    return rc == -EAGAIN ? -EAGAIN : VIRTIO_BLK_S_IOERR;
}

/* One chain: check the header and status byte (5.2.6), then do the request. -EAGAIN to retry it later. */
static int vblk_request(struct vblk *d, const struct vq_chain *c)
{
    struct vm *vm = d->mmio.vm;
    const struct vq_buf *last = c->n ? &c->buf[c->n - 1] : NULL;
    uint32_t hdr[4];
    uint64_t sector, status_gpa = last && last->write ? last->gpa + last->len - 1 : 0;
    if (!status_gpa || c->out_len < 16 || vq_copy_from(vm, c, 0, hdr, 16) != 16) {
        vblk_finish(d, c->head, status_gpa, VIRTIO_BLK_S_IOERR, 0);
        return 0;
    }
    memcpy(&sector, &hdr[2], 8);
    int st;
    switch (hdr[0]) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_FLUSH:
        st = vblk_submit(d, c, hdr[0], sector, status_gpa);
        break;
    case VIRTIO_BLK_T_OUT:      /* 5.2.6.2: a read-only device fails writes with IOERR, writing nothing */
        st = d->disk->read_only ? VIRTIO_BLK_S_IOERR : vblk_submit(d, c, hdr[0], sector, status_gpa);
        break;
    case VIRTIO_BLK_T_GET_ID: {
        char id[VIRTIO_BLK_ID_BYTES] = { 0 };
        memcpy(id, d->disk->name, strnlen(d->disk->name, sizeof(id)));
        long n = vq_copy_to(vm, c, 0, id, c->in_len - 1 < sizeof(id) ? c->in_len - 1 : sizeof(id));
        vblk_finish(d, c->head, status_gpa, n < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, n < 0 ? 0 : (uint32_t)n);
        return 0;
    }
    default:
        st = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    if (st == -EAGAIN)
        return -EAGAIN;
    if (st >= 0)
        vblk_finish(d, c->head, status_gpa, (uint8_t)st, 0);
    return 0;
}

static void vblk_process(struct vblk *d)
{
    static struct vq_chain c;          /* one context runs devices: no allocation per request */
    struct virtio_mmio *m = &d->mmio;
    while (virtio_mmio_live(m) && m->st.q[0].ready) {
        int rc = vq_pop(m->vm, &m->st.q[0], &c);
        if (rc == 0)
            return;
        if (rc < 0) {                  /* a malformed chain fails that request alone */
            if (virtio_mmio_refused(m, 0, rc, &c) < 0)
                return;
            continue;
        }
        if (vblk_request(d, &c) == -EAGAIN) {
            m->st.q[0].last_avail--;   /* take it again after a completion */
            d->stalled = 1;
            return;
        }
    }
}

static void vblk_notify(void *dp, int q)
{
    (void)q;
    vblk_process(dp);
}

static void vblk_reset(void *dp)
{
    struct vblk *d = dp;
    d->stalled = 0;                    /* the transport bumped the queue's generation */
}

int virtio_blk_inflight(const void *dp)
{
    const struct vblk *d = dp;
    return d->inflight;
}

static const struct virtio_dev_ops vblk_ops_rw = {
    .name = "virtio-blk", .device_id = 2, .nqueues = 1, .cfg_read = vblk_cfg_read, .notify = vblk_notify, .reset = vblk_reset,
    .features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
                (1ull << VIRTIO_BLK_F_FLUSH),
};
static const struct virtio_dev_ops vblk_ops_ro = {
    .name = "virtio-blk", .device_id = 2, .nqueues = 1, .cfg_read = vblk_cfg_read, .notify = vblk_notify, .reset = vblk_reset,
    .features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
                (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_RO),
};

static void vblk_destroy(struct vm *vm, void *arg)
{
    struct vblk *d = arg;
    (void)vm;
    virtio_kick_forget(&d->mmio);
    d->dead = 1;
    if (d->inflight == 0)
        kfree(d);                      /* else the last completion frees it */
}

/* Requests still at the disk (a reset drops their completions; their data may still arrive). */
static int vblk_quiesce(struct vm *vm, void *dp)
{
    struct vblk *d = dp;
    (void)vm;
    virtio_kick_flush(&d->mmio);       /* notifications from other CPUs first: their requests count too */
    return virtio_blk_inflight(dp);
}

void virtio_blk_snapshot(void *dp, struct snap *s)
{
    struct vblk *d = dp;
    virtio_mmio_snapshot(&d->mmio.st, s);
    virtio_mmio_restored(&d->mmio, s);
}

int virtio_blk_attach(struct vm *vm, int slot, struct blk_dev *disk)
{
    if (!disk || !disk->sectors)
        return -EINVAL;
    struct vblk *d = kzalloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->disk = disk;
    d->mmio.ops = disk->read_only ? &vblk_ops_ro : &vblk_ops_rw;
    d->mmio.dev = d;
    struct vm_dev reg = { .name = "virtio-blk",
                          .snapshot = virtio_blk_snapshot,
                          .quiesce = vblk_quiesce,
                          .reset = virtio_mmio_vm_reset,
                          .destroy = vblk_destroy,
                          .dev = d };
    int rc = virtio_mmio_register(&d->mmio, vm, slot);
    if (rc == 0)
        rc = vm_dev_register(vm, &reg);
    if (rc < 0) {
        kfree(d);      /* a registered window is dropped with the VM, which the caller destroys */
        return rc;
    }
    log_info("vm %s: virtio-blk slot %d: %s, %llu sectors%s", vm->name, slot, disk->name,
             (unsigned long long)disk->sectors, disk->read_only ? ", read-only" : "");
    return 0;
}

/* The disk half of virtio_io_stats (vmm/dev/virtio_net.c has the rest). */
void virtio_blk_io_stats(struct vm *vm, struct virtio_io_stats *st)
{
    for (int i = 0; i < vm->ndevs; i++) {
        const struct vblk *d = vm->devs[i].dev;
        if (strcmp(vm->devs[i].name, "virtio-blk") || !d)
            continue;
        st->disk_reads += d->reads;
        st->disk_writes += d->writes;
        st->disk_read_bytes += d->read_bytes;
        st->disk_write_bytes += d->write_bytes;
    }
}
