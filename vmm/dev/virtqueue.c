/* Split virtqueues (virtio 1.x, 2.7): chain walking, used ring, copies; every guest value is checked. */
#include "vmm/dev/virtqueue.h"
#include "vmm/vm.h"
#include "kernel/errno.h"

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

#define barrier() __asm__ __volatile__("" ::: "memory")

static int in_ram(struct vm *vm, uint64_t gpa, uint64_t len)
{
    return gpa + len >= gpa && gpa + len <= vm->mem_size;
}

int vq_validate(struct vm *vm, const struct vq_state *q)
{
    uint64_t n = q->num;
    if (n == 0 || n > VQ_NUM_MAX || (n & (n - 1)))
        return -EINVAL;
    if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))     /* 2.7: alignment 16 / 2 / 4 */
        return -EINVAL;
    if (!in_ram(vm, q->desc, 16 * n) || !in_ram(vm, q->avail, 6 + 2 * n) || !in_ram(vm, q->used, 6 + 8 * n))
        return -EINVAL;
    return 0;
}

/* A queue the device may touch now: ready, and its size and rings still valid (a restored or reconfigured
 * state is as hostile as a fresh one: nothing below divides by or indexes with an unchecked num). */
static int usable(struct vm *vm, const struct vq_state *q)
{
    return q->ready && vq_validate(vm, q) == 0;
}

static int read_u16(struct vm *vm, uint64_t gpa, uint16_t *v)
{
    return gpa_read(vm, gpa, v, 2);
}

/* Refuse the chain (or ring) in c with rc, naming why for the device's log line. */
static int refuse(struct vq_chain *c, int rc, const char *why)
{
    c->why = why;
    return rc;
}

/* Add one buffer of a descriptor to c, enforcing the chain rules (2.7.4.2: readable before writable). */
static int chain_add(struct vm *vm, struct vq_chain *c, const struct vring_desc *d)
{
    int write = !!(d->flags & VRING_DESC_F_WRITE);
    if (d->len > VQ_BUF_LEN_MAX)
        return refuse(c, -EINVAL, "buffer longer than 16 MiB");
    if (!in_ram(vm, d->addr, d->len))
        return refuse(c, -EINVAL, "buffer outside RAM");
    if (!write && c->in_len)
        return refuse(c, -EINVAL, "readable buffer after a writable one");
    if (d->len == 0)
        return 0;
    if (c->n >= VQ_CHAIN_MAX)
        return refuse(c, -EINVAL, "more than 64 buffers");
    c->buf[c->n++] = (struct vq_buf){ d->addr, d->len, (uint8_t)write };
    if (write)
        c->in_len += d->len;
    else
        c->out_len += d->len;
    return 0;
}

/* 2.7.5.3.1: an indirect table is not inside another, not chained on (NEXT), a whole number of entries,
 * at most a chain's worth, inside RAM. 0 or -EINVAL. */
static int indirect_check(struct vm *vm, struct vq_chain *c, const struct vring_desc *d, int nested)
{
    if (nested)
        return refuse(c, -EINVAL, "indirect table inside an indirect table");
    if (d->flags & VRING_DESC_F_NEXT)
        return refuse(c, -EINVAL, "indirect table with NEXT");
    if (d->len == 0 || d->len % 16 || d->len / 16 > VQ_CHAIN_MAX)
        return refuse(c, -EINVAL, "indirect table size not 1-64 whole entries");
    if (!in_ram(vm, d->addr, d->len))
        return refuse(c, -EINVAL, "indirect table outside RAM");
    return 0;
}

/*
 * Walk the chain starting at c->head. A table of count descriptors holds at most count steps of a
 * loop-free chain, so more steps means a loop (2.7.5.3.1: an indirect table is used only once).
 */
