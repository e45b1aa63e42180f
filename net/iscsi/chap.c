/* CHAP responses (RFC 1994) and the 0x-hex encoding iSCSI uses for binary values (RFC 7143 6.1). */
#include "net/iscsi/chap.h"
#include "kernel/md5.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

void chap_response(uint8_t id, const char *secret, const uint8_t *chal, size_t chal_len, uint8_t out[16])
{
    struct md5_ctx c;
    md5_init(&c);
    md5_update(&c, &id, 1);
    md5_update(&c, secret, strlen(secret));
    md5_update(&c, chal, chal_len);
    md5_final(&c, out);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int chap_hex_decode(const char *s, uint8_t *out, size_t max)
{
    size_t n;
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return -EBADMSG;
    s += 2;
    n = strlen(s);
    if (n == 0 || (n & 1))
        return -EBADMSG;
    if (n / 2 > max)
        return -E2BIG;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EBADMSG;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

void chap_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char dig[] = "0123456789abcdef";
    *out++ = '0';
    *out++ = 'x';
    for (size_t i = 0; i < len; i++) {
        *out++ = dig[in[i] >> 4];
        *out++ = dig[in[i] & 15];
    }
    *out = 0;
}
