/* Fuzz harness for virtio-blk over virtio-mmio: register writes, rings and requests against an async mock disk whose
 * completions the input reorders, with queue reconfiguration and resets between submission and completion, and
 * notifications from a vCPU on another CPU queued for the boot CPU's poll loop (vmm/dev/virtio_kick.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define FUZZ_NAME "virtio_blk_fuzz"
#include "tests/fuzz/virtio_fuzz.h"
#include "tests/unit/virtio_fake.h"
#include "tests/unit/blk_mock.h"
#include "vmm/dev/virtio_mmio.h"

#define OPS_MAX 512

struct in {
    const uint8_t *p;
    size_t n;
};

static uint32_t take(struct in *in, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes && in->n; i++, in->p++, in->n--)     /* past the input's end: zeros */
        v |= (uint32_t)*in->p << (8 * i);
    return v;
}

/* The device writes guest memory only while it is live and the queue it serves is ready (issue 12:
 * a completion after QueueReady=0 wrote the used ring of a queue of size 0). */
static void write_check(uint64_t gpa, size_t len)
{
    const struct virtio_mmio *m = win->dev;
    (void)gpa;
    (void)len;
    if (!virtio_mmio_live(m) || !m->st.q[0].ready)
        fz_abort("a guest-memory write through a stopped queue or a broken device");
}

/* A descriptor whose address is one of the request areas most of the time, so chains make sense. */
static void op_desc(struct in *in)
{
    static const uint64_t where[8] = { 0x8000, 0x20000, 0x30000, 0x5000, 0x7f0000000000ull, RAM_SIZE - 8, 0, 0x1000 };
    int i = (int)(take(in, 1) % 16);
    uint32_t sel = take(in, 1);
    uint64_t addr = sel < 0xf8 ? where[sel % 8] + (take(in, 1) << 4) : take(in, 4);
    uint32_t len = take(in, 1) & 1 ? take(in, 4) : take(in, 2);
    uint16_t flags = (uint16_t)(take(in, 1) & 7), next = (uint16_t)(take(in, 1) % 16);
    desc_set(DESC, i, addr, len, flags, next);
}

/* A well-formed request on descriptors d, d+1, d+2 with its own data and status areas, then a notify. */
static void op_request(struct in *in)
{
    static const uint32_t types[8] = { 0, 0, 0, 1, 4, 8, 99, 0 };
    uint32_t type = types[take(in, 1) % 8], nsect = take(in, 1) % 9;
    uint64_t sector = take(in, 1), d = (take(in, 1) % 4) * 3;
    uint64_t hdr = 0x8000 + 16 * d, data = 0x20000 + 0x2000 * d, status = 0x30000 + d;
    memcpy(ram + hdr, &type, 4);
    memcpy(ram + hdr + 8, &sector, 8);
    desc_set(DESC, (int)d, hdr, 16, VRING_DESC_F_NEXT, (uint16_t)(d + 1));
    desc_set(DESC, (int)d + 1, data, nsect * 512, VRING_DESC_F_NEXT | (type != 1 ? VRING_DESC_F_WRITE : 0),
             (uint16_t)(d + 2));
    desc_set(DESC, (int)d + 2, status, 1, VRING_DESC_F_WRITE, 0);
    avail_push((uint16_t)d);
    wr32(0x50, 0);
}

/* Stop queue 0 under whatever is in flight: size it anew (0 included), maybe start it again elsewhere. */
static void op_reconfigure(struct in *in)
{
    uint32_t how = take(in, 1);
    wr32(0x30, 0);
    wr32(0x44, 0);
    wr32(0x38, how & 1 ? 0 : 1u << (how >> 1 & 7));
    if (how & 0x10)
        queue_setup(0, how & 0x20 ? 0x4000 : DESC, AVAIL, how & 0x40 ? 0x6000 : USED);
}

static void op_register(struct in *in)
{
    static const uint16_t regs[16] = { 0x14, 0x20, 0x24, 0x30, 0x38, 0x44, 0x50, 0x64,
                                       0x70, 0x80, 0x84, 0x90, 0x94, 0xa0, 0xa4, 0x100 };
    uint16_t reg = regs[take(in, 1) % 16];
    wr32(reg, take(in, 4));
}

static void op_disk(struct in *in, struct blk_mock *mock)
{
    uint32_t v = take(in, 1);
    mock->fail_next = (int)(v & 3);
    mock->refuse_next = (int)(v >> 2 & 3);
    mock->queue_limit = v >> 4 & 7;
}

static void run_op(struct in *in, struct blk_mock *mock)
{
    uint64_t val;
    switch (take(in, 1) % 14) {
    case 0: { uint32_t a = (take(in, 2) * 8) % 0x40000; uint32_t v = take(in, 4); memcpy(ram + a, &v, 4); break; }
    case 1: op_desc(in); break;
    case 2: avail_push((uint16_t)(take(in, 1) % 16)); break;
    case 3: op_register(in); break;
    case 4: win->read(win->dev, take(in, 2) & 0x1ff, 1 << (take(in, 1) % 4), &val); break;
    case 5: if (mock->nq) blk_mock_complete(mock, take(in, 1) % mock->nq); break;
    case 6: blk_mock_drain(mock); break;
    case 7: case 8: op_request(in); break;
    case 9: op_reconfigure(in); break;
    case 10: (void)driver_init(1); break;
    case 11: fake_cpu = (int)(take(in, 1) & 1); break;   /* the vCPU's next exits on CPU 1: notifies queue */
    case 12: (void)virtio_kick_poll(); break;            /* the boot CPU's poll loop takes them */
    default: op_disk(in, mock); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = { data, size };
    struct blk_mock *mock = blk_mock_create(64 * 512, take(&in, 1), 0);
    if (!mock)
        fz_abort("mock disk");
    if (blk_setup(&mock->dev, 1) != 15)
        fz_abort("driver setup");
    fake_write_hook = write_check;
    for (int i = 0; i < OPS_MAX && in.n; i++)
        run_op(&in, mock);
    fake_cpu = 0;
    blk_mock_drain(mock);
    fake_write_hook = NULL;
    fake_vm_destroy();                                   /* drops notifications still queued (forget) */
    mock->dev.ops->close(&mock->dev);
    return 0;
}
