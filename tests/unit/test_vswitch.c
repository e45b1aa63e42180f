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
        CHECK_EQ(vswitch_port_add(&sw, "p", rec, (void *)(intptr_t)i, NULL), i);
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
    CHECK_EQ(vswitch_port_add(&sw, "again", rec, (void *)(intptr_t)2, NULL), 2);   /* the slot is reused */
    for (int i = 3; i < VSW_PORTS; i++)
        CHECK_EQ(vswitch_port_add(&sw, "p", rec, (void *)(intptr_t)i, NULL), i);
    CHECK_EQ(vswitch_port_add(&sw, "x", rec, NULL, NULL), -ENOSPC);
    CHECK_EQ(vswitch_port_add(&sw, "x", NULL, NULL, NULL), -EINVAL);
    for (int i = 0; i < 2 * VSW_TABLE; i++) {    /* more stations than the table: still bounded, newest kept */
        mk(-1, 0);
        frame[10] = (uint8_t)(i >> 8);
        frame[11] = (uint8_t)i;
        vswitch_input(&sw, i % 3, frame, 60);
    }
    uint8_t last[6] = { 2, 0, 0, 0, (2 * VSW_TABLE - 1) >> 8, (2 * VSW_TABLE - 1) & 0xff };
    CHECK_EQ(vswitch_lookup(&sw, last), (2 * VSW_TABLE - 1) % 3);
}

/*
 * Port security. Layout for these tests: port 0 the uplink (host NIC), port 1 shoal's own stack
 * (MAC 02:..:f0, IP 10.0.2.15), ports 2 and 3 guests (MACs 02:..:02 and 02:..:03).
 */
static const uint8_t host_mac[6] = { 2, 0, 0, 0, 0, 0xf0 };
static const uint32_t host_ip = 0x0f02000a;                 /* 10.0.2.15 in network order */

static void setup_secure(void)
{
    static const uint8_t g2[6] = { 2, 0, 0, 0, 0, 2 }, g3[6] = { 2, 0, 0, 0, 0, 3 };
    vswitch_init(&sw);
    memset(got, 0, sizeof(got));
    CHECK_EQ(vswitch_port_add(&sw, "nic", rec, (void *)(intptr_t)0, NULL), 0);
    CHECK_EQ(vswitch_port_add(&sw, "shoal", rec, (void *)(intptr_t)1, host_mac), 1);
    CHECK_EQ(vswitch_set_host(&sw, 1, host_ip), 0);
    CHECK_EQ(vswitch_port_add(&sw, "g2", rec, (void *)(intptr_t)2, g2), 2);
    CHECK_EQ(vswitch_port_add(&sw, "g3", rec, (void *)(intptr_t)3, g3), 3);
}

static int delivered(void) { return got[0] + got[1] + got[2] + got[3]; }

/* An IPv4 frame from MAC 02:..:src to dst (-1 broadcast; -2 the host), IP source ip, UDP sport -> dport. */
static size_t mk_udp(int dst, int src, uint32_t ip, int sport, int dport)
{
    mk(dst == -2 ? -1 : dst, src);
    if (dst == -2)
        memcpy(frame, host_mac, 6);
    frame[12] = 0x08;
    frame[14] = 0x45;                            /* IPv4, 20-byte header */
    frame[23] = 17;                              /* UDP */
    memcpy(frame + 26, &ip, 4);
    frame[34] = (uint8_t)(sport >> 8);
    frame[35] = (uint8_t)sport;
    frame[36] = (uint8_t)(dport >> 8);
    frame[37] = (uint8_t)dport;
    return 60;
}

/* An ARP reply from MAC 02:..:src saying "IP ip is at 02:..:src" (RFC 826), broadcast. */
static size_t mk_arp(int src, uint32_t ip)
{
    mk(-1, src);
    frame[12] = 0x08;
    frame[13] = 0x06;
    static const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 2 };
    memcpy(frame + 14, hdr, 8);
    memcpy(frame + 22, frame + 6, 6);            /* sender hardware address */
    memcpy(frame + 28, &ip, 4);                  /* sender protocol address */
    return 60;
}

TEST(vsw_guest_sends_only_from_its_mac)
{
    setup_secure();
    mk(-1, 9);                                   /* guest 2 claims 02:..:09 */
    vswitch_input(&sw, 2, frame, 60);
    mk(-1, 3);                                   /* ... and guest 3's address */
    vswitch_input(&sw, 2, frame, 60);
    CHECK_EQ(delivered(), 0);
    CHECK_EQ(sw.port[2].spoofed, 2);
    mk(3, 2);                                    /* its own address: delivered to guest 3 only */
    vswitch_input(&sw, 2, frame, 60);
    CHECK(got[3] == 1 && delivered() == 1);
    uint8_t g3[6] = { 2, 0, 0, 0, 0, 3 };
    CHECK_EQ(vswitch_lookup(&sw, g3), 3);
}

