/* Host tests of the RAM disk: copies, read-only images, bounds. */
#define TEST_SUITE "blk_ram"
#include "tests/unit/test.h"
#include "blk/blk.h"
#include "blk/ram.h"
#include "kernel/errno.h"

static int done_calls, done_status;
static void on_done(struct blk_req *r, int st) { (void)r; done_calls++; done_status = st; }

static int io(struct blk_dev *d, enum blk_op op, uint64_t lba, uint32_t nr, void *buf)
{
    struct blk_req r = { .op = op, .lba = lba, .nr = nr, .done = on_done, .niov = buf ? 1 : 0 };
    r.iov[0] = (struct blk_iov){ buf, (size_t)nr * 512 };
    done_calls = 0;
    int rc = blk_submit(d, &r);
    if (rc == 0 && done_calls != 1)
        return -999;
    return rc ? rc : done_status;
}

TEST(ram_copy_leaves_image_alone)
{
    static uint8_t image[4 * 512], buf[512];
    memset(image, 7, sizeof(image));
    struct blk_dev *d = ramdisk_create(image, sizeof(image) + 100, 0);   /* rounded down to 4 sectors */
    CHECK(d != NULL);
    CHECK_EQ(d->sectors, 4);
    memset(buf, 9, sizeof(buf));
    CHECK_EQ(io(d, BLK_WRITE, 3, 1, buf), 0);
    CHECK_EQ(image[3 * 512], 7);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(io(d, BLK_READ, 3, 1, buf), 0);
    CHECK_EQ(buf[0], 9);
    CHECK_EQ(io(d, BLK_READ, 0, 1, buf), 0);
    CHECK_EQ(buf[511], 7);
    CHECK_EQ(io(d, BLK_FLUSH, 0, 0, NULL), 0);
    ramdisk_destroy(d);
}

TEST(ram_bounds)
{
    static uint8_t buf[1024];
    struct blk_dev *d = ramdisk_create(NULL, 4 * 512, 0);
    CHECK_EQ(io(d, BLK_READ, 4, 1, buf), -EINVAL);
    CHECK_EQ(io(d, BLK_READ, 3, 2, buf), -EINVAL);
    CHECK_EQ(io(d, BLK_READ, ~0ull, 2, buf), -EINVAL);
    CHECK_EQ(io(d, BLK_READ, 2, 2, buf), 0);
    struct blk_req r = { .op = BLK_READ, .lba = 3, .nr = 1, .done = on_done, .niov = 1 };
    r.iov[0] = (struct blk_iov){ buf, 1024 };               /* scatter list longer than the range */
    CHECK_EQ(d->ops->submit(d, &r), -EINVAL);
    CHECK(ramdisk_create(NULL, 511, 0) == NULL);
    ramdisk_destroy(d);
}

TEST(ram_read_only_in_place)
{
    static uint8_t image[2 * 512], buf[512];
    memset(image, 0x42, sizeof(image));
    struct blk_dev *d = ramdisk_create(image, sizeof(image), 1);
    CHECK(d && d->read_only);
    CHECK_EQ(io(d, BLK_WRITE, 0, 1, buf), -EROFS);
    CHECK_EQ(d->ops->submit(d, &(struct blk_req){ .op = BLK_WRITE, .nr = 1, .done = on_done, .niov = 1,
                                                  .iov = { { buf, 512 } } }), -EROFS);
    image[600] = 0x43;                                       /* used in place, not copied */
    CHECK_EQ(io(d, BLK_READ, 1, 1, buf), 0);
    CHECK_EQ(buf[600 - 512], 0x43);
    CHECK(ramdisk_create(NULL, 1024, 1) == NULL);
    ramdisk_destroy(d);
}
