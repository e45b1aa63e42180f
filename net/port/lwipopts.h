/* lwIP configuration for shoal: NO_SYS raw API, static pools sized for one fast TCP stream (iSCSI). */
#ifndef SHOAL_LWIPOPTS_H
#define SHOAL_LWIPOPTS_H

/* One polled context (the shell's idle loop) drives everything: no threads, no sockets. */
#define NO_SYS                      1
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define LWIP_NETIF_API              0
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_TIMERS                 1

/* Memory: lwIP's own heap (a static array) and static pools; nothing from the kernel heap. */
#define MEM_LIBC_MALLOC             0
#define MEMP_MEM_MALLOC             0
#define MEM_ALIGNMENT               8
#define MEM_SIZE                    (512 * 1024)
#define PBUF_POOL_SIZE              512
#define PBUF_POOL_BUFSIZE           1600
#define MEMP_NUM_PBUF               128
#define MEMP_NUM_RAW_PCB            4
#define MEMP_NUM_UDP_PCB            8
#define MEMP_NUM_TCP_PCB            40     /* iSCSI, migration, and API clients (closed ones linger in TIME_WAIT) */
#define MEMP_NUM_TCP_PCB_LISTEN     4
#define MEMP_NUM_SYS_TIMEOUT        16
#define MEMP_NUM_ARP_QUEUE          32

/* Protocols. */
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ICMP                   1
#define LWIP_RAW                    1
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define LWIP_DHCP                   1
#define DHCP_DOES_ARP_CHECK         0
#define LWIP_AUTOIP                 0
#define LWIP_IGMP                   0
#define LWIP_DNS                    1
#define IP_REASSEMBLY               1
#define IP_FRAG                     1
#define ARP_QUEUEING                1
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK    1
#define LWIP_NETIF_HOSTNAME         1

/* TCP sized for throughput: 64 KiB+ windows need window scaling (RFC 7323 2). */
#define TCP_MSS                     1460
#define LWIP_WND_SCALE              1
#define TCP_RCV_SCALE               2
#define TCP_WND                     (128 * 1024)
#define TCP_SND_BUF                 (128 * 1024)
#define TCP_SND_QUEUELEN            ((4 * TCP_SND_BUF) / TCP_MSS)
#define MEMP_NUM_TCP_SEG            TCP_SND_QUEUELEN
#define TCP_OVERSIZE                TCP_MSS
#define TCP_SNDLOWAT                (32 * 1024)
#define TCP_QUEUE_OOSEQ             1
#define LWIP_TCP_SACK_OUT           0
#define TCP_LISTEN_BACKLOG          1

/* Checksums in software (the host NIC drivers do no offload). */
#define CHECKSUM_GEN_IP             1
#define CHECKSUM_GEN_UDP            1
#define CHECKSUM_GEN_TCP            1
#define CHECKSUM_GEN_ICMP           1
#define CHECKSUM_CHECK_IP           1
#define CHECKSUM_CHECK_UDP          1
#define CHECKSUM_CHECK_TCP          1
#define CHECKSUM_CHECK_ICMP         1
#define LWIP_CHKSUM_ALGORITHM       3

/* Application layered TCP (altcp) with TLS from mbedTLS (net/tls/): the migration channel. mbedTLS's
   configuration is net/tls/mbedtls_config.h; its entropy is random_bytes(), so no extra seed string. */
#define LWIP_ALTCP                  1
#define LWIP_ALTCP_TLS              1
#define LWIP_ALTCP_TLS_MBEDTLS      1

/* lwIP's HTTP server (apps/http/httpd.c, compiled inside net/api/server.c): the management API. POST
   carries request bodies; net/api/ writes every response's headers itself (status codes httpd does not
   know); one request per connection; a request that makes no progress for 10 s is closed. */
#define LWIP_HTTPD_SUPPORT_POST          1
#define LWIP_HTTPD_POST_MANUAL_WND       1     /* a POST's answer waits for its action (net/api/server.c) */
#define LWIP_HTTPD_DYNAMIC_HEADERS       0
#define LWIP_HTTPD_SUPPORT_V09           0
#define LWIP_HTTPD_SUPPORT_EXTSTATUS     1     /* 400 and 501 answered (net/api writes them as JSON) */
#define LWIP_HTTPD_SUPPORT_REQUESTLIST   1
#define LWIP_HTTPD_REQ_QUEUELEN          8
#define LWIP_HTTPD_MAX_REQ_LENGTH        4096
#define LWIP_HTTPD_MAX_REQUEST_URI_LEN   127
#define HTTPD_ENABLE_HTTPS               1
#define HTTPD_POLL_INTERVAL              4     /* TCP slow-timer ticks (500 ms): 2 s */
#define HTTPD_MAX_RETRIES                5
#define HTTPD_SERVER_AGENT               "shoal"

/* Packets to the host's own address loop back (a channel to a listener on the same host: migration
   to the same host). net_poll() delivers them with netif_poll(); no 127.0.0.1 interface. */
#define LWIP_NETIF_LOOPBACK         1
#define LWIP_HAVE_LOOPIF            0

/* Statistics feed `net`; debug output off (LWIP_DEBUG not defined). */
#define LWIP_STATS                  1
#define LWIP_STATS_DISPLAY          0
#define LINK_STATS                  1
#define MIB2_STATS                  0

/* Random numbers (ports, DHCP xid, ISNs) from sys_arch.c. */
#define LWIP_RAND()                 shoal_lwip_rand()
#ifndef __ASSEMBLER__
#include <stdint.h>
uint32_t shoal_lwip_rand(void);
#endif

#endif
