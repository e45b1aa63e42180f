/* The host NIC as lwIP's netif: NIC selection, boot configuration (ip=, gw=, dns=, nic=), polling. */
#include "net/net.h"
#include "net/vswitch.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "drivers/pci.h"
#include "kernel/errno.h"
#include "kernel/init.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/param.h"
#include "kernel/shell.h"
#include "kernel/time.h"

static const struct nic_driver *const drivers[] = { &e1000_driver, &virtio_net_driver };

static struct netif host_if;
static struct nic *host_nic;
static int lwip_ready, polling, use_dhcp = 1, last_link = -1;
static uint64_t next_link_check;
static char cfg_ip[16], cfg_gw[16], cfg_dns[16], cfg_nic[16];
static int cfg_prefix = 24;
/* The virtual switch sits between the NIC and lwIP: both are ports (net/vswitch.c); lwIP is its host port,
 * which guests can neither reach nor see nor impersonate. Frames the switch
 * hands to lwIP wait in a small ring until net_poll (lwIP runs only in the poll context). */
static int nic_port = -1, lwip_port = -1, nic_tx_failed;
#define LWIP_RXQ 32
static struct pbuf *lwip_rxq[LWIP_RXQ];
static unsigned lwip_rxq_head, lwip_rxq_tail;

/* Strict dotted quad: exactly four decimal parts 0-255 (ip4addr_aton also takes "1.2.3"). */
static int parse_ipv4(const char *str, ip4_addr_t *out)
{
    const char *s = str;
    int parts = 0;
    while (parts < 4) {
        unsigned v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return -EINVAL;
        parts++;
        if (parts < 4 && *s++ != '.')
            return -EINVAL;
    }
    if (*s || !ip4addr_aton(str, out))
        return -EINVAL;
    return 0;
}

/* Boot parameters: stored here, applied by net_init (parameters are applied before init hooks run). */
static int param_ip(const char *v)
{
    if (strcmp(v, "dhcp") == 0) {
        use_dhcp = 1;
        return 0;
    }
    if (net_parse_cidr(v, cfg_ip, sizeof(cfg_ip), &cfg_prefix) < 0)
        return -EINVAL;
    use_dhcp = 0;
    return 0;
}
static int param_addr(const char *v, char *dst)
{
    ip4_addr_t a;
    if (parse_ipv4(v, &a) < 0)
        return -EINVAL;
    kstrlcpy(dst, v, 16);
    return 0;
}
static int param_gw(const char *v) { return param_addr(v, cfg_gw); }
static int param_dns(const char *v) { return param_addr(v, cfg_dns); }
static int param_nic(const char *v)
{
    if (strcmp(v, "e1000") && strcmp(v, "e1000e") && strcmp(v, "virtio"))
        return -EINVAL;
    kstrlcpy(cfg_nic, v, sizeof(cfg_nic));
    return 0;
}
BOOT_PARAM("ip", "host address: dhcp (default) or A.B.C.D/PREFIX", param_ip);
BOOT_PARAM("gw", "host default gateway A.B.C.D (with static ip=)", param_gw);
BOOT_PARAM("dns", "DNS server A.B.C.D", param_dns);
BOOT_PARAM("nic", "host NIC to use: e1000|e1000e|virtio (default: first found)", param_nic);

int net_parse_cidr(const char *s, char *ip, int size, int *prefix)
{
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    uint64_t p = 24;
    ip4_addr_t a;
    if (n == 0 || n >= 16 || (int)n >= size)
        return -EINVAL;
    memcpy(ip, s, n);
    ip[n] = 0;
    if (parse_ipv4(ip, &a) < 0)
        return -EINVAL;
    if (slash && (kstrtou64(slash + 1, &p, 0) < 0 || p > 32))
        return -EINVAL;
    *prefix = (int)p;
    return 0;
}

/* lwIP -> NIC: flatten the pbuf chain into one frame. */
static err_t host_linkoutput(struct netif *nif, struct pbuf *p)
{
    static uint8_t frame[NIC_MTU_FRAME];
    (void)nif;
    if (p->tot_len > sizeof(frame)) {
        LINK_STATS_INC(link.lenerr);
        return ERR_BUF;
    }
    pbuf_copy_partial(p, frame, p->tot_len, 0);
    nic_tx_failed = 0;
    vswitch_input(vswitch_default(), lwip_port, frame, p->tot_len);
    if (nic_tx_failed) {                /* the NIC's ring was full: let lwIP know, as before the switch */
        LINK_STATS_INC(link.drop);
        return ERR_MEM;
    }
    LINK_STATS_INC(link.xmit);
    return ERR_OK;
}