static int chain_walk(struct vm *vm, const struct vq_state *q, struct vq_chain *c)
{
    uint64_t base = q->desc;
    uint32_t count = q->num, steps = 0, i = c->head;
    int indirect = 0, rc;
    for (;;) {
        struct vring_desc d;
        if (i >= count)
            return refuse(c, -EINVAL, "next descriptor past the table");
        if (++steps > count)
            return refuse(c, -EINVAL, "descriptor loop");
        if (gpa_read(vm, base + 16ull * i, &d, sizeof(d)))
            return refuse(c, -EINVAL, "descriptor table unreadable");
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if ((rc = indirect_check(vm, c, &d, indirect)) < 0)
                return rc;
            indirect = 1;
            base = d.addr;
            count = d.len / 16;
            steps = 0;
            i = 0;
            continue;
        }
        if ((rc = chain_add(vm, c, &d)) < 0)
            return rc;
        if (!(d.flags & VRING_DESC_F_NEXT))
            return 0;
        i = d.next;
    }
}

int vq_pop(struct vm *vm, struct vq_state *q, struct vq_chain *c)
{
    uint16_t avail_idx, head;
    c->why = NULL;
    if (!q->ready)
        return 0;
    if (!usable(vm, q))
        return refuse(c, -EIO, "queue size or rings invalid");
    if (read_u16(vm, q->avail + 2, &avail_idx))
        return refuse(c, -EIO, "avail ring unreadable");
    if (avail_idx == q->last_avail)
        return 0;
    if ((uint16_t)(avail_idx - q->last_avail) > q->num)     /* 2.7.13.3: at most num outstanding */
        return refuse(c, -EIO, "avail index more than the queue size ahead");
    barrier();
    if (read_u16(vm, q->avail + 4 + 2ull * (q->last_avail % q->num), &head))
        return refuse(c, -EIO, "avail ring unreadable");
    if (head >= q->num)
        return refuse(c, -EIO, "head past the descriptor table");
    q->last_avail++;
    c->head = head;
    c->n = 0;
    c->out_len = c->in_len = 0;
    return chain_walk(vm, q, c) < 0 ? -EINVAL : 1;
}

int vq_push(struct vm *vm, struct vq_state *q, uint16_t head, uint32_t len)
{
    uint32_t elem[2] = { head, len };
    if (!usable(vm, q) || head >= q->num)
        return -EIO;
    uint64_t slot = q->used + 4 + 8ull * (q->used_idx % q->num);
    if (gpa_write(vm, slot, elem, sizeof(elem)))
        return -EIO;
    barrier();                          /* the element before the index (2.7.8) */
    q->used_idx++;
    if (gpa_write(vm, q->used + 2, &q->used_idx, 2))
        return -EIO;
    return 0;
}

int vq_want_irq(struct vm *vm, const struct vq_state *q)
{
    uint16_t flags;
    if (!usable(vm, q))
        return 0;
    if (read_u16(vm, q->avail, &flags))
        return 1;
    return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
}

static long chain_copy(struct vm *vm, const struct vq_chain *c, int write, size_t off, void *flat, size_t len)
{
    size_t done = 0;
    for (int i = 0; i < c->n && done < len; i++) {
        const struct vq_buf *b = &c->buf[i];
        if (b->write != write)
            continue;
        if (off >= b->len) {
            off -= b->len;
            continue;
        }
        size_t n = b->len - off < len - done ? b->len - off : len - done;
        int rc = write ? gpa_write(vm, b->gpa + off, (uint8_t *)flat + done, n)
                       : gpa_read(vm, b->gpa + off, (uint8_t *)flat + done, n);
        if (rc)
            return -EFAULT;
        done += n;
        off = 0;
    }
    return (long)done;
}

long vq_copy_from(struct vm *vm, const struct vq_chain *c, size_t off, void *dst, size_t len)
{
    return chain_copy(vm, c, 0, off, dst, len);
}

long vq_copy_to(struct vm *vm, const struct vq_chain *c, size_t off, const void *src, size_t len)
{
    return chain_copy(vm, c, 1, off, (void *)src, len);
}
