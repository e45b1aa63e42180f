/* Fuzz harness for split virtqueues (vmm/dev/virtqueue.c): the input is queue registers plus a small guest RAM image. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define FUZZ_NAME "virtq_fuzz"
#include "tests/fuzz/virtio_fuzz.h"
#include "tests/unit/virtio_fake.h"
#include "kernel/byteorder.h"
#include "kernel/errno.h"

#define FUZZ_RAM   0x2000u             /* 8 KiB: random ring addresses land inside it */
#define HDR_BYTES  40

/* A ring address: mostly inside the small RAM (so rings are found), sometimes the raw value. */
static uint64_t ring_addr(uint64_t raw)
{
    return (raw >> 63) ? raw : raw % FUZZ_RAM;
}

/* What vq_pop returned in c must describe only guest RAM, within the chain limits. */
static void chain_check(const struct vq_state *q, const struct vq_chain *c)
{
    uint64_t in = 0, out = 0;
    if (c->head >= q->num || c->n < 0 || c->n > VQ_CHAIN_MAX)
        fz_abort("chain head or buffer count out of range");
    for (int i = 0; i < c->n; i++) {
        const struct vq_buf *b = &c->buf[i];
        if (b->len == 0 || b->len > VQ_BUF_LEN_MAX || b->gpa + b->len < b->gpa || b->gpa + b->len > fvm.mem_size)
            fz_abort("buffer outside RAM or of a bad length");
        if (!b->write && in)
            fz_abort("readable buffer after a writable one");
        *(b->write ? &in : &out) += b->len;
    }
    if (in != c->in_len || out != c->out_len)
        fz_abort("chain lengths do not add up");
}

/* Copy through the chain both ways from an offset the input chose: exactly the bytes the chain holds there. */
static void chain_copy(const struct vq_chain *c, size_t off)
{
    static uint8_t flat[8192];
    size_t want_from = off < c->out_len ? c->out_len - off : 0, want_to = off < c->in_len ? c->in_len - off : 0;
    if (vq_copy_from(&fvm, c, off, flat, sizeof(flat)) != (long)(want_from < sizeof(flat) ? want_from : sizeof(flat)))
        fz_abort("vq_copy_from copied the wrong amount");
    if (vq_copy_to(&fvm, c, off, flat, sizeof(flat)) != (long)(want_to < sizeof(flat) ? want_to : sizeof(flat)))
        fz_abort("vq_copy_to copied the wrong amount");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vq_chain c;
    if (size < HDR_BYTES)
        return 0;
    if (!ram)
        fake_vm_new();
    memset(ram, 0, FUZZ_RAM);
    fvm.mem_size = FUZZ_RAM;
    memcpy(ram, data + HDR_BYTES, size - HDR_BYTES < FUZZ_RAM ? size - HDR_BYTES : FUZZ_RAM);
    /* The state as a guest (or a restored snapshot) left it: not validated, as after a reconfiguration. */
    struct vq_state q = { .desc = ring_addr(get_le64(data)), .avail = ring_addr(get_le64(data + 8)),
                          .used = ring_addr(get_le64(data + 16)), .num = get_le16(data + 24),
                          .last_avail = get_le16(data + 26), .used_idx = get_le16(data + 28), .ready = data[30] & 1 };
    if (data[31] & 1)
        q.num &= 0x1ff;                 /* mostly small sizes */
    int valid = vq_validate(&fvm, &q) == 0;
    for (int round = 0; round < 2 * VQ_NUM_MAX; round++) {
        int rc = vq_pop(&fvm, &q, &c);
        if (rc == 1) {
            if (!valid)
                fz_abort("a chain taken from an invalid queue");
            chain_check(&q, &c);
            chain_copy(&c, get_le16(data + 32));
        } else if (rc < 0 && !c.why) {
            fz_abort("refused without a reason");
        }
        if (rc == 0 || rc == -EIO)
            break;
        (void)vq_push(&fvm, &q, c.head, rc == 1 ? c.in_len : 0);
        (void)vq_want_irq(&fvm, &q);
    }
    (void)vq_push(&fvm, &q, get_le16(data + 34), get_le16(data + 36));   /* any head, any state */
    (void)vq_want_irq(&fvm, &q);
    return 0;
}
