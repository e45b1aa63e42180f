/* Pre-shared key parsing for the TLS channel: 64 hex digits, or SHA-256 of a passphrase. */
#include "net/tls/psk.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/sha256.h"
#include "net/iscsi/chap.h"

/* 64 hex digits -> key[32] (through iSCSI's hex decoder); returns 0, or -EINVAL for anything else. */
static int parse_hex_key(const char *s, uint8_t key[TLS_PSK_KEY_LEN])
{
    char buf[2 * TLS_PSK_KEY_LEN + 3] = "0x";
    if (strnlen(s, 2 * TLS_PSK_KEY_LEN + 1) != 2 * TLS_PSK_KEY_LEN)
        return -EINVAL;
    memcpy(buf + 2, s, 2 * TLS_PSK_KEY_LEN + 1);
    int n = chap_hex_decode(buf, key, TLS_PSK_KEY_LEN);
    memset(buf, 0, sizeof(buf));
    return n == TLS_PSK_KEY_LEN ? 0 : -EINVAL;
}

static int identity_ok(const char *id, size_t len)
{
    if (len == 0 || len > TLS_PSK_IDENTITY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (id[i] < 0x21 || id[i] > 0x7e)
            return 0;
    return 1;
}

int tls_psk_parse(struct tls_psk *psk, const char *key, const char *identity)
{
    memset(psk, 0, sizeof(*psk));
    if (!identity)
        identity = TLS_PSK_IDENTITY_DEFAULT;
    size_t idlen = strnlen(identity, TLS_PSK_IDENTITY_MAX + 1);
    if (!key || !key[0] || !identity_ok(identity, idlen))
        return -EINVAL;
    if (parse_hex_key(key, psk->key) < 0)
        sha256(key, strlen(key), psk->key);
    memcpy(psk->identity, identity, idlen);
    psk->identity_len = idlen;
    return 0;
}

void tls_psk_wipe(struct tls_psk *psk)
{
    volatile uint8_t *p = (volatile uint8_t *)psk;
    for (size_t i = 0; i < sizeof(*psk); i++)
        p[i] = 0;
}
