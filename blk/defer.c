/* A deferring block layer: each request reaches the device below at the next poll, in flight meanwhile. */
#include "blk/defer.h"
#include "blk/blk.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/init.h"
#include "kernel/shell.h"

#define DEFER_MAX 64

struct defer {
    struct blk_dev dev;
    struct blk_dev *below;
    struct blk_req *q[DEFER_MAX];
    int head, n;
    struct defer *next;                /* every deferring device, for the poll */
};

static struct defer *all;

static int defer_submit(struct blk_dev *dev, struct blk_req *req)
{
    struct defer *d = dev->priv;
    if (d->n == DEFER_MAX)
        return -EAGAIN;
    d->q[(d->head + d->n++) % DEFER_MAX] = req;
    return 0;
}

static struct blk_req *take(struct defer *d)
{
    struct blk_req *r = d->q[d->head];
    d->head = (d->head + 1) % DEFER_MAX;
    d->n--;
    return r;
}

/* A request below refused outright was accepted here: it completes with that error. */
static void pass_down(struct defer *d, struct blk_req *r)
{
    int rc = blk_submit(d->below, r);
    if (rc < 0)
        r->done(r, rc);
}

static void defer_close(struct blk_dev *dev)
{
    struct defer *d = dev->priv, **pp = &all;
    while (*pp && *pp != d)
        pp = &(*pp)->next;
    if (*pp)
        *pp = d->next;
    while (d->n) {
        struct blk_req *r = take(d);
        r->done(r, -ECANCELED);
    }
    d->below->ops->close(d->below);
    kfree(d);
}

static const struct blk_ops defer_ops = { .submit = defer_submit, .close = defer_close };

struct blk_dev *blk_defer_create(struct blk_dev *below)
{
    struct defer *d;
    if (!below || !(d = kzalloc(sizeof(*d))))
        return NULL;
    d->below = below;
    d->dev = (struct blk_dev){ .ops = &defer_ops, .sectors = below->sectors, .block_size = below->block_size,
                               .read_only = below->read_only, .priv = d };
    kstrlcpy(d->dev.name, below->name, sizeof(d->dev.name));
    d->next = all;
    all = d;
    return &d->dev;
}

/* Only what was queued when the poll began: a completion that submits again waits for the next poll. */
int blk_defer_poll(void)
{
    int done = 0;
    for (struct defer *d = all; d; d = d->next)
        for (int k = d->n; k > 0 && d->n; k--, done++)
            pass_down(d, take(d));
    return done;
}

static int defer_init(void)
{
    return shell_add_poller(blk_defer_poll);
}
INIT_HOOK(INIT_BLK, defer_init);
