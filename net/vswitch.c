/* A learning Ethernet switch (IEEE 802.1D forwarding without spanning tree): learn, forward, flood, age. */
#include "net/vswitch.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/time.h"

static struct vswitch default_sw;
static int default_ready;

struct vswitch *vswitch_default(void)
{
    if (!default_ready) {
        vswitch_init(&default_sw);
        default_ready = 1;
    }
    return &default_sw;
}

void vswitch_init(struct vswitch *sw)
{
    memset(sw, 0, sizeof(*sw));
    for (int i = 0; i < VSW_TABLE; i++)
        sw->table[i].port = -1;
    sw->age_ns = VSW_AGE_NS;
}

int vswitch_port_add(struct vswitch *sw, const char *name, vsw_tx_fn tx, void *ctx)
{
    if (!tx)
        return -EINVAL;
    for (int i = 0; i < VSW_PORTS; i++) {
        if (sw->port[i].tx)
            continue;
        memset(&sw->port[i], 0, sizeof(sw->port[i]));
        sw->port[i].tx = tx;
        sw->port[i].ctx = ctx;
        kstrlcpy(sw->port[i].name, name ? name : "?", sizeof(sw->port[i].name));
        return i;
    }
    return -ENOSPC;
}

void vswitch_port_remove(struct vswitch *sw, int port)
{
    if (port < 0 || port >= VSW_PORTS)
        return;
    sw->port[port].tx = NULL;
    for (int i = 0; i < VSW_TABLE; i++)
        if (sw->table[i].port == port)
            sw->table[i].port = -1;
}

static uint32_t mac_hash(const uint8_t *mac)
{
    uint32_t h = 2166136261u;                 /* FNV-1a */
    for (int i = 0; i < 6; i++)
        h = (h ^ mac[i]) * 16777619u;
    return h % VSW_TABLE;
}

/* The live entry for mac, or NULL. Open addressing with linear probing over the whole table. */
static struct vsw_entry *entry_find(struct vswitch *sw, const uint8_t *mac, uint64_t now)
{
    uint32_t h = mac_hash(mac);
    for (int k = 0; k < VSW_TABLE; k++) {
        struct vsw_entry *e = &sw->table[(h + (uint32_t)k) % VSW_TABLE];
        if (e->port >= 0 && !memcmp(e->mac, mac, 6))
            return now - e->seen_ns < sw->age_ns ? e : NULL;
    }
    return NULL;
}

static void learn(struct vswitch *sw, const uint8_t *mac, int port, uint64_t now)
{
    uint32_t h = mac_hash(mac);
    struct vsw_entry *slot = NULL, *oldest = NULL;
    for (int k = 0; k < VSW_TABLE; k++) {
        struct vsw_entry *e = &sw->table[(h + (uint32_t)k) % VSW_TABLE];
        if (e->port >= 0 && !memcmp(e->mac, mac, 6)) {
            slot = e;                          /* known (maybe moved to another port) */
            break;
        }
        if (!slot && (e->port < 0 || now - e->seen_ns >= sw->age_ns))
            slot = e;                          /* first free or aged slot, keep looking for mac */
        if (!oldest || e->seen_ns < oldest->seen_ns)
            oldest = e;
    }
    if (!slot)
        slot = oldest;                         /* table full of live entries: replace the stalest */
    memcpy(slot->mac, mac, 6);
    slot->port = (int16_t)port;
    slot->seen_ns = now;
}

int vswitch_lookup(struct vswitch *sw, const uint8_t mac[6])
{
    struct vsw_entry *e = entry_find(sw, mac, time_ns());
    return e ? e->port : -1;
}

static void port_send(struct vsw_port *p, const void *frame, size_t len)
{
    p->tx_frames++;
    p->tx(p->ctx, frame, len);
}

void vswitch_input(struct vswitch *sw, int port, const void *frame, size_t len)
{
    const uint8_t *f = frame;
    uint64_t now = time_ns();
    if (port < 0 || port >= VSW_PORTS || !sw->port[port].tx)
        return;
    struct vsw_port *in = &sw->port[port];
    in->rx_frames++;
    if (len < 14 || len > VSW_FRAME_MAX) {
        in->drops++;
        return;
    }
    if (!(f[6] & 1))                          /* a group address is never a source (802.1D 7.8) */
        learn(sw, f + 6, port, now);
    struct vsw_entry *e = (f[0] & 1) ? NULL : entry_find(sw, f, now);
    if (e) {
        if (e->port == port)
            in->drops++;                      /* already on the segment it came from */
        else
            port_send(&sw->port[e->port], frame, len);
        sw->unicasts++;
        return;
    }
    sw->floods++;
    for (int i = 0; i < VSW_PORTS; i++)
        if (i != port && sw->port[i].tx)
            port_send(&sw->port[i], frame, len);
}
