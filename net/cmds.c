/* Shell commands for the host network: `net` (status, dhcp, set, tcptest) and `ping`. */
#include "net/net.h"
#include "net/tools.h"
#include "lwip/netif.h"
#include "lwip/dhcp.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/shell.h"

static int mask_prefix(uint32_t mask_be)
{
    uint32_t m = lwip_ntohl(mask_be);
    int n = 0;
    while (m & 0x80000000u) {
        n++;
        m <<= 1;
    }
    return n;
}

static int net_show(void)
{
    struct nic *n = net_nic();
    struct netif *nif = net_netif();
    if (!n || !nif) {
        kprintf("net: no NIC attached\n");
        return -ENODEV;
    }
    if (n->ops->refresh_stats)
        n->ops->refresh_stats(n);
    const uint8_t *m = n->mac;
    const char *dstate;
    char ip[16], gw[16];
    int dhcp = net_dhcp_state(&dstate);
    ip4addr_ntoa_r(netif_ip4_addr(nif), ip, sizeof(ip));
    ip4addr_ntoa_r(netif_ip4_gw(nif), gw, sizeof(gw));
    kprintf("nic   %s at %02x:%02x.%x  mac %02x:%02x:%02x:%02x:%02x:%02x  link %s\n", n->model,
            n->pci->bus, n->pci->dev, n->pci->fn, m[0], m[1], m[2], m[3], m[4], m[5],
            netif_is_link_up(nif) ? "up" : "down");
    kprintf("ipv4  %s/%d  gw %s  %s%s  %s\n", ip, mask_prefix(ip4_addr_get_u32(netif_ip4_netmask(nif))), gw,
            dhcp ? "dhcp " : "static", dhcp ? dstate : "", net_is_up() ? "up" : "not up");
    const struct nic_stats *s = &n->stats;
    kprintf("rx    packets %llu  bytes %llu  errors %llu  drops %llu\n", (unsigned long long)s->rx_packets,
            (unsigned long long)s->rx_bytes, (unsigned long long)s->rx_errors, (unsigned long long)s->rx_drops);
    kprintf("tx    packets %llu  bytes %llu  errors %llu  drops %llu\n", (unsigned long long)s->tx_packets,
            (unsigned long long)s->tx_bytes, (unsigned long long)s->tx_errors, (unsigned long long)s->tx_drops);
    return 0;
}

/* `net set ip=A/P [gw=G]` */
static int net_set(int argc, char **argv)
{
    char ip[16] = "", gw[16] = "";
    int prefix = 24;
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "ip=", 3) == 0) {
            if (net_parse_cidr(argv[i] + 3, ip, sizeof(ip), &prefix) < 0)
                return shell_usage("net");
        } else if (strncmp(argv[i], "gw=", 3) == 0 && strlen(argv[i] + 3) < sizeof(gw)) {
            kstrlcpy(gw, argv[i] + 3, sizeof(gw));
        } else {
            return shell_usage("net");
        }
    }
    if (!ip[0])
        return shell_usage("net");
    return net_set_static(ip, prefix, gw[0] ? gw : NULL);
}

static int cmd_net(int argc, char **argv)
{
    if (argc == 1)
        return net_show();
    if (strcmp(argv[1], "dhcp") == 0 && argc == 2)
        return net_dhcp_start();
    if (strcmp(argv[1], "set") == 0)
        return net_set(argc, argv);
    if (strcmp(argv[1], "tcptest") == 0 && argc == 5) {
        uint64_t port, bytes;
        if (kstrtou64(argv[3], &port, 0) < 0 || port == 0 || port > 65535 || kstrtou64(argv[4], &bytes, 1) < 0)
            return shell_usage("net");
        return net_tcptest(argv[2], (uint16_t)port, bytes);
    }
    return shell_usage("net");
}
SHELL_COMMAND("net", "[dhcp | set ip=A.B.C.D/P [gw=A.B.C.D] | tcptest HOST PORT BYTES]",
              "host network: NIC, address, counters; restart DHCP; static address; TCP read test", cmd_net);

static int cmd_ping(int argc, char **argv)
{
    uint64_t count = 4;
    if (argc < 2 || argc > 3 || (argc == 3 && (kstrtou64(argv[2], &count, 0) < 0 || count == 0 || count > 100000)))
        return shell_usage("ping");
    if (!net_netif())
        return -ENODEV;
    return net_ping(argv[1], (int)count);
}
SHELL_COMMAND("ping", "HOST [COUNT]", "send ICMP echo requests (default 4) and print the replies", cmd_ping);
