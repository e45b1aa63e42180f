/* The copy-on-write tests' shared fixture (blk_cow_fixture.h): the counted heap, one request at a time. */
#include "tests/unit/test.h"
#include "tests/unit/blk_cow_fixture.h"
#include "tests/unit/blk_tenant.h"
#include "blk/cow.h"

/* ---- heap accounting: kmalloc/kzalloc/kfree are wrapped at link time (-Wl,--wrap) ---- */

void *__real_kmalloc(size_t size);
void *__real_kzalloc(size_t size);
void __real_kfree(void *p);
void *__wrap_kmalloc(size_t size);
void *__wrap_kzalloc(size_t size);
void __wrap_kfree(void *p);

struct cow_heap cow_heap;

/* Every block gets a 16-byte header holding its size (keeps kmalloc's 16-byte alignment). */
static void *heap_track(uint8_t *p, size_t size)
{
    if (!p)
        return NULL;
    *(size_t *)p = size;
    cow_heap.live_bytes += (long long)size;
    cow_heap.live_blocks++;
    cow_heap.total_bytes += (long long)size;
    return p + 16;
}

static int heap_should_fail(void)
{
    return cow_heap.fail_in > 0 && --cow_heap.fail_in == 0;
}

/* kmalloc hands out memory as the host heap does: still holding what an earlier owner left there. */
void *__wrap_kmalloc(size_t size)
{
    uint8_t *p = heap_should_fail() ? NULL : heap_track(__real_kmalloc(size + 16), size);
    if (p)
        blk_tenant_fill(p, size);
    return p;
}

void *__wrap_kzalloc(size_t size)
{
    return heap_should_fail() ? NULL : heap_track(__real_kzalloc(size + 16), size);
}

void __wrap_kfree(void *p)
{
    if (!p)
        return;
    uint8_t *h = (uint8_t *)p - 16;
    cow_heap.live_bytes -= (long long)*(size_t *)h;
    cow_heap.live_blocks--;
    __real_kfree(h);
}

/* ---- one request at a time, completions driven by hand ---- */

static void one_done(struct blk_req *r, int status)
{
    struct one *o = (struct one *)r;
    o->calls++;
    o->status = status;
}

int one_submit(struct blk_dev *d, struct one *o, enum blk_op op, uint64_t lba, uint32_t nr, void *buf)
{
    memset(o, 0, sizeof(*o));
    o->r = (struct blk_req){ .op = op, .lba = lba, .nr = nr, .done = one_done, .niov = buf ? 1 : 0 };
    o->r.iov[0] = (struct blk_iov){ buf, (size_t)nr * 512 };
    return blk_submit(d, &o->r);
}

int one_io(struct blk_dev *d, struct blk_mock *m, enum blk_op op, uint64_t lba, uint32_t nr, void *buf)
{
    struct one o;
    int rc = one_submit(d, &o, op, lba, nr, buf);
    if (rc)
        return rc;
    blk_mock_drain(m);
    return o.calls == 1 ? o.status : -999;
}

struct blk_dev *clone_over(struct blk_mock *m, uint64_t quota)
{
    int err = 1;
    struct blk_dev *d = cow_create(&m->dev, quota, "clone", &err);
    CHECK(d != NULL);
    CHECK_EQ(err, 0);
    return d;
}

uint8_t *base_bytes(struct blk_mock *m, uint64_t off, size_t n)
{
    static uint8_t buf[64 * BS];
    blk_mock_pattern(m->seed, off, buf, n);
    return buf;
}

int write_blocks(struct blk_dev *d, struct blk_mock *m, uint64_t first, uint64_t n)
{
    static uint8_t w[BS];
    for (uint64_t b = first; b < first + n; b++) {
        int rc;
        memset(w, (int)(b & 0xff), BS);
        if ((rc = one_io(d, m, BLK_WRITE, b * 8, 8, w)))
            return rc;
    }
    return 0;
}
