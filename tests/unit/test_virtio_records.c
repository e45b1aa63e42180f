/* Host tests of the virtio devices' records: round trip, rings outside RAM refused, the switch port follows the MAC. */
#define TEST_SUITE "virtio"
#include "tests/unit/test.h"
#include "tests/unit/virtio_fake.h"
#include "tests/unit/host_shim.h"
#include "vmm/dev/virtio_mmio.h"
#include "vmm/dev/snapshot.h"
#include "vmm/dev/devices.h"
#include "net/vswitch.h"

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0x5e, 0, 1 }, mac_b[6] = { 0x52, 0x54, 0, 0x5e, 0, 2 };

/* The n-th registry entry named name. */
static struct vm_dev *entry(const char *name, int n)
{
    for (int i = 0; i < fvm.ndevs; i++)
        if (!strcmp(fvm.devs[i].name, name) && n-- == 0)
            return &fvm.devs[i];
    return NULL;
}

static int walk(struct vm_dev *d, uint8_t *buf, size_t len, int save, const char **why)
{
    struct snap s = { buf, len, 0, save, 0, NULL };
    d->snapshot(d->dev, &s);
    *why = s.why;
    return s.err ? s.err : (int)s.pos;
}

TEST(virtio_record_round_trip_and_rings_checked)
{
    static uint8_t good[4096], bad[4096], again[4096];
    const char *why;
    fake_vm_new();
    vswitch_init(vswitch_default());
    CHECK_EQ(virtio_net_attach(&fvm, 1, mac_a), 0);
    win = &fvm.mmio[0];
    CHECK_EQ(driver_init(1), 15);                    /* queue 0 ready over the fake's rings */
    struct vm_dev *d = entry("virtio-net", 0);
    struct virtio_mmio *m = d->dev;                  /* the transport is the device's first member */
    int n = walk(d, good, sizeof(good), 1, &why);
    CHECK(n > 0);
    m->st.q[0].desc = RAM_SIZE;                      /* a ring past the end of RAM */
    CHECK_EQ(walk(d, bad, sizeof(bad), 1, &why), n);
    CHECK_EQ(walk(d, bad, (size_t)n, 0, &why), -22);
    CHECK_STR(why, "virtio queue outside RAM, misaligned or with a bad size");
    CHECK_EQ(walk(d, good, (size_t)n, 0, &why), n);
    CHECK_EQ(walk(d, again, sizeof(again), 1, &why), n);
    CHECK_MEM(good, again, (size_t)n);
    fake_vm_destroy();
}

TEST(virtio_net_port_follows_the_restored_mac)
{
    static uint8_t rec[4096];
    const char *why;
    fake_vm_new();
    vswitch_init(vswitch_default());
    CHECK_EQ(virtio_net_attach(&fvm, 1, mac_a), 0);  /* the destination's own MAC */
    CHECK_EQ(virtio_net_attach(&fvm, 2, mac_b), 0);  /* the guest's, held by its source on this host */
    struct vm_dev *dst = entry("virtio-net", 0), *src = entry("virtio-net", 1);
    int n = walk(src, rec, sizeof(rec), 1, &why);
    CHECK_EQ(walk(dst, rec, (size_t)n, 0, &why), n);
    int held = vswitch_lookup(vswitch_default(), mac_b), own = vswitch_lookup(vswitch_default(), mac_a);
    dst->post_restore(&fvm, dst->dev);
    CHECK_EQ(vswitch_lookup(vswitch_default(), mac_b), held);   /* the source still holds it */
    CHECK_EQ(vswitch_lookup(vswitch_default(), mac_a), own);
    vswitch_port_remove(vswitch_default(), held);    /* the source goes */
    dst->post_restore(&fvm, dst->dev);
    CHECK(vswitch_lookup(vswitch_default(), mac_b) >= 0);
    CHECK_EQ(vswitch_lookup(vswitch_default(), mac_a), -1);
    fake_vm_destroy();
}
