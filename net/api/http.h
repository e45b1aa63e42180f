/* The parts of an HTTP request lwIP's httpd does not parse for the API: header fields, the bearer token. */
#ifndef SHOAL_API_HTTP_H
#define SHOAL_API_HTTP_H
#include <stddef.h>
#include <stdint.h>

#define HTTP_TOKEN_MAX 128            /* longest bearer token accepted (the configured one is shorter) */
#define HTTP_BASIC_MAX 256            /* longest Basic credentials (base64 of "user:token") accepted */
#define HTTP_FIELD_MAX 64             /* header fields per request */

struct http_head {
    char token[HTTP_TOKEN_MAX + 1];   /* the Authorization: Bearer credentials, "" when absent */
    char basic[HTTP_BASIC_MAX + 1];   /* Authorization: Basic credentials, still base64 (RFC 7617), or "" */
    int has_auth;                     /* an Authorization field was present (any scheme) */
    int64_t content_length;           /* -1 when absent */
    int chunked;                      /* Transfer-Encoding present (httpd cannot read such a body) */
    int json;                         /* Content-Type is application/json */
    int accept_html;                  /* Accept names text/html (a browser asking for the page) */
};

/*
 * Parse the header section of a request: buf[len] starts at the request line (which is skipped up to its
 * CRLF) and runs at least to the empty line that ends the header. Field names must be RFC 9110 tokens,
 * values visible ASCII, space or tab; obsolete line folding, NUL and other control bytes, a second
 * Authorization or Content-Length field, a Content-Length that is not a plain decimal number, and more
 * than HTTP_FIELD_MAX fields are refused. Returns 0, or -EINVAL with *why a static phrase.
 */
int http_head_parse(const char *buf, size_t len, struct http_head *h, const char **why);

/*
 * Split a request path into at most max segments ("/api/vms/web1/start" -> api, vms, web1, start) in
 * place, in seg[]. Segments must be non-empty and of [A-Za-z0-9._-] (no escapes, "." or ".."); a
 * trailing slash is allowed. Returns the count, or -EINVAL.
 */
int http_path_split(char *path, char **seg, int max);

/* Compare two NUL-terminated strings in time that depends only on their lengths. 1 when equal. */
int http_token_equal(const char *a, const char *b);
#endif
