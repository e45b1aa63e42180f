/* ping over lwIP's raw API (RFC 792 echo), and host name resolution for the network commands. */
#include "net/net.h"
#include "net/tools.h"
#include "lwip/raw.h"
#include "lwip/dns.h"
#include "lwip/inet_chksum.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "kernel/console.h"
#include "kernel/errno.h"
#include "kernel/printf.h"
#include "kernel/time.h"

#define PING_ID       0x5348   /* "SH" */
#define PING_PAYLOAD  56

struct ping_state {
    uint16_t seq;          /* sequence number of the request in flight */
    int replied;
    uint64_t sent_ns;
    unsigned received;
    uint64_t rtt_min, rtt_max, rtt_sum;
};

struct resolve_state { int done; ip_addr_t addr; };

static void resolve_found(const char *name, const ip_addr_t *addr, void *arg)
{
    struct resolve_state *r = arg;
    (void)name;
    if (addr)
        r->addr = *addr;
    r->done = addr ? 1 : -1;
}

int net_resolve(const char *host, ip_addr_t *out)
{
    struct resolve_state r = { 0 };
    if (ipaddr_aton(host, out))
        return 0;
    err_t e = dns_gethostbyname(host, &r.addr, resolve_found, &r);
    if (e == ERR_OK) {
        *out = r.addr;
        return 0;
    }
    if (e != ERR_INPROGRESS)
        return -EINVAL;
    uint64_t end = time_ns() + 5000000000ull;
    while (!r.done && time_ns() < end)
        net_poll();
    if (r.done != 1)
        return r.done ? -ENOENT : -ETIMEDOUT;
    *out = r.addr;
    return 0;
}

/* Raw ICMP input: take our echo replies (id and current sequence), leave everything else to lwIP. */
static u8_t ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    struct ping_state *st = arg;
    struct icmp_echo_hdr h;
    (void)pcb;
    (void)addr;
    if (p->len < IP_HLEN)
        return 0;
    u16_t hl = (u16_t)(IPH_HL((const struct ip_hdr *)p->payload) * 4);
    if (pbuf_copy_partial(p, &h, sizeof(h), hl) != sizeof(h) || h.type != ICMP_ER ||
        h.id != lwip_htons(PING_ID))
        return 0;
    if (h.seqno == lwip_htons(st->seq) && !st->replied) {
        uint64_t rtt = time_ns() - st->sent_ns;
        st->replied = 1;
        st->received++;
        st->rtt_sum += rtt;
        if (st->received == 1 || rtt < st->rtt_min)
            st->rtt_min = rtt;
        if (rtt > st->rtt_max)
            st->rtt_max = rtt;
        kprintf("%u bytes from %s: icmp_seq=%u ttl=%u time=%u.%03u ms\n", (unsigned)(p->tot_len - hl),
                ipaddr_ntoa(addr), st->seq, IPH_TTL((const struct ip_hdr *)p->payload),
                (unsigned)(rtt / 1000000), (unsigned)(rtt / 1000 % 1000));
    }
    pbuf_free(p);
    return 1;
}

static int ping_send(struct raw_pcb *pcb, const ip_addr_t *dst, uint16_t seq)
{
    struct pbuf *p = pbuf_alloc(PBUF_IP, sizeof(struct icmp_echo_hdr) + PING_PAYLOAD, PBUF_RAM);
    if (!p)
        return -ENOMEM;
    struct icmp_echo_hdr *h = p->payload;
    h->type = ICMP_ECHO;
    h->code = 0;
    h->chksum = 0;
    h->id = lwip_htons(PING_ID);
    h->seqno = lwip_htons(seq);
    uint8_t *data = (uint8_t *)(h + 1);
    for (int i = 0; i < PING_PAYLOAD; i++)
        data[i] = (uint8_t)i;
    h->chksum = inet_chksum(h, (u16_t)p->len);
    err_t e = raw_sendto(pcb, p, dst);
    pbuf_free(p);
    return e == ERR_OK ? 0 : -EIO;
}

/* Poll until until_ns (or the reply, when stop_on_reply); Ctrl-C cancels. */
static int ping_wait(struct ping_state *st, uint64_t until_ns, int stop_on_reply)
{
    while (time_ns() < until_ns && !(stop_on_reply && st->replied)) {
        net_poll();
        if (console_getc() == 3)
            return -ECANCELED;
    }
    return 0;
}

int net_ping(const char *host, int count)
{
    ip_addr_t dst;
    struct ping_state st = { 0 };
    int rc = net_resolve(host, &dst);
    if (rc < 0) {
        kprintf("ping: cannot resolve %s\n", host);
        return rc;
    }
    struct raw_pcb *pcb = raw_new(IP_PROTO_ICMP);
    if (!pcb)
        return -ENOMEM;
    raw_recv(pcb, ping_recv, &st);
    raw_bind(pcb, IP_ADDR_ANY);
    kprintf("PING %s: %d data bytes\n", ipaddr_ntoa(&dst), PING_PAYLOAD);
    int sent = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        st.seq = (uint16_t)(i + 1);
        st.replied = 0;
        st.sent_ns = time_ns();
        if (ping_send(pcb, &dst, st.seq) == 0)
            sent++;
        rc = ping_wait(&st, st.sent_ns + 1000000000ull, i + 1 == count);
        if (rc == 0 && !st.replied)
            kprintf("no reply for icmp_seq=%u\n", st.seq);
    }
    raw_remove(pcb);
    kprintf("%d packets transmitted, %u received, %u%% packet loss", sent, st.received,
            sent ? (unsigned)((sent - (int)st.received) * 100 / sent) : 0);
    if (st.received)
        kprintf(", rtt min/avg/max %u/%u/%u us", (unsigned)(st.rtt_min / 1000),
                (unsigned)(st.rtt_sum / st.received / 1000), (unsigned)(st.rtt_max / 1000));
    kprintf("\n");
    if (rc < 0)
        return rc;
    return st.received ? 0 : -ETIMEDOUT;
}
