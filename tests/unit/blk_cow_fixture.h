/* The copy-on-write tests' shared fixture: a counted heap and one request at a time over the mock base. */
#ifndef SHOAL_TESTS_BLK_COW_FIXTURE_H
#define SHOAL_TESTS_BLK_COW_FIXTURE_H
#include <stddef.h>
#include <stdint.h>
#include "blk/blk.h"
#include "tests/unit/blk_mock.h"

#define BS 4096u

/*
 * The heap as the overlay sees it: kmalloc, kzalloc and kfree are wrapped at link time (-Wl,--wrap) and
 * counted here; fail_in = N makes the Nth allocation from then on fail (fail_in is 0 again once it has).
 */
struct cow_heap {
    long long live_bytes, live_blocks, total_bytes;
    int fail_in;
};
extern struct cow_heap cow_heap;

/* One request with a single buffer; done() counts its calls and keeps the status. */
struct one {
    struct blk_req r;
    int calls, status;
};

/* Submit op on [lba, lba + nr) with one buffer; the caller completes base reads. Returns submit's status. */
int one_submit(struct blk_dev *d, struct one *o, enum blk_op op, uint64_t lba, uint32_t nr, void *buf);

/* Submit, drain the mock, return the request's status (or -999 when done() was not called once). */
int one_io(struct blk_dev *d, struct blk_mock *m, enum blk_op op, uint64_t lba, uint32_t nr, void *buf);

/* A clone of m's disk with the given quota (bytes, or COW_QUOTA_*); a failed create is a test failure. */
struct blk_dev *clone_over(struct blk_mock *m, uint64_t quota);

/* The base's bytes [off, off + n) (n at most 64 blocks), in a buffer the next call overwrites. */
uint8_t *base_bytes(struct blk_mock *m, uint64_t off, size_t n);

/* Write whole blocks first..first+n-1 of d, each filled with its number. Returns the first failure or 0. */
int write_blocks(struct blk_dev *d, struct blk_mock *m, uint64_t first, uint64_t n);
#endif