/* Switch -> NIC. */
static void nic_port_tx(void *ctx, const void *frame, size_t len)
{
    (void)ctx;
    if (host_nic->ops->send(host_nic, frame, len) < 0)
        nic_tx_failed = 1;
}

/* Switch -> lwIP: queue a pbuf copy for net_poll. */
static void lwip_port_tx(void *ctx, const void *frame, size_t len)
{
    struct pbuf *p;
    (void)ctx;
    if (lwip_rxq_tail - lwip_rxq_head >= LWIP_RXQ || !(p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL))) {
        LINK_STATS_INC(link.memerr);
        return;
    }
    pbuf_take(p, frame, (u16_t)len);
    lwip_rxq[lwip_rxq_tail++ % LWIP_RXQ] = p;
}

static int lwip_rxq_drain(void)
{
    int n = 0;
    while (lwip_rxq_head != lwip_rxq_tail) {
        n++;
        struct pbuf *p = lwip_rxq[lwip_rxq_head++ % LWIP_RXQ];
        LINK_STATS_INC(link.recv);
        if (host_if.input(p, &host_if) != ERR_OK)
            pbuf_free(p);
    }
    return n;
}

static err_t host_netif_init(struct netif *nif)
{
    nif->name[0] = 'e';
    nif->name[1] = 'n';
    nif->output = etharp_output;
    nif->linkoutput = host_linkoutput;
    nif->mtu = 1500;
    nif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(nif->hwaddr, host_nic->mac, ETH_HWADDR_LEN);
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    netif_set_hostname(nif, "shoal");
    return ERR_OK;
}

/* NIC -> switch (the NIC reuses its buffer right after: the switch's ports copy). */
static void host_rx(void *arg, const void *frame, size_t len)
{
    (void)arg;
    vswitch_input(vswitch_default(), nic_port, frame, len);
    lwip_rxq_drain();
}

static void link_follow(void)
{
    int up = host_nic->ops->link_up(host_nic);
    if (up == last_link)
        return;
    last_link = up;
    if (up)
        netif_set_link_up(&host_if);
    else
        netif_set_link_down(&host_if);
    log_info("net: %s link %s", host_nic->model, up ? "up" : "down");
}

/*
 * Keep polling flat out while frames flow, and for a short while after: the NIC raises no interrupt,
 * so once the host sleeps a frame waits for the next timer tick (at most 10 ms).
 */
#define NET_BUSY_NS 50000000ull
static uint64_t last_frame_ns;

/* A frame waits in the host NIC's ring (the poll loop's next round takes it). */
static int net_rx_waiting(void)
{
    return host_nic->ops->rx_ready && host_nic->ops->rx_ready(host_nic) ? SHELL_WAIT_FRAME : 0;
}

static int net_poller(void)
{
    net_poll();
    return lwip_ready && time_ns() - last_frame_ns < NET_BUSY_NS;
}

void net_poll(void)
{
    int frames;
    if (!lwip_ready || polling)
        return;
    polling = 1;
    frames = lwip_rxq_drain();          /* frames the switch queued for shoal */
    frames += host_nic->ops->poll(host_nic, host_rx, &host_if, 256);
    netif_poll(&host_if);               /* packets sent to our own address (LWIP_NETIF_LOOPBACK) */
    if (frames > 0)
        last_frame_ns = time_ns();
    sys_check_timeouts();
    uint64_t now = time_ns();
    if (now >= next_link_check) {
        next_link_check = now + 500000000ull;
        link_follow();
    }
    polling = 0;
}

int net_is_up(void)
{
    return lwip_ready && netif_is_up(&host_if) && netif_is_link_up(&host_if) &&
           !ip4_addr_isany_val(*netif_ip4_addr(&host_if));
}

struct netif *net_netif(void) { return lwip_ready ? &host_if : NULL; }

int net_host_addr(uint8_t mac[6], uint32_t *gw, int *prefix)
{
    uint32_t mask;
    if (!lwip_ready)
        return -ENODEV;
    memcpy(mac, host_if.hwaddr, 6);
    *gw = ip4_addr_get_u32(netif_ip4_gw(&host_if));
    mask = lwip_ntohl(ip4_addr_get_u32(netif_ip4_netmask(&host_if)));
    for (*prefix = 0; *prefix < 32 && (mask & (0x80000000u >> *prefix)); (*prefix)++)
        ;
    return 0;
}
struct nic *net_nic(void) { return host_nic; }

int net_wait_up(uint32_t timeout_ms)
{
    if (!lwip_ready)
        return -ENODEV;
    uint64_t end = time_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!net_is_up()) {
        if (time_ns() >= end)
            return -ETIMEDOUT;
        net_poll();
    }
    return 0;
}

