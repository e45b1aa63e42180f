/* Split virtqueues (virtio 1.x, 2.7): descriptor chains walked with every guest value checked. */
#ifndef SHOAL_VMM_VIRTQUEUE_H
#define SHOAL_VMM_VIRTQUEUE_H
#include <stdint.h>
#include <stddef.h>

struct vm;

#define VQ_NUM_MAX     256          /* QueueNumMax we offer */
#define VQ_CHAIN_MAX   64           /* buffers a device accepts in one chain (direct + indirect) */
#define VQ_BUF_LEN_MAX (1u << 24)   /* no single buffer of any device here is larger: 16 MiB */

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

/* One queue's state: plain data (part of the device snapshot). */
struct vq_state {
    uint64_t desc, avail, used;     /* guest-physical ring addresses */
    uint16_t num;                   /* queue size (power of two, <= VQ_NUM_MAX) */
    uint16_t last_avail;            /* next avail ring entry to take */
    uint16_t used_idx;              /* our copy of used->idx */
    uint8_t ready;
    uint8_t pad[1];
};

/* A buffer of a chain: guest-physical, checked to lie inside RAM. */
struct vq_buf {
    uint64_t gpa;
    uint32_t len;
    uint8_t write;                  /* device-writable */
};

struct vq_chain {
    uint16_t head;                  /* descriptor index to return on the used ring */
    int n;                          /* buffers */
    uint32_t out_len, in_len;       /* bytes readable by the device / writable by it */
    const char *why;                /* when vq_pop refused the chain or the ring: what was wrong */
    struct vq_buf buf[VQ_CHAIN_MAX];
};

/*
 * Check q's size and rings before the driver may use it (4.2.3.2): size a power of two <= VQ_NUM_MAX,
 * rings aligned (16/2/4) and wholly inside RAM. 0 or -EINVAL.
 */
int vq_validate(struct vm *vm, const struct vq_state *q);

/*
 * Take the next available chain of q into c. q is re-checked first (vq_validate): 0 when not ready, -EIO
 * when its size or rings are invalid.
 * Returns 1 with c filled; 0 when nothing is available; -EINVAL when the chain is malformed (a loop,
 * too many buffers, a buffer outside RAM or absurdly long, a nested or misplaced indirect table,
 * readable after writable): c->head is set and the chain consumed, so the caller returns it used with
 * length 0; -EIO when the ring itself is corrupt (unreadable, avail index running more than num ahead,
 * head out of range): the device must stop using q (NEEDS_RESET). On either, c->why says what was wrong.
 */
int vq_pop(struct vm *vm, struct vq_state *q, struct vq_chain *c);

/* Put head on the used ring with len bytes written. 0, or -EIO when q is not ready, its size or rings
 * are invalid (re-checked here), head is out of range or the used ring is not writable. */
int vq_push(struct vm *vm, struct vq_state *q, uint16_t head, uint32_t len);

/* 1 unless the driver asked for no interrupts (avail flags, 2.7.7); 0 for a queue not ready or invalid. */
int vq_want_irq(struct vm *vm, const struct vq_state *q);

/* Copy between a chain's readable (from) / writable (to) buffers and a flat buffer, starting at byte
 * off of that direction. Returns bytes copied (stops at the chain's end), or -EFAULT. */
long vq_copy_from(struct vm *vm, const struct vq_chain *c, size_t off, void *dst, size_t len);
long vq_copy_to(struct vm *vm, const struct vq_chain *c, size_t off, const void *src, size_t len);
#endif
