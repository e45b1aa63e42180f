/* Fuzz harness for the API's request parsing (net/api/http.c, net/api/json.c): hostile headers and bodies. */
/*
 * The first input byte picks the parser: header section, request path, or JSON body; the rest is its
 * input. Whatever a parser accepts must keep its promises: a token within HTTP_TOKEN_MAX of allowed
 * characters; path segments non-empty, of the allowed characters, never "." or ".."; every JSON member's
 * strings NUL-terminated inside the object's space, no duplicate keys, and the object written back by
 * the JSON writer must parse to the same members. ASan and UBSan are fatal.
 * API_FUZZ_SEEDS: write seed inputs into the directory argv[1].
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net/api/http.h"
#include "net/api/json.h"

static void check_head(const uint8_t *d, size_t n)
{
    struct http_head h;
    const char *why;
    if (http_head_parse((const char *)d, n, &h, &why)) {
        if (!why)
            abort();
        return;
    }
    size_t t = strnlen(h.token, sizeof(h.token));
    if (t > HTTP_TOKEN_MAX)
        abort();
    for (size_t i = 0; i < t; i++)
        if ((unsigned char)h.token[i] <= ' ' || (unsigned char)h.token[i] >= 0x7f)
            abort();
    if (h.content_length < -1 || h.content_length > 9999999999ll)
        abort();
}

static void check_path(const uint8_t *d, size_t n)
{
    char p[256], *seg[6];
    if (n >= sizeof(p))
        n = sizeof(p) - 1;
    memcpy(p, d, n);
    p[n] = 0;
    int k = http_path_split(p, seg, 6);
    for (int i = 0; i < k; i++) {
        if (!seg[i][0] || !strcmp(seg[i], ".") || !strcmp(seg[i], "..") || seg[i] < p || seg[i] >= p + n)
            abort();
        for (const char *s = seg[i]; *s; s++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *s))
                abort();
    }
}

static struct json_obj a, b;

static void inside(const struct json_obj *o, const char *s)
{
    if (s < o->space || s >= o->space + sizeof(o->space) || !memchr(s, 0, (size_t)(o->space + sizeof(o->space) - s)))
        abort();
}

static void check_json(const uint8_t *d, size_t n)
{
    const char *why;
    size_t at;
    struct jbuf w;
    if (json_parse((const char *)d, n, &a, &why, &at)) {
        if (!why || at > n)
            abort();
        return;
    }
    if (a.n < 0 || a.n > JSON_MAX_FIELDS)
        abort();
    jb_init(&w, 1 << 20);
    jb_open(&w, '{');
    for (int i = 0; i < a.n; i++) {
        inside(&a, a.f[i].key);
        for (int j = 0; j < i; j++)
            if (!strcmp(a.f[i].key, a.f[j].key))
                abort();
        switch (a.f[i].type) {
        case JSON_STRING: inside(&a, a.f[i].str); jb_kstr(&w, a.f[i].key, a.f[i].str); break;
        case JSON_INT: jb_ki64(&w, a.f[i].key, a.f[i].num); break;
        case JSON_BOOL: jb_kbool(&w, a.f[i].key, (int)a.f[i].num); break;
        default: jb_key(&w, a.f[i].key); jb_puts(&w, "null"); break;
        }
    }
    jb_close(&w, '}');
    /* The writer's output of an accepted object reads back to the same members. */
    if (w.err || json_parse(w.p, w.len, &b, &why, &at) || b.n != a.n)
        abort();
    for (int i = 0; i < a.n; i++)
        if (strcmp(a.f[i].key, b.f[i].key) || a.f[i].type != b.f[i].type ||
            (a.f[i].type == JSON_STRING && strcmp(a.f[i].str, b.f[i].str)) ||
            (a.f[i].type != JSON_STRING && a.f[i].num != b.f[i].num))
            abort();
    jb_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: check_head(data + 1, size - 1); break;
    case 1: check_path(data + 1, size - 1); break;
    default: check_json(data + 1, size - 1); break;
    }
    return 0;
}

#ifdef API_FUZZ_SEEDS
static void seed(const char *dir, int n, int kind, const char *s)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/seed-%d", dir, n);
    if (!(f = fopen(path, "wb")))
        exit(1);
    fputc(kind, f);
    fputs(s, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    int n = 0;
    if (argc < 2)
        return 1;
    seed(argv[1], n++, 0, "GET /api/host HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer abc123def\r\n"
                          "Accept: */*\r\n\r\n");
    seed(argv[1], n++, 0, "HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 31\r\n"
                          "Authorization: bearer x/y+z=\r\nTransfer-Encoding: chunked\r\n\r\n");
    seed(argv[1], n++, 1, "/api/vms/web1/start");
    seed(argv[1], n++, 1, "/api/images/demo/remove/");
    seed(argv[1], n++, 2, "{\"name\":\"web4\",\"from\":\"demo\",\"mem\":\"256M\",\"vcpus\":2,\"ip\":\"10.0.2.24\"}");
    seed(argv[1], n++, 2, "{\"s\":\"\\u00e9\\ud83d\\ude00\\n\",\"b\":true,\"f\":false,\"z\":null,\"i\":-42}");
    return 0;
}
#endif
