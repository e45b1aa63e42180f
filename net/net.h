/*
 * shoal's network: lwIP (NO_SYS=1, raw API) over the host NIC, driven from one polled context.
 *
 * Rules for users of lwIP (e.g. the iSCSI transport): call tcp_*, udp_*, raw_* only from the poll
 * context, i.e. from a shell command or from a function registered with shell_add_poll(), never from a
 * timer or interrupt callback. lwIP callbacks (tcp_recv, tcp_sent, ...) run inside net_poll(). A
 * command that waits for the network must keep calling net_poll() while it waits.
 */
#ifndef SHOAL_NET_H
#define SHOAL_NET_H
#include <stdint.h>
#include "drivers/nic.h"

struct netif;

/* 1 when the host netif is up, its link is up and it has an IPv4 address (DHCP bound or static). */
int net_is_up(void);
/* The host's lwIP netif, or NULL when no NIC was attached. */
struct netif *net_netif(void);
/* The attached host NIC, or NULL. */
struct nic *net_nic(void);
/*
 * Run the network once: hand received frames to lwIP, run lwIP's timers, follow the link state.
 * Called from the shell's idle loop; waiting commands call it themselves. Not re-entrant.
 */
void net_poll(void);
/* The host NIC's MAC, its gateway (network byte order as in memory, 0: none) and prefix length. 0 or -ENODEV. */
int net_host_addr(uint8_t mac[6], uint32_t *gw, int *prefix);
/* Poll until net_is_up() or timeout_ms pass. Returns 0, or -ETIMEDOUT (-ENODEV without a NIC). */
int net_wait_up(uint32_t timeout_ms);
/* Start (or restart) DHCP on the host netif. Returns 0 or negative errno. */
int net_dhcp_start(void);
/*
 * Use a static address: ip and gw as dotted quads, prefix 0-32; gw may be NULL (none).
 * Stops DHCP. Returns 0, or -EINVAL for a malformed address.
 */
int net_set_static(const char *ip, int prefix, const char *gw);
/* 1 when DHCP runs on the host netif; *state gets a short name of its state ("bound", "selecting", ...). */
int net_dhcp_state(const char **state);
/* Parse "A.B.C.D/P" into dotted-quad buf (size >= 16) and *prefix. Returns 0 or -EINVAL. */
int net_parse_cidr(const char *s, char *ip, int size, int *prefix);
#endif
