/* A learning Ethernet switch: guest NICs, the host NIC and shoal's own lwIP netif are its ports. */
#ifndef SHOAL_NET_VSWITCH_H
#define SHOAL_NET_VSWITCH_H
#include <stdint.h>
#include <stddef.h>

#define VSW_PORTS        32
#define VSW_TABLE        256                          /* learned MAC addresses */
#define VSW_AGE_NS       (300ull * 1000000000ull)     /* IEEE 802.1D default ageing time: 300 s */
#define VSW_FRAME_MAX    1514

/* A port's transmit side: deliver one frame (valid only during the call) to whatever is behind the port. */
typedef void (*vsw_tx_fn)(void *ctx, const void *frame, size_t len);

/*
 * Port kinds. An uplink (the host NIC) is a segment of unknown stations: its sources are learned. A
 * station port (a guest NIC) owns the one MAC shoal gave it; the host port (shoal's own lwIP) likewise.
 */
enum vsw_kind { VSW_UPLINK, VSW_GUEST, VSW_HOST };

struct vsw_port {
    vsw_tx_fn tx;                  /* NULL: the slot is free */
    void *ctx;
    char name[16];
    uint8_t mac[6];                /* the station's own address (not for uplinks) */
    uint8_t kind;                  /* enum vsw_kind */
    uint64_t rx_frames, tx_frames, drops;
    uint64_t spoofed;              /* frames whose source address was not the port's own */
    uint64_t denied;               /* frames the guest/host separation refused */
};

struct vsw_entry {
    uint8_t mac[6];
    int16_t port;                  /* -1: empty */
    uint64_t seen_ns;
};

struct vswitch {
    struct vsw_port port[VSW_PORTS];
    struct vsw_entry table[VSW_TABLE];
    uint64_t age_ns;               /* entries not seen for this long are forgotten */
    uint64_t floods, unicasts;
    uint32_t host_ip;              /* shoal's own IPv4 address, network order (0: none yet) */
};

/* The switch shoal's NICs share. */
struct vswitch *vswitch_default(void);
/* Start with no ports, an empty table and the default ageing time. */
void vswitch_init(struct vswitch *sw);
/*
 * Add a port whose frames go to tx(ctx, ...). mac NULL: an uplink (sources learned); otherwise a guest
 * station port that may send only from mac. Returns its number, -EINVAL (no tx, or mac is a group
 * address or already another port's), -ENOSPC (full).
 */
int vswitch_port_add(struct vswitch *sw, const char *name, vsw_tx_fn tx, void *ctx, const uint8_t mac[6]);
/*
 * Make station port shoal's own network stack, at IPv4 address ip (network order; 0 while it has none;
 * call again when it changes). Guests can neither reach this port nor see its frames, nor claim ip.
 * Returns 0, or -EINVAL when port is not a station port.
 */
int vswitch_set_host(struct vswitch *sw, int port, uint32_t ip);
/* Remove a port and forget every address learned on it. Unknown ports are ignored. */
void vswitch_port_remove(struct vswitch *sw, int port);
/*
 * A frame that entered through port: on an uplink learn its source address there; forward it to the
 * station that owns the destination or the port that learned it, or flood it to every other port
 * (broadcast, multicast, unknown or aged unicast). Dropped and counted: frames shorter than an Ethernet
 * header or longer than VSW_FRAME_MAX, addressed back to their own port (drops); a station's frame from
 * any source MAC but its own, an uplink's from a station's MAC (spoofed); a guest's frame claiming
 * shoal's IPv4 address (ARP sender, IP source) or sent as a DHCP server, and any frame between a guest
 * and shoal's own port, in either direction (denied). Frames from unknown ports are ignored. Runs the
 * receivers' tx synchronously.
 */
void vswitch_input(struct vswitch *sw, int port, const void *frame, size_t len);
/* The station port that owns mac, else the port that learned it (and not aged), or -1. */
int vswitch_lookup(struct vswitch *sw, const uint8_t mac[6]);
#endif
