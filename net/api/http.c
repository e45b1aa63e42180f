/* Header fields of API requests (hostile input): the bearer token, Content-Length, Content-Type. */
#include "net/api/http.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* s[n] equals word, ASCII case-insensitively (word in lower case). */
static int ieq(const char *s, size_t n, const char *word)
{
    if (strlen(word) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != word[i])
            return 0;
    return 1;
}

/* s[n] contains word, case-insensitively. */
static int icontains(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++)
        if (ieq(s + i, w, word))
            return 1;
    return 0;
}

/* RFC 9110 5.6.2 tchar. */
static int tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 7617 2: "Basic" SP token68 of base64 "user-id:password" (decoded by api_auth_basic_ok). */
static int set_basic(struct http_head *h, const char *v, size_t n, const char **why)
{
    while (n && *v == ' ') {
        v++;
        n--;
    }
    if (n == 0 || n > HTTP_BASIC_MAX || n % 4) {
        *why = "the Basic credentials are empty, too long or not base64";
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        int pad = c == '=' && i + 2 >= n && (i + 1 == n || v[i + 1] == '=');
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || pad)) {
            *why = "the Basic credentials are not base64";
            return -EINVAL;
        }
    }
    memcpy(h->basic, v, n);
    h->basic[n] = 0;
    return 0;
}

static int set_token(struct http_head *h, const char *v, size_t n, const char **why)
{
    h->has_auth = 1;
    if (n >= 6 && ieq(v, 5, "basic") && v[5] == ' ')
        return set_basic(h, v + 6, n - 6, why);
    /* RFC 6750 2.1: "Bearer" SP b64token; the scheme is case-insensitive (RFC 9110 11.1). */
    if (n < 7 || !ieq(v, 6, "bearer") || v[6] != ' ')
        return 0;                        /* another scheme: no token, so 401 */
    v += 7;
    n -= 7;
    while (n && *v == ' ') {
        v++;
        n--;
    }
    if (n == 0 || n > HTTP_TOKEN_MAX) {
        *why = "the bearer token is empty or too long";
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (!tchar((unsigned char)v[i]) && v[i] != '/' && v[i] != '=') {
            *why = "the bearer token has a character RFC 6750 does not allow";
            return -EINVAL;
        }
    memcpy(h->token, v, n);
    h->token[n] = 0;
    return 0;
}

static int set_length(struct http_head *h, const char *v, size_t n, const char **why)
{
    uint64_t x = 0;
    if (h->content_length >= 0) {
        *why = "Content-Length appears twice";
        return -EINVAL;
    }
    if (n == 0 || n > 10) {
        *why = "Content-Length is not a number";
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            *why = "Content-Length is not a number";
            return -EINVAL;
        }
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    h->content_length = (int64_t)x;
    return 0;
}

/* One field line name:value (n bytes, CRLF excluded). */
static int field(struct http_head *h, const char *s, size_t n, const char **why)
{
    size_t k = 0, vs, ve;
    while (k < n && tchar((unsigned char)s[k]))
        k++;
    if (k == 0 || k == n || s[k] != ':') {
        *why = "a header line is not name: value";
        return -EINVAL;
    }
    for (size_t i = k + 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *why = "a control character in a header value";
            return -EINVAL;
        }
    }
    for (vs = k + 1; vs < n && (s[vs] == ' ' || s[vs] == '\t'); vs++)
        ;
    for (ve = n; ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'); ve--)
        ;
    if (ieq(s, k, "authorization")) {
        if (h->has_auth) {
            *why = "Authorization appears twice";
            return -EINVAL;
        }
        return set_token(h, s + vs, ve - vs, why);
    }
    if (ieq(s, k, "content-length"))
        return set_length(h, s + vs, ve - vs, why);
    if (ieq(s, k, "transfer-encoding"))
        h->chunked = 1;
    else if (ieq(s, k, "content-type"))
        h->json = icontains(s + vs, ve - vs, "application/json");
    else if (ieq(s, k, "accept"))
        h->accept_html = icontains(s + vs, ve - vs, "text/html");
    return 0;
}

int http_head_parse(const char *buf, size_t len, struct http_head *h, const char **why)
{
    const char *p = buf, *end = buf + len, *nl;
    int nfields = 0;
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    *why = NULL;
    /* Skip the request line (httpd has parsed it and may have cut it with NULs). */
    while (p + 1 < end && !(p[0] == '\r' && p[1] == '\n'))
        p++;
    if (p + 1 >= end) {
        *why = "the request line does not end";
        return -EINVAL;
    }
    p += 2;
    for (;;) {
        for (nl = p; nl + 1 < end && !(nl[0] == '\r' && nl[1] == '\n'); nl++)
            if (*nl == 0) {
                *why = "a NUL byte in the header";
                return -EINVAL;
            }
        if (nl + 1 >= end) {
            *why = "the header does not end with an empty line";
            return -EINVAL;
        }
        if (nl == p)
            return 0;
        if (*p == ' ' || *p == '\t') {
            *why = "obsolete line folding in the header";
            return -EINVAL;
        }
        if (++nfields > HTTP_FIELD_MAX) {
            *why = "too many header fields";
            return -EINVAL;
        }
        if (field(h, p, (size_t)(nl - p), why))
            return -EINVAL;
        p = nl + 2;
    }
}

static int segchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

int http_path_split(char *path, char **seg, int max)
{
    int n = 0;
    char *p = path;
    if (*p++ != '/')
        return -EINVAL;
    while (*p) {
        char *s = p;
        while (segchar((unsigned char)*p))
            p++;
        if (p == s || (*p && *p != '/') || n == max)
            return -EINVAL;
        if ((p - s == 1 && s[0] == '.') || (p - s == 2 && s[0] == '.' && s[1] == '.'))
            return -EINVAL;
        seg[n++] = s;
        if (*p == '/')
            *p++ = 0;
    }
    return n;
}

int http_token_equal(const char *a, const char *b)
{
    /* Both padded to a fixed width and compared whole: the time depends on neither content nor length. */
    char pa[HTTP_TOKEN_MAX + 1] = { 0 }, pb[HTTP_TOKEN_MAX + 1] = { 0 };
    size_t la = strnlen(a, HTTP_TOKEN_MAX + 1), lb = strnlen(b, HTTP_TOKEN_MAX + 1);
    unsigned d = (la > HTTP_TOKEN_MAX) | (lb > HTTP_TOKEN_MAX) | (la == 0) | (lb == 0);
    memcpy(pa, a, la > HTTP_TOKEN_MAX ? HTTP_TOKEN_MAX : la);
    memcpy(pb, b, lb > HTTP_TOKEN_MAX ? HTTP_TOKEN_MAX : lb);
    d |= (unsigned)(la ^ lb);
    for (size_t i = 0; i < sizeof(pa); i++)
        d |= (unsigned char)(pa[i] ^ pb[i]);
    return d == 0;
}
