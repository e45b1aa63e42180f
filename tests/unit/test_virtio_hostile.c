/* Host tests of virtio-blk against hostile descriptor chains: each fails alone, named in one rate-limited log line. */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "tests/unit/virtio_fake.h"
#include "tests/unit/host_shim.h"
#include "vmm/dev/virtio_mmio.h"
#include "blk/ram.h"

struct bad_chain {
    const char *why;                   /* the reason the log line must name */
    uint64_t addr;                     /* the second buffer (the first is the 16-byte header) */
    uint32_t len;
    uint16_t flags, next;
};

static const struct bad_chain bad[] = {
    { "buffer outside RAM", 0x7f0000000000ull, 512, VRING_DESC_F_WRITE, 0 },
    { "buffer longer than 16 MiB", 0x20000, 0xffffffffu, VRING_DESC_F_WRITE, 0 },
    { "descriptor loop", 0x20000, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1 },
    { "readable buffer after a writable one", 0x20000, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0 },
    { "next descriptor past the table", 0x20000, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, QN },
    { "indirect table inside an indirect table", 0x5000, 16, VRING_DESC_F_INDIRECT, 0 },
    { "buffer outside RAM", RAM_SIZE - 256, 512, VRING_DESC_F_WRITE, 0 },
};

/* Post bad[i] at head 0 (header desc 0, the bad one desc 1) and check it came back alone, named. */
static void post_bad(const struct bad_chain *b, uint16_t nth)
{
    host_console_clear();
    desc_set(DESC, 0, 0x8000, 16, VRING_DESC_F_NEXT, 1);
    desc_set(DESC, 1, b->addr, b->len, b->flags, b->next);
    avail_push(0);
    wr32(0x50, 0);
    CHECK_EQ(used_idx(), nth + 1);
    CHECK_EQ(used_id(nth % QN), 0);
    CHECK_EQ(used_len(nth % QN), 0);
    CHECK(strstr(host_console_text(), "virtio-blk slot 0: malformed descriptor chain at head 0 of queue 0: ") != NULL);
    CHECK(strstr(host_console_text(), b->why) != NULL);
    CHECK_EQ(rd32(0x70), 15);                              /* no NEEDS_RESET */
}

TEST(blk_hostile_chains_fail_alone)
{
    struct blk_dev *disk = ramdisk_create(NULL, 64 * 512, 0);
    CHECK_EQ(blk_setup(disk, 1), 15);
    ram[0x5000 + 12] = VRING_DESC_F_INDIRECT;               /* the nested table's one entry: indirect again */
    uint16_t n = 0;
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++, n++)
        post_bad(&bad[i], n);
    CHECK_EQ(blk_req(0, 1, 512, 1), 0);                     /* the device goes on */
    CHECK_EQ(used_idx(), n + 1);
    fake_vm_destroy();
    ramdisk_destroy(disk);
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
        n++;
    return n;
}

/* A guest posting bad chains without end gets a few log lines, not one per chain (the console is slow). */
TEST(blk_fault_log_rate_limited)
{
    struct blk_dev *disk = ramdisk_create(NULL, 64 * 512, 0);
    CHECK_EQ(blk_setup(disk, 1), 15);
    host_console_clear();
    for (int i = 0; i < 200; i++) {
        desc_set(DESC, 0, 0x8000, 16, VRING_DESC_F_NEXT, 0);
        avail_push(0);
        wr32(0x50, 0);
    }
    CHECK_EQ(used_idx(), 200);
    CHECK_EQ(count(host_console_text(), "malformed descriptor chain"), 8 + 4);   /* 1-8, 16, 32, 64, 128 */
    CHECK_EQ(count(host_console_text(), "logged at powers of two only"), 1);
    CHECK_EQ(blk_req(0, 1, 512, 1), 0);
    fake_vm_destroy();
    ramdisk_destroy(disk);
}

/* Register accesses of odd widths or past the window read 0 and change nothing (a width is a copy length). */
TEST(mmio_odd_widths_and_offsets)
{
    struct blk_dev *disk = ramdisk_create(NULL, 64 * 512, 0);
    CHECK_EQ(blk_setup(disk, 1), 15);
    uint64_t v = 1;
    static const int widths[] = { -1, 0, 3, 16, 0x7fffffff };
    for (unsigned i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        v = 1;
        CHECK_EQ(win->read(win->dev, 0x101, widths[i], &v), 0);
        CHECK_U64(v, 0);
        CHECK_EQ(win->write(win->dev, 0x70, widths[i], 0), 0);   /* not a reset */
    }
    CHECK_EQ(win->read(win->dev, 0xffc, 8, &v), 0);          /* straddles the window's end */
    CHECK_U64(v, 0);
    CHECK_EQ(win->read(win->dev, 0x100, 8, &v), 0);          /* capacity, 8 bytes */
    CHECK_U64(v, 64);
    CHECK_EQ(rd32(0x70), 15);
    fake_vm_destroy();
    ramdisk_destroy(disk);
}
