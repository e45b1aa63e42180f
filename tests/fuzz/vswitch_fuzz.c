/* libFuzzer target: hostile frames into the virtual switch; guests never reach, see or impersonate shoal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net/vswitch.h"
#include "kernel/byteorder.h"

/* Ports: 0 the uplink, 1 shoal's own stack, 2 and 3 guests. */
static const uint8_t macs[4][6] = { { 0 }, { 2, 0, 0, 0, 0, 0xf0 }, { 2, 0, 0, 0, 0, 2 }, { 2, 0, 0, 0, 0, 3 } };
static const uint32_t host_ip = 0x0f02000a;        /* 10.0.2.15 */
static struct vswitch sw;
static int in_port;

/* Every delivery: the separation and port-security rules hold for the frame as delivered. */
static void rx(void *ctx, const void *frame, size_t len)
{
    const uint8_t *f = frame;
    const struct vsw_port *src = &sw.port[in_port], *dst = &sw.port[(intptr_t)ctx];
    if (len < 14 || len > VSW_FRAME_MAX || dst == src)
        abort();
    if ((src->kind == VSW_GUEST && dst->kind == VSW_HOST) || (src->kind == VSW_HOST && dst->kind == VSW_GUEST))
        abort();                                   /* guests and shoal's stack exchanged a frame */
    if (src->kind != VSW_UPLINK && memcmp(f + 6, src->mac, 6))
        abort();                                   /* a station sent from a MAC not its own */
    if (src->kind == VSW_UPLINK && (!memcmp(f + 6, macs[1], 6) || !memcmp(f + 6, macs[2], 6)))
        abort();                                   /* the uplink used a station's MAC */
    if (src->kind == VSW_GUEST && get_be16(f + 12) == 0x0806 && len >= 32 && !memcmp(f + 28, &host_ip, 4))
        abort();                                   /* a guest's ARP claimed shoal's address */
}

static void setup(void)
{
    vswitch_init(&sw);
    for (intptr_t i = 0; i < 4; i++)
        if (vswitch_port_add(&sw, "p", rx, (void *)i, i ? macs[i] : NULL) != i)
            abort();
    if (vswitch_set_host(&sw, 1, host_ip) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
/* Input: records of [port selector][length 2 bytes][frame]. Selector bit 2 stamps the port's own source
 * MAC over the frame's (so the checks behind the source check are reached); bit 3 shoal's IP as sender. */
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static uint8_t frame[VSW_FRAME_MAX + 64];
    setup();
    while (n >= 3) {
        size_t len = get_be16(d + 1) % sizeof(frame), sel = d[0];
        d += 3, n -= 3;
        len = len < n ? len : n;
        memcpy(frame, d, len);
        d += len, n -= len;
        in_port = (int)(sel & 3);
        if ((sel & 4) && len >= 12 && in_port)
            memcpy(frame + 6, macs[in_port], 6);
        if ((sel & 8) && len >= 32)
            memcpy(frame + 28, &host_ip, 4);
        vswitch_input(&sw, in_port, frame, len);
    }
    return 0;
}
