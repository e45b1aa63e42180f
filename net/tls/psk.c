/* Pre-shared key parsing for the TLS channel: 64 hex digits, or SHA-256 of a passphrase. */
#include "net/tls/psk.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/sha256.h"

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 64 hex digits -> key[32]; returns 0, or -EINVAL when s is anything else (then key is untouched). */
static int parse_hex_key(const char *s, uint8_t key[TLS_PSK_KEY_LEN])
{
    uint8_t tmp[TLS_PSK_KEY_LEN];
    if (strnlen(s, 2 * TLS_PSK_KEY_LEN + 1) != 2 * TLS_PSK_KEY_LEN)
        return -EINVAL;
    for (size_t i = 0; i < TLS_PSK_KEY_LEN; i++) {
        int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(key, tmp, sizeof(tmp));
    memset(tmp, 0, sizeof(tmp));
    return 0;
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
