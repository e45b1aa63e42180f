/* Diagnostic network tools behind the shell commands: name resolution, ping, TCP throughput test. */
#ifndef SHOAL_NET_TOOLS_H
#define SHOAL_NET_TOOLS_H
#include <stdint.h>
#include "lwip/ip_addr.h"

/* Resolve a dotted quad or (through DNS) a name, polling up to 5 s. Returns 0, -EINVAL, -ETIMEDOUT, -ENOENT. */
int net_resolve(const char *host, ip_addr_t *out);
/* Send count ICMP echo requests to host one second apart, printing each reply and a summary.
 * Returns 0 when at least one reply came, -ETIMEDOUT when none did, -ECANCELED on Ctrl-C. */
int net_ping(const char *host, int count);
/* Connect to host:port, read until bytes arrived or the peer closes, print the rate.
 * Returns 0 when all bytes arrived, negative errno otherwise. */
int net_tcptest(const char *host, uint16_t port, uint64_t bytes);
#endif
