/* A mock base block device for host tests: a seeded pattern, requests queued until the test completes them. */
#include <stdlib.h>
#include <string.h>
#include "tests/unit/blk_mock.h"
#include "kernel/errno.h"

static uint64_t mock_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void blk_mock_pattern(uint64_t seed, uint64_t off, void *buf, size_t len)
{
    uint8_t *p = buf;
    uint64_t w = mock_mix(seed * 0x100000001b3ull ^ (off >> 3));
    while (len) {
        if ((off & 7) == 0)                       /* one mix per 8 bytes */
            w = mock_mix(seed * 0x100000001b3ull ^ (off >> 3));
        *p++ = (uint8_t)(w >> (8 * (off & 7)));
        off++;
        len--;
    }
}

uint64_t blk_mock_rand(struct blk_mock *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static int mock_submit(struct blk_dev *dev, struct blk_req *req)
{
    struct blk_mock *m = dev->priv;
    if (req->op == BLK_WRITE || req->op == BLK_DISCARD) {
        m->writes++;
        return -EROFS;
    }
    if (req->op == BLK_FLUSH) {
        req->done(req, 0);
        return 0;
    }
    if (m->refuse_next > 0 || (m->queue_limit && m->nq >= m->queue_limit) ||
        (m->nq && m->refuse_permille && blk_mock_rand(m) % 1000 < m->refuse_permille)) {
        if (m->refuse_next > 0)
            m->refuse_next--;
        m->refused++;
        return -EAGAIN;
    }
    if (m->nq == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct blk_req **q = realloc(m->queue, cap * sizeof(*q));
        if (!q)
            return -ENOMEM;
        m->queue = q;
        m->cap = cap;
    }
    m->queue[m->nq++] = req;
    return 0;
}

/* Copy the device's bytes for req into its scatter list: all, or (a short read) only the first half. */
static void mock_fill(struct blk_mock *m, struct blk_req *req, int half)
{
    uint64_t off = req->lba * BLK_SECTOR_SIZE, left = (uint64_t)req->nr * BLK_SECTOR_SIZE / (half ? 2 : 1);
    for (int i = 0; i < req->niov && left; i++) {
        size_t n = req->iov[i].len < left ? req->iov[i].len : (size_t)left;
        if (m->data)
            memcpy(req->iov[i].base, m->data + off, n);
        else
            blk_mock_pattern(m->seed, off, req->iov[i].base, n);
        off += n;
        left -= n;
    }
}

int blk_mock_complete(struct blk_mock *m, size_t i)
{
    if (i >= m->nq)
        return -1;
    struct blk_req *req = m->queue[i];
    memmove(&m->queue[i], &m->queue[i + 1], (m->nq - i - 1) * sizeof(*m->queue));
    m->nq--;
    int status = 0;
    if (m->fail_next > 0) {
        m->fail_next--;
        m->failed++;
        status = m->fail_status ? m->fail_status : -EIO;
    } else {
        mock_fill(m, req, m->short_next > 0);
        if (m->short_next > 0)
            m->short_next--;
        m->reads++;
        m->bytes_read += (uint64_t)req->nr * BLK_SECTOR_SIZE;
    }
    req->done(req, status);
    return 0;
}

size_t blk_mock_drain(struct blk_mock *m)
{
    size_t n = 0;
    while (m->nq) {
        blk_mock_complete(m, (size_t)(blk_mock_rand(m) % m->nq));
        n++;
    }
    return n;
}

int blk_mock_unchanged(const struct blk_mock *m)
{
    uint8_t buf[4096];
    uint64_t bytes = m->dev.sectors * BLK_SECTOR_SIZE;
    if (!m->data)
        return 1;
    for (uint64_t off = 0; off < bytes; off += sizeof(buf)) {
        size_t n = bytes - off < sizeof(buf) ? (size_t)(bytes - off) : sizeof(buf);
        blk_mock_pattern(m->seed, off, buf, n);
        if (memcmp(buf, m->data + off, n))
            return 0;
    }
    return 1;
}

static void mock_close(struct blk_dev *dev)
{
    struct blk_mock *m = dev->priv;
    while (m->nq) {                              /* the oldest first, each -ECANCELED */
        struct blk_req *req = m->queue[0];
        memmove(&m->queue[0], &m->queue[1], (m->nq - 1) * sizeof(*m->queue));
        m->nq--;
        req->done(req, -ECANCELED);
    }
    free(m->queue);
    free(m->data);
    free(m);
}

static const struct blk_ops mock_ops = { .submit = mock_submit, .close = mock_close };

struct blk_mock *blk_mock_create(uint64_t bytes, uint64_t seed, int stored)
{
    struct blk_mock *m = calloc(1, sizeof(*m));
    if (!m || bytes < BLK_SECTOR_SIZE)
        goto fail;
    m->seed = seed;
    m->rng = mock_mix(seed) | 1;
    m->dev = (struct blk_dev){ .ops = &mock_ops, .sectors = bytes / BLK_SECTOR_SIZE,
                               .block_size = BLK_SECTOR_SIZE, .read_only = 0, .priv = m };
    strcpy(m->dev.name, "mock");
    if (stored) {
        if (!(m->data = malloc((size_t)(m->dev.sectors * BLK_SECTOR_SIZE))))
            goto fail;
        blk_mock_pattern(seed, 0, m->data, (size_t)(m->dev.sectors * BLK_SECTOR_SIZE));
    }
    return m;
fail:
    free(m);
    return NULL;
}