int net_dhcp_start(void)
{
    if (!lwip_ready)
        return -ENODEV;
    use_dhcp = 1;
    netif_set_addr(&host_if, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4);
    return dhcp_start(&host_if) == ERR_OK ? 0 : -ENOMEM;
}

int net_set_static(const char *ip, int prefix, const char *gw)
{
    ip4_addr_t a, m, g;
    if (!lwip_ready)
        return -ENODEV;
    if (parse_ipv4(ip, &a) < 0 || prefix < 0 || prefix > 32 || (gw && parse_ipv4(gw, &g) < 0))
        return -EINVAL;
    if (!gw)
        ip4_addr_set_zero(&g);
    ip4_addr_set_u32(&m, prefix ? lwip_htonl(0xffffffffu << (32 - prefix)) : 0);
    dhcp_release_and_stop(&host_if);
    use_dhcp = 0;
    netif_set_addr(&host_if, &a, &m, &g);
    return 0;
}

int net_dhcp_state(const char **state)
{
    static const char *const names[] = {
        "off", "requesting", "init", "rebooting", "rebinding", "renewing", "selecting",
        "informing", "checking", "permanent", "bound", "releasing", "backing-off",
    };
    struct dhcp *d = lwip_ready ? netif_dhcp_data(&host_if) : NULL;
    if (!d || !use_dhcp) {
        *state = "off";
        return 0;
    }
    *state = d->state < sizeof(names) / sizeof(names[0]) ? names[d->state] : "?";
    return 1;
}

static void host_status_cb(struct netif *nif)
{
    char ip[16], mask[16], gw[16];
    vswitch_set_host(vswitch_default(), lwip_port, ip4_addr_get_u32(netif_ip4_addr(nif)));
    if (ip4_addr_isany_val(*netif_ip4_addr(nif)))
        return;
    ip4addr_ntoa_r(netif_ip4_addr(nif), ip, sizeof(ip));
    ip4addr_ntoa_r(netif_ip4_netmask(nif), mask, sizeof(mask));
    ip4addr_ntoa_r(netif_ip4_gw(nif), gw, sizeof(gw));
    log_info("net: address %s mask %s gw %s%s", ip, mask, gw, use_dhcp ? " (dhcp)" : "");
}

/* First NIC in PCI order that a driver claims and attaches (restricted to nic= when given). */
static int nic_select(void)
{
    const struct pci_dev *d;
    for (int i = 0; (d = pci_get(i)) != NULL; i++) {
        for (unsigned k = 0; k < sizeof(drivers) / sizeof(drivers[0]); k++) {
            const char *model = drivers[k]->match(d);
            if (!model)
                continue;
            if (cfg_nic[0] && strncmp(model, cfg_nic, strlen(cfg_nic)) != 0)
                continue;
            if (cfg_nic[0] && strcmp(cfg_nic, "e1000") == 0 && strcmp(model, "e1000") != 0)
                continue;
            if (drivers[k]->attach(d, &host_nic) == 0)
                return 0;
        }
    }
    return -ENODEV;
}

static int net_init(void)
{
    if (nic_select() < 0) {
        log_warn("net: no usable NIC%s%s", cfg_nic[0] ? " matching nic=" : "", cfg_nic);
        return -ENODEV;
    }
    const uint8_t *m = host_nic->mac;
    log_info("net: %s at %02x:%02x.%x, MAC %02x:%02x:%02x:%02x:%02x:%02x", host_nic->model,
             host_nic->pci->bus, host_nic->pci->dev, host_nic->pci->fn, m[0], m[1], m[2], m[3], m[4], m[5]);
    nic_port = vswitch_port_add(vswitch_default(), host_nic->model, nic_port_tx, NULL, NULL);
    lwip_port = vswitch_port_add(vswitch_default(), "shoal", lwip_port_tx, NULL, host_nic->mac);
    vswitch_set_host(vswitch_default(), lwip_port, 0);
    lwip_init();
    netif_add(&host_if, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, NULL, host_netif_init, ethernet_input);
    netif_set_default(&host_if);
    netif_set_status_callback(&host_if, host_status_cb);
    netif_set_up(&host_if);
    lwip_ready = 1;
    link_follow();
    if (cfg_dns[0]) {
        ip_addr_t dns;
        ipaddr_aton(cfg_dns, &dns);
        dns_setserver(0, &dns);
    }
    int rc = use_dhcp ? net_dhcp_start() : net_set_static(cfg_ip, cfg_prefix, cfg_gw[0] ? cfg_gw : NULL);
    shell_add_poller(net_poller);
    shell_add_waiting(net_rx_waiting);
    return rc;
}
INIT_HOOK(INIT_NET, net_init);
