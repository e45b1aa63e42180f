/* TLS channel server side: listeners, accepting peers, and the PSK-only mbedTLS configuration. */
#include "net/tls/chan_priv.h"
#include "kernel/errno.h"
#include "kernel/heap.h"

static struct tls_lsn *lsns;

/* Only TLS 1.2 ECDHE-PSK with ChaCha20-Poly1305 (RFC 7905): forward secrecy, no certificates. */
static const int suites[] = { MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256, 0 };

int tls_conf_setup(struct altcp_pcb *pcb, const struct tls_psk *psk, mbedtls_ssl_config **out)
{
    mbedtls_ssl_context *ssl = tls_ssl(pcb);
    if (!ssl || !ssl->conf)
        return -ENOMEM;
    /* altcp_tls_new gave this connection a config of its own (client) or the listener's (server). */
    mbedtls_ssl_config *conf = (mbedtls_ssl_config *)ssl->conf;
    *out = conf;
    mbedtls_ssl_conf_ciphersuites(conf, suites);
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    if (mbedtls_ssl_conf_psk(conf, psk->key, sizeof(psk->key), (const unsigned char *)psk->identity,
                             psk->identity_len) != 0)
        return -ENOMEM;
    return 0;
}

void tls_conf_free(struct altcp_tls_config *conf, mbedtls_ssl_config *ssl_conf)
{
    if (ssl_conf)
        mbedtls_ssl_config_free(ssl_conf);    /* frees and wipes the key copy */
    if (conf)
        altcp_tls_free_config(conf);
}

void tls_lsn_put(struct tls_lsn *l)
{
    if (l->refs > 0)
        l->refs--;
    if (l->refs > 0 || l->pcb)
        return;
    for (struct tls_lsn **pp = &lsns; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    tls_conf_free(l->conf, l->ssl_conf);
    kfree(l);
}

/* A TCP peer connected: its TLS handshake runs from here on; tls_poll hands it over once done. */
static err_t on_accept(void *arg, struct altcp_pcb *pcb, err_t err)
{
    struct tls_lsn *l = arg;
    if (!l || err != ERR_OK || !pcb)
        return ERR_VAL;
    struct tls_chan *ch = tls_chan_new(0);
    if (!ch || tls_chan_attach(ch, pcb) < 0) {
        if (ch)
            tls_chan_free(ch);
        altcp_abort(pcb);
        return ERR_ABRT;
    }
    ch->lsn = l;
    ch->conf = l->conf;
    l->refs++;
    return ERR_OK;
}

static struct tls_lsn *lsn_find(uint16_t port)
{
    for (struct tls_lsn *l = lsns; l; l = l->next)
        if (l->pcb && l->port == port)
            return l;
    return NULL;
}

/* Bind and listen; on failure everything made here is gone. */
static int lsn_open(struct tls_lsn *l, const struct tls_psk *psk)
{
    l->conf = altcp_tls_create_config_server(0);
    struct altcp_pcb *pcb = l->conf ? altcp_tls_new(l->conf, IPADDR_TYPE_V4) : NULL;
    int rc = pcb ? tls_conf_setup(pcb, psk, &l->ssl_conf) : -ENOMEM;
    if (rc == 0 && altcp_bind(pcb, IP4_ADDR_ANY, l->port) != ERR_OK)
        rc = -EIO;
    struct altcp_pcb *lp = rc == 0 ? altcp_listen(pcb) : NULL;
    if (!lp) {
        if (pcb)
            altcp_abort(pcb);
        tls_conf_free(l->conf, l->ssl_conf);
        return rc < 0 ? rc : -EIO;
    }
    l->pcb = lp;
    altcp_arg(lp, l);
    altcp_accept(lp, on_accept);
    return 0;
}

int tls_listen_psk(uint16_t port, const struct tls_psk *psk, tls_accept_fn accepted, void *arg)
{
    if (port == 0 || !psk || !accepted)
        return -EINVAL;
    if (lsn_find(port))
        return -EEXIST;
    struct tls_lsn *l = kzalloc(sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->port = port;
    l->accepted = accepted;
    l->arg = arg;
    int rc = lsn_open(l, psk);
    if (rc < 0) {
        kfree(l);
        return rc;
    }
    l->next = lsns;
    lsns = l;
    return 0;
}

int tls_listen(uint16_t port, const char *key, tls_accept_fn accepted, void *arg)
{
    struct tls_psk psk;
    int rc = tls_psk_parse(&psk, key, NULL);
    if (rc == 0)
        rc = tls_listen_psk(port, &psk, accepted, arg);
    tls_psk_wipe(&psk);
    return rc;
}

int tls_unlisten(uint16_t port)
{
    struct tls_lsn *l = lsn_find(port);
    if (!l)
        return -ENOENT;
    /*
     * Close the TCP listener under the TLS layer ourselves: altcp_mbedtls_close would clear its poll
     * callback, which lwIP 2.1.3 asserts against (and then writes past) for a listening pcb.
     */
    struct altcp_pcb *inner = l->pcb->inner_conn;
    altcp_arg(l->pcb, NULL);
    altcp_accept(l->pcb, NULL);
    l->pcb->inner_conn = NULL;
    if (inner && altcp_close(inner) != ERR_OK)
        altcp_abort(inner);
    altcp_close(l->pcb);      /* no inner connection left: only frees the TLS state */
    l->pcb = NULL;
    l->refs++;                /* tls_lsn_put drops this one and frees l when no channel holds it */
    tls_lsn_put(l);
    return 0;
}

int tls_lsn_count(void)
{
    int n = 0;
    for (struct tls_lsn *l = lsns; l; l = l->next)
        n++;
    return n;
}
