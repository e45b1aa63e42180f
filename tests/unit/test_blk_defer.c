/* The deferring block layer (blk/defer.c): requests wait for the poll, in order; closing cancels them. */
#define TEST_SUITE "blk_defer"
#include "test.h"
#include "blk/defer.h"
#include "blk/ram.h"
#include "blk/blk.h"
#include "kernel/errno.h"

int shell_add_poller(int (*fn)(void));
int shell_add_poller(int (*fn)(void)) { (void)fn; return 0; }   /* the tests poll by hand */

struct rq {
    struct blk_req req;
    uint8_t buf[512];
    int calls, status, resubmit;
    struct blk_dev *dev;
};

static void rq_done(struct blk_req *req, int status)
{
    struct rq *r = req->priv;
    r->calls++;
    r->status = status;
    if (r->resubmit-- > 0)
        blk_submit(r->dev, req);
}

static void rq_read(struct rq *r, struct blk_dev *dev, uint64_t lba)
{
    memset(r, 0, sizeof(*r));
    r->dev = dev;
    r->req = (struct blk_req){ .op = BLK_READ, .lba = lba, .nr = 1, .niov = 1, .done = rq_done, .priv = r };
    r->req.iov[0] = (struct blk_iov){ r->buf, sizeof(r->buf) };
}

static struct blk_dev *disk(void)
{
    static uint8_t image[8192];
    for (unsigned i = 0; i < sizeof(image); i++)
        image[i] = (uint8_t)(i / 512 + 1);
    return blk_defer_create(ramdisk_create(image, sizeof(image), 1));
}

TEST(a_request_completes_at_the_poll_not_before)
{
    struct blk_dev *d = disk();
    struct rq r;
    rq_read(&r, d, 3);
    CHECK(blk_submit(d, &r.req) == 0);
    CHECK(r.calls == 0);                            /* in flight: the submitter's next step runs first */
    CHECK(blk_defer_poll() == 1);
    CHECK(r.calls == 1 && r.status == 0 && r.buf[0] == 4 && r.buf[511] == 4);
    CHECK(blk_defer_poll() == 0);
    d->ops->close(d);
}

TEST(a_full_queue_refuses_with_eagain)
{
    struct blk_dev *d = disk();
    static struct rq r[65];
    for (int i = 0; i < 64; i++) {
        rq_read(&r[i], d, (uint64_t)(i % 16));
        CHECK(blk_submit(d, &r[i].req) == 0);
    }
    rq_read(&r[64], d, 0);
    CHECK(blk_submit(d, &r[64].req) == -EAGAIN);
    CHECK(blk_defer_poll() == 64);
    for (int i = 0; i < 64; i++)
        CHECK(r[i].calls == 1 && r[i].status == 0 && r[i].buf[0] == i % 16 + 1);
    CHECK(r[64].calls == 0);
    d->ops->close(d);
}

TEST(closing_cancels_what_is_queued)
{
    struct blk_dev *d = disk();
    struct rq r[3];
    for (int i = 0; i < 3; i++) {
        rq_read(&r[i], d, 0);
        CHECK(blk_submit(d, &r[i].req) == 0);
    }
    d->ops->close(d);
    for (int i = 0; i < 3; i++)
        CHECK(r[i].calls == 1 && r[i].status == -ECANCELED && r[i].buf[0] == 0);
    CHECK(blk_defer_poll() == 0);                   /* the closed device is off the poll list */
}

TEST(a_completion_that_submits_again_waits_for_the_next_poll)
{
    struct blk_dev *d = disk();
    struct rq r;
    rq_read(&r, d, 1);
    r.resubmit = 1;
    CHECK(blk_submit(d, &r.req) == 0);
    CHECK(blk_defer_poll() == 1 && r.calls == 1);
    CHECK(blk_defer_poll() == 1 && r.calls == 2);
    CHECK(blk_defer_poll() == 0);
    d->ops->close(d);
}

TEST(a_request_the_device_below_refuses_completes_with_its_error)
{
    struct blk_dev *d = disk();                     /* read-only below: a write is refused there */
    struct rq r;
    rq_read(&r, d, 0);
    r.req.op = BLK_WRITE;
    d->read_only = 0;                               /* so that only the device below refuses */
    CHECK(blk_submit(d, &r.req) == 0);
    CHECK(blk_defer_poll() == 1 && r.calls == 1 && r.status == -EROFS);
    d->ops->close(d);
}
