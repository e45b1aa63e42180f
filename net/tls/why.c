/* Why a TLS channel failed, in words an operator can act on: alerts, TCP errors, timeouts. */
#include "net/tls/chan_priv.h"
#include "lwip/tcp.h"
#include "kernel/errno.h"

static const struct {
    uint8_t code;
    const char *name;
} alert_names[] = {
    { MBEDTLS_SSL_ALERT_MSG_CLOSE_NOTIFY, "close_notify" },
    { MBEDTLS_SSL_ALERT_MSG_UNEXPECTED_MESSAGE, "unexpected_message" },
    { MBEDTLS_SSL_ALERT_MSG_BAD_RECORD_MAC, "bad_record_mac" },
    { MBEDTLS_SSL_ALERT_MSG_DECRYPTION_FAILED, "decryption_failed" },
    { MBEDTLS_SSL_ALERT_MSG_RECORD_OVERFLOW, "record_overflow" },
    { MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE, "handshake_failure" },
    { MBEDTLS_SSL_ALERT_MSG_ILLEGAL_PARAMETER, "illegal_parameter" },
    { MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR, "decode_error" },
    { MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR, "decrypt_error" },
    { MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION, "protocol_version" },
    { MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY, "insufficient_security" },
    { MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR, "internal_error" },
    { MBEDTLS_SSL_ALERT_MSG_UNKNOWN_PSK_IDENTITY, "unknown_psk_identity" },
};

const char *tls_alert_name(int code)
{
    for (size_t i = 0; i < sizeof(alert_names) / sizeof(alert_names[0]); i++)
        if (alert_names[i].code == code)
            return alert_names[i].name;
    return "other";
}

/*
 * Alerts that mean the two sides do not hold the same key (or the peer is no shoal channel): with
 * PSK suites the Finished MAC is the first thing the key decides (RFC 5246 7.4.9, RFC 4279 2),
 * so a wrong key shows as bad_record_mac / decrypt_error; a wrong identity as unknown_psk_identity;
 * a peer without ECDHE-PSK ChaCha20-Poly1305 as handshake_failure.
 */
static int key_alert(int code)
{
    return code == MBEDTLS_SSL_ALERT_MSG_BAD_RECORD_MAC || code == MBEDTLS_SSL_ALERT_MSG_DECRYPTION_FAILED ||
           code == MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR || code == MBEDTLS_SSL_ALERT_MSG_UNKNOWN_PSK_IDENTITY ||
           code == MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE;
}

int tls_why_tcp(err_t err, const char **words)
{
    switch (err) {
    case ERR_RST: *words = "connection refused or reset by the peer"; return -ECONNRESET;
    case ERR_ABRT: *words = "connection aborted"; return -ECANCELED;
    case ERR_TIMEOUT: *words = "no answer from the peer (TCP timeout)"; return -ETIMEDOUT;
    case ERR_RTE: *words = "no route to the peer"; return -ENODEV;
    case ERR_MEM: case ERR_BUF: *words = "out of network memory"; return -ENOMEM;
    default: *words = "connection failed"; return -EIO;
    }
}

/* The peer sent its FIN: the TCP pcb under the TLS layer waits in CLOSE_WAIT. */
static int peer_closed(struct altcp_pcb *pcb)
{
    if (!pcb || !pcb->inner_conn || !pcb->inner_conn->state)
        return 0;
    const struct tcp_pcb *tcp = pcb->inner_conn->state;
    return tcp->state == CLOSE_WAIT || tcp->state == LAST_ACK;
}

/*
 * lwIP closes the connection right after a failed handshake; with received bytes still unread (the
 * rest of the peer's flight) tcp_close answers with RST, which can reach the peer before the alert
 * explaining the failure. Count them as read so that the close is a FIN behind the alert.
 */
static void settle_window(struct altcp_pcb *pcb)
{
    if (!pcb || !pcb->inner_conn || !pcb->inner_conn->state)
        return;
    struct tcp_pcb *tcp = pcb->inner_conn->state;
    if (tcp->state == LISTEN)
        return;
    for (int i = 0; i < 4; i++)
        tcp_recved(tcp, 0xffff);      /* lwIP caps the window at its maximum */
}

void tls_why_handshake(struct tls_chan *ch, err_t err)
{
    mbedtls_ssl_context *ssl = tls_ssl(ch->pcb);
    if (err == ERR_CLSD)
        settle_window(ch->pcb);
    if (err != ERR_CLSD) {
        const char *words;
        int e = tls_why_tcp(err, &words);
        tls_chan_fail(ch, e, "%s", words);
        return;
    }
    int in = ssl && ssl->in_msg && ssl->in_msgtype == MBEDTLS_SSL_MSG_ALERT ? ssl->in_msg[1] : -1;
    int code = in >= 0 ? in : ch->alert_out;
    const char *who = in >= 0 ? "peer sent" : "we sent";
    if (code > 0 && key_alert(code))
        tls_chan_fail(ch, -EPERM, "key mismatch or not a shoal peer (%s alert %s)", who, tls_alert_name(code));
    else if (code > 0)
        tls_chan_fail(ch, -EPROTO, "TLS handshake failed (%s alert %s, %d)", who, tls_alert_name(code), code);
    else if (code == 0 || peer_closed(ch->pcb))
        tls_chan_fail(ch, -ECONNRESET, "peer closed the connection during the TLS handshake");
    else
        tls_chan_fail(ch, -EPROTO, "TLS handshake failed: the peer does not speak TLS (bad record)");
}

void tls_why_peer_close(struct tls_chan *ch)
{
    mbedtls_ssl_context *ssl = tls_ssl(ch->pcb);
    ch->peer_eof = 1;
    if (!ssl || !ssl->in_msg || ssl->in_msgtype != MBEDTLS_SSL_MSG_ALERT)
        return;                       /* a FIN without close_notify: the protocol above sees its end is missing */
    if (ssl->in_msg[0] == MBEDTLS_SSL_ALERT_LEVEL_FATAL)
        tls_chan_fail(ch, -EPROTO, "the peer ended the channel with alert %s (it refused what we sent)",
                      tls_alert_name(ssl->in_msg[1]));
}
