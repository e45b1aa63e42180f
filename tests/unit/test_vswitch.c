/* Host tests of the learning switch: learning, flooding, unicast forwarding, ageing, port removal. */
#define TEST_SUITE "vswitch"
#include "tests/unit/test.h"
#include "net/vswitch.h"
#include "kernel/errno.h"
#include <time.h>

static int got[VSW_PORTS];
static size_t got_len[VSW_PORTS];
static void rec(void *ctx, const void *f, size_t len) { (void)f; int p = (int)(intptr_t)ctx; got[p]++; got_len[p] = len; }

static struct vswitch sw;
static uint8_t frame[64];

static void mk(int dst, int src)     /* MAC 02:00:00:00:00:NN; dst -1 = broadcast */
{
    memset(frame, 0, sizeof(frame));
    memset(frame, 0xff, 6);
    if (dst >= 0) {
        memset(frame, 0, 6);
        frame[0] = 2;
        frame[5] = (uint8_t)dst;
    }
    frame[6] = 2;
    frame[11] = (uint8_t)src;
}

static void setup(int nports)
{
    vswitch_init(&sw);
    memset(got, 0, sizeof(got));
    for (int i = 0; i < nports; i++)
        CHECK_EQ(vswitch_port_add(&sw, "p", rec, (void *)(intptr_t)i), i);
}

TEST(vsw_learn_and_forward)
{
    setup(3);
    mk(2, 1);                                    /* unknown destination: flooded */
    vswitch_input(&sw, 0, frame, 60);
    CHECK_EQ(got[0], 0);
    CHECK_EQ(got[1], 1);
    CHECK_EQ(got[2], 1);
    uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 };
    CHECK_EQ(vswitch_lookup(&sw, mac1), 0);
    mk(1, 2);                                    /* reply: learned, unicast to port 0 only */
    vswitch_input(&sw, 2, frame, 60);
    CHECK_EQ(got[0], 1);
    CHECK_EQ(got[1], 1);
    CHECK_EQ(got_len[0], 60);
    mk(2, 1);
    vswitch_input(&sw, 0, frame, 60);            /* now known: port 2 only */
    CHECK_EQ(got[1], 1);
    CHECK_EQ(got[2], 2);
    mk(1, 1);                                    /* destined back to its own port: dropped */
    vswitch_input(&sw, 0, frame, 60);
    CHECK_EQ(got[0] + got[1] + got[2], 4);
}

TEST(vsw_broadcast_multicast_and_bad_frames)
{
    setup(4);
    mk(-1, 1);
    vswitch_input(&sw, 1, frame, 60);
    CHECK(got[0] == 1 && got[1] == 0 && got[2] == 1 && got[3] == 1);
    mk(5, 2);
    frame[0] = 0x01;                             /* multicast 01:..: flooded even if some port learned it */
    vswitch_input(&sw, 2, frame, 60);
    CHECK(got[0] == 2 && got[1] == 1 && got[2] == 1 && got[3] == 2);
    mk(3, 1);
    frame[6] = 0x01;                             /* group source address: not learned */
    vswitch_input(&sw, 0, frame, 60);
    uint8_t grp[6] = { 1, 0, 0, 0, 0, 1 };
    CHECK_EQ(vswitch_lookup(&sw, grp), -1);
    int before = got[0] + got[1] + got[2] + got[3];
    vswitch_input(&sw, 0, frame, 13);            /* runt */
    vswitch_input(&sw, 0, frame, VSW_FRAME_MAX + 1);
    vswitch_input(&sw, 9, frame, 60);            /* no such port */
    vswitch_input(&sw, -1, frame, 60);
    CHECK_EQ(got[0] + got[1] + got[2] + got[3], before);
    CHECK_EQ(sw.port[0].drops, 2);
}

TEST(vsw_ageing)
{
    setup(3);
    sw.age_ns = 2000000;                         /* 2 ms */
    mk(-1, 7);
    vswitch_input(&sw, 1, frame, 60);
    uint8_t mac7[6] = { 2, 0, 0, 0, 0, 7 };
    CHECK_EQ(vswitch_lookup(&sw, mac7), 1);
    struct timespec ts = { 0, 5000000 };
    nanosleep(&ts, NULL);
    CHECK_EQ(vswitch_lookup(&sw, mac7), -1);     /* aged out: unicast to it floods again */
    memset(got, 0, sizeof(got));
    mk(7, 8);
    vswitch_input(&sw, 0, frame, 60);
    CHECK(got[1] == 1 && got[2] == 1);
    mk(-1, 7);                                   /* relearned on another port (a moved station) */
    vswitch_input(&sw, 2, frame, 60);
    CHECK_EQ(vswitch_lookup(&sw, mac7), 2);
}

TEST(vsw_port_removal_and_full_table)
{
    setup(3);
    mk(-1, 4);
    vswitch_input(&sw, 2, frame, 60);
    uint8_t mac4[6] = { 2, 0, 0, 0, 0, 4 };
    CHECK_EQ(vswitch_lookup(&sw, mac4), 2);
    vswitch_port_remove(&sw, 2);
    CHECK_EQ(vswitch_lookup(&sw, mac4), -1);
    memset(got, 0, sizeof(got));
    mk(-1, 1);
    vswitch_input(&sw, 0, frame, 60);
    CHECK(got[1] == 1 && got[2] == 0);           /* removed ports get nothing */
    CHECK_EQ(vswitch_port_add(&sw, "again", rec, (void *)(intptr_t)2), 2);   /* the slot is reused */
    for (int i = 3; i < VSW_PORTS; i++)
        CHECK_EQ(vswitch_port_add(&sw, "p", rec, (void *)(intptr_t)i), i);
    CHECK_EQ(vswitch_port_add(&sw, "x", rec, NULL), -ENOSPC);
    CHECK_EQ(vswitch_port_add(&sw, "x", NULL, NULL), -EINVAL);
    for (int i = 0; i < 2 * VSW_TABLE; i++) {    /* more stations than the table: still bounded, newest kept */
        mk(-1, 0);
        frame[10] = (uint8_t)(i >> 8);
        frame[11] = (uint8_t)i;
        vswitch_input(&sw, i % 3, frame, 60);
    }
    uint8_t last[6] = { 2, 0, 0, 0, (2 * VSW_TABLE - 1) >> 8, (2 * VSW_TABLE - 1) & 0xff };
    CHECK_EQ(vswitch_lookup(&sw, last), (2 * VSW_TABLE - 1) % 3);
}
