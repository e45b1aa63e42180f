/*
 * A learning Ethernet switch (IEEE 802.1D forwarding without spanning tree): learn, forward, flood, age;
 * with port security: station ports send only from their own MAC, and guests and shoal's stack are apart.
 */
#include "net/vswitch.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/time.h"
#include "kernel/byteorder.h"

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

/* The station port that owns mac, or -1. */
static int station_of(struct vswitch *sw, const uint8_t *mac)
{
    for (int i = 0; i < VSW_PORTS; i++)
        if (sw->port[i].tx && sw->port[i].kind != VSW_UPLINK && !memcmp(sw->port[i].mac, mac, 6))
            return i;
    return -1;
}

int vswitch_port_add(struct vswitch *sw, const char *name, vsw_tx_fn tx, void *ctx, const uint8_t mac[6])
{
    if (!tx || (mac && ((mac[0] & 1) || station_of(sw, mac) >= 0)))
        return -EINVAL;
    for (int i = 0; i < VSW_PORTS; i++) {
        if (sw->port[i].tx)
            continue;
        memset(&sw->port[i], 0, sizeof(sw->port[i]));
        sw->port[i].tx = tx;
        sw->port[i].ctx = ctx;
        sw->port[i].kind = mac ? VSW_GUEST : VSW_UPLINK;
        if (mac)
            memcpy(sw->port[i].mac, mac, 6);
        kstrlcpy(sw->port[i].name, name ? name : "?", sizeof(sw->port[i].name));
        return i;
    }
    return -ENOSPC;
}

int vswitch_set_host(struct vswitch *sw, int port, uint32_t ip)
{
    if (port < 0 || port >= VSW_PORTS || !sw->port[port].tx || sw->port[port].kind == VSW_UPLINK)
        return -EINVAL;
    sw->port[port].kind = VSW_HOST;
    sw->host_ip = ip;
    return 0;
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
    int station = station_of(sw, mac);
    if (station >= 0)
        return station;
    struct vsw_entry *e = entry_find(sw, mac, time_ns());
    return e ? e->port : -1;
}

/*
 * May a guest send this frame? Not when it claims shoal's IPv4 address as an ARP sender (RFC 826) or
 * an IPv4 source, nor when it is a DHCP server message (UDP source port 67, RFC 2131). Up to two
 * 802.1Q/802.1ad tags are looked through. ARP probes from 0.0.0.0 pass while shoal has no address.
 */
static int guest_frame_ok(const struct vswitch *sw, const uint8_t *f, size_t len)
{
    size_t off = 12;
    uint16_t type = get_be16(f + off);
    for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8) && len >= off + 6; tags++) {
        off += 4;
        type = get_be16(f + off);
    }
    off += 2;
    if (type == 0x0806)                        /* ARP: sender protocol address at 14 */
        return !(sw->host_ip && len >= off + 18 && !memcmp(f + off + 14, &sw->host_ip, 4));
    if (type != 0x0800 || len < off + 20)
        return 1;
    const uint8_t *ip = f + off;
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    if (sw->host_ip && !memcmp(ip + 12, &sw->host_ip, 4))
        return 0;
    int first_fragment = (get_be16(ip + 6) & 0x1fff) == 0;
    if (ip[9] == 17 && first_fragment && ihl >= 20 && len >= off + ihl + 2 && get_be16(ip + ihl) == 67)
        return 0;
    return 1;
}

/* Guests and shoal's own stack never exchange frames: storage and management are not a guest's. */
static int ports_apart(const struct vsw_port *a, const struct vsw_port *b)
{
    return (a->kind == VSW_GUEST && b->kind == VSW_HOST) || (a->kind == VSW_HOST && b->kind == VSW_GUEST);
}

/* A station port sends only from its own MAC; an uplink never from a station's. Counts violations. */
static int source_ok(struct vswitch *sw, int port, const uint8_t *src)
{
    struct vsw_port *in = &sw->port[port];
    int ok = in->kind == VSW_UPLINK ? station_of(sw, src) < 0 : !memcmp(in->mac, src, 6);
    if (!ok)
        in->spoofed++;
    return ok;
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
    if (!source_ok(sw, port, f + 6))
        return;
    if (in->kind == VSW_GUEST && !guest_frame_ok(sw, f, len)) {
        in->denied++;
        return;
    }
    if (in->kind == VSW_UPLINK && !(f[6] & 1))   /* a group address is never a source (802.1D 7.8) */
        learn(sw, f + 6, port, now);
    int out = (f[0] & 1) ? -1 : station_of(sw, f);
    if (out < 0 && !(f[0] & 1)) {
        struct vsw_entry *e = entry_find(sw, f, now);
        out = e ? e->port : -1;
    }
    if (out >= 0) {
        if (out == port)
            in->drops++;                      /* already on the segment it came from */
        else if (ports_apart(in, &sw->port[out]))
            in->denied++;
        else
            port_send(&sw->port[out], frame, len);
        sw->unicasts++;
        return;
    }
    sw->floods++;
    for (int i = 0; i < VSW_PORTS; i++)
        if (i != port && sw->port[i].tx && !ports_apart(in, &sw->port[i]))
            port_send(&sw->port[i], frame, len);
}
