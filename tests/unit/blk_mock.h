/* A mock base block device for host tests: a seeded pattern, requests queued until the test completes them. */
#ifndef SHOAL_TESTS_BLK_MOCK_H
#define SHOAL_TESTS_BLK_MOCK_H
#include <stddef.h>
#include <stdint.h>
#include "blk/blk.h"

/*
 * Reads are queued, not completed: the test completes them one at a time, in any order, with
 * blk_mock_complete. Writes and discards are never applied: they are counted (a read-only base must
 * see none) and refused with -EROFS. Flushes complete at once. The fields below are the test's to read
 * and set.
 */
struct blk_mock {
    struct blk_dev dev;            /* writable flag clear so that any stray write reaches the mock */
    uint64_t seed;
    uint8_t *data;                 /* the stored pattern; NULL for a fake-sized device (computed) */
    struct blk_req **queue;        /* accepted, not yet completed, in submission order */
    size_t nq, cap;
    /* fault injection */
    int fail_next;                 /* the next fail_next accepted reads complete with fail_status */
    int fail_status;               /* default -EIO */
    int refuse_next;               /* the next refuse_next submits are refused with -EAGAIN */
    unsigned refuse_permille;      /* refuse a submit at random (only while the queue is not empty) */
    size_t queue_limit;            /* refuse with -EAGAIN while nq >= queue_limit (0: no limit) */
    int short_next;                /* the next short_next reads succeed but fill only their first half */
    uint64_t rng;
    /* counters */
    uint64_t reads, bytes_read, writes, refused, failed;
};

/*
 * A device of bytes (whole sectors) whose byte at offset o is blk_mock_pattern(seed, o). stored: keep
 * the bytes in memory (then blk_mock_unchanged can prove nothing wrote them); else compute them, which
 * allows any size. Returns the mock or NULL. Free with dev.ops->close (queued requests: -ECANCELED).
 */
struct blk_mock *blk_mock_create(uint64_t bytes, uint64_t seed, int stored);
/* The pattern of a mock with this seed: len bytes from byte offset off into buf. */
void blk_mock_pattern(uint64_t seed, uint64_t off, void *buf, size_t len);
/* Complete queued request i (0 is the oldest): data copied in, or a fault injected. Returns 0, or -1
 * when i is past the queue. The request's done() may submit more. */
int blk_mock_complete(struct blk_mock *m, size_t i);
/* Complete queued requests (including ones submitted meanwhile) until none are left, in an order drawn
 * from the mock's rng. Returns how many completed. */
size_t blk_mock_drain(struct blk_mock *m);
/* 1 when the stored bytes still equal the pattern (always 1 for a computed device). */
int blk_mock_unchanged(const struct blk_mock *m);
/* The mock's own rng (xorshift), for tests that want the same stream. */
uint64_t blk_mock_rand(struct blk_mock *m);
#endif