TEST(vsw_guest_cannot_take_the_host_mac)
{
    setup_secure();
    mk(-1, 0);
    memcpy(frame + 6, host_mac, 6);              /* a guest frame from shoal's own MAC */
    vswitch_input(&sw, 2, frame, 60);
    CHECK_EQ(delivered(), 0);
    CHECK_EQ(sw.port[2].spoofed, 1);
    mk(0, 0x20);                                 /* the target's reply to shoal still reaches shoal only */
    memcpy(frame, host_mac, 6);
    vswitch_input(&sw, 0, frame, 60);
    CHECK(got[1] == 1 && delivered() == 1);
    CHECK_EQ(vswitch_lookup(&sw, host_mac), 1);
}

TEST(vsw_uplink_cannot_take_a_station_mac)
{
    setup_secure();
    mk(-1, 2);                                   /* a frame from outside with guest 2's source */
    vswitch_input(&sw, 0, frame, 60);
    memcpy(frame + 6, host_mac, 6);              /* ... and with shoal's */
    vswitch_input(&sw, 0, frame, 60);
    CHECK_EQ(delivered(), 0);
    CHECK_EQ(sw.port[0].spoofed, 2);
    mk(2, 0x20);
    vswitch_input(&sw, 0, frame, 60);
    CHECK(got[2] == 1 && delivered() == 1);
}

TEST(vsw_guest_never_reaches_the_host)
{
    setup_secure();
    mk(-1, 2);
    memcpy(frame, host_mac, 6);                  /* unicast to shoal's stack: refused */
    vswitch_input(&sw, 2, frame, 60);
    CHECK_EQ(delivered(), 0);
    CHECK_EQ(sw.port[2].denied, 1);
    mk(-1, 2);                                   /* broadcast: the uplink and guest 3, not shoal */
    vswitch_input(&sw, 2, frame, 60);
    CHECK(got[0] == 1 && got[1] == 0 && got[3] == 1);
    mk(-1, 0xf0);                                /* shoal's broadcast (its ARP, DHCP): the uplink only */
    vswitch_input(&sw, 1, frame, 60);
    CHECK(got[0] == 2 && got[2] == 0 && got[3] == 1);
    mk(2, 0xf0);                                 /* shoal unicast to a guest: refused */
    vswitch_input(&sw, 1, frame, 60);
    CHECK(got[2] == 0 && delivered() == 3);
}

TEST(vsw_host_unicast_never_flooded)
{
    setup_secure();                              /* nothing learned: shoal's MAC is still known */
    mk(0, 0x20);
    memcpy(frame, host_mac, 6);
    vswitch_input(&sw, 0, frame, 60);
    CHECK(got[1] == 1 && got[2] == 0 && got[3] == 0);
    mk(3, 0x20);                                 /* a guest's MAC never floods to the other guest */
    vswitch_input(&sw, 0, frame, 60);
    CHECK(got[3] == 1 && got[2] == 0);
}

TEST(vsw_guest_cannot_claim_the_host_ip)
{
    setup_secure();
    vswitch_input(&sw, 2, frame, mk_arp(2, host_ip));            /* ARP: shoal's IP is at guest 2 */
    CHECK_EQ(delivered(), 0);
    vswitch_input(&sw, 2, frame, mk_udp(-1, 2, host_ip, 3260, 3260));   /* IPv4 from shoal's IP */
    CHECK_EQ(delivered(), 0);
    CHECK_EQ(sw.port[2].denied, 2);
    vswitch_input(&sw, 2, frame, mk_arp(2, 0x1002000a));         /* its own 10.0.2.16: fine */
    CHECK(got[0] == 1 && got[3] == 1);
    vswitch_input(&sw, 1, frame, mk_arp(0xf0, host_ip));         /* shoal announcing itself: fine */
    CHECK_EQ(got[0], 2);
    sw.host_ip = 0;                              /* no address yet: ARP probes from 0.0.0.0 pass */
    vswitch_input(&sw, 2, frame, mk_arp(2, 0));
    CHECK_EQ(got[0], 3);
}

TEST(vsw_guest_dhcp_server_dropped)
{
    setup_secure();
    vswitch_input(&sw, 2, frame, mk_udp(-1, 2, 0x0102000a, 67, 68));   /* an offer from a guest */
    CHECK_EQ(delivered(), 0);
    mk_udp(-1, 2, 0x0102000a, 67, 68);           /* the same behind an 802.1Q tag */
    memmove(frame + 16, frame + 12, 44);
    frame[12] = 0x81;
    frame[13] = 0x00;
    vswitch_input(&sw, 2, frame, 64);
    CHECK_EQ(delivered(), 0);
    CHECK_EQ(sw.port[2].denied, 2);
    vswitch_input(&sw, 2, frame, mk_udp(-1, 2, 0, 68, 67));            /* a guest's DHCP request */
    CHECK(got[0] == 1 && got[3] == 1);
    vswitch_input(&sw, 0, frame, mk_udp(2, 0x20, 0x0202000a, 67, 68)); /* the real server's offer */
    CHECK_EQ(got[2], 1);
}

TEST(vsw_station_port_add_checks)
{
    static const uint8_t grp[6] = { 1, 0, 0, 0, 0, 1 };
    setup_secure();
    CHECK_EQ(vswitch_port_add(&sw, "dup", rec, NULL, host_mac), -EINVAL);
    CHECK_EQ(vswitch_port_add(&sw, "grp", rec, NULL, grp), -EINVAL);
    CHECK_EQ(vswitch_set_host(&sw, 0, host_ip), -EINVAL);      /* the uplink cannot be the host */
}
