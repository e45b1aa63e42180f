/* The API's bearer token: set from the boot line or the shell, compared in constant time. */
#include "net/api/api.h"
#include "mbedtls/base64.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

#define API_TOKEN_MIN 8

static char token[HTTP_TOKEN_MAX + 1];

int api_auth_set(const char *tok)
{
    size_t n = strnlen(tok, HTTP_TOKEN_MAX + 1);
    if (n < API_TOKEN_MIN || n > HTTP_TOKEN_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = tok[i];
        /* RFC 6750 2.1 b64token: what a client can send after "Bearer " unquoted. */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~+/=", c)))
            return -EINVAL;
    }
    memcpy(token, tok, n + 1);
    return 0;
}

int api_auth_configured(void)
{
    return token[0] != 0;
}

int api_auth_ok(const char *tok)
{
    return api_auth_configured() && http_token_equal(tok, token);
}

int api_auth_basic_ok(const char *b64)
{
    unsigned char plain[HTTP_BASIC_MAX];
    size_t n = 0;
    const char *pw;
    int ok;
    if (!*b64 || mbedtls_base64_decode(plain, sizeof(plain) - 1, &n, (const unsigned char *)b64, strlen(b64)))
        return 0;
    plain[n] = 0;
    pw = strchr((const char *)plain, ':');
    ok = pw && strlen((const char *)plain) == n && api_auth_ok(pw + 1);   /* no NUL inside */
    memset(plain, 0, sizeof(plain));           /* the token in clear */
    return ok;
}

int api_auth_head_ok(const struct http_head *h)
{
    return api_auth_configured() && (api_auth_ok(h->token) || api_auth_basic_ok(h->basic));
}
