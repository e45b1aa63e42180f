/* The API's JSON: a strict reader of flat request objects (hostile input) and a bounded writer. */
#include <stdarg.h>
#include "net/api/json.h"
#include "kernel/kstring.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/errno.h"

struct rd {
    const char *p, *end, *start;
    const char *why;
};

static int fail(struct rd *r, const char *why)
{
    if (!r->why)
        r->why = why;
    return -EINVAL;
}

static void ws(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4(struct rd *r, uint32_t *out)
{
    uint32_t v = 0;
    if (r->end - r->p < 4)
        return fail(r, "a \\u escape needs four hex digits");
    for (int i = 0; i < 4; i++) {
        char c = *r->p++;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return fail(r, "a \\u escape needs four hex digits");
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* Append code point cp as UTF-8 to o's string space. */
static int put_cp(struct rd *r, struct json_obj *o, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) { b[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { b[0] = (char)(0xc0 | cp >> 6); b[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) { b[0] = (char)(0xe0 | cp >> 12); b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                             b[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
    else { b[0] = (char)(0xf0 | cp >> 18); b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
           b[2] = (char)(0x80 | (cp >> 6 & 0x3f)); b[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
    if (o->used + n >= sizeof(o->space))
        return fail(r, "strings too long");
    memcpy(o->space + o->used, b, n);
    o->used += n;
    return 0;
}

/* One UTF-8 sequence starting at r->p (first byte >= 0x80): RFC 3629 well-formed, no surrogates. */
static int utf8(struct rd *r, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)r->p;
    size_t left = (size_t)(r->end - r->p), n;
    uint32_t v, min;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) { n = 2; v = s[0] & 0x1f; min = 0x80; }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) { n = 3; v = s[0] & 0x0f; min = 0x800; }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) { n = 4; v = s[0] & 0x07; min = 0x10000; }
    else return fail(r, "invalid UTF-8 in a string");
    if (left < n)
        return fail(r, "invalid UTF-8 in a string");
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return fail(r, "invalid UTF-8 in a string");
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return fail(r, "invalid UTF-8 in a string");
    r->p += n;
    *cp = v;
    return 0;
}

static int escape(struct rd *r, uint32_t *cp)
{
    char c;
    if (r->p >= r->end)
        return fail(r, "unterminated string");
    switch ((c = *r->p++)) {
    case '"': case '\\': case '/': *cp = (uint32_t)c; return 0;
    case 'b': *cp = '\b'; return 0;
    case 'f': *cp = '\f'; return 0;
    case 'n': *cp = '\n'; return 0;
    case 'r': *cp = '\r'; return 0;
    case 't': *cp = '\t'; return 0;
    case 'u': break;
    default: return fail(r, "unknown escape in a string");
    }
    if (hex4(r, cp))
        return -EINVAL;
    if (*cp >= 0xdc00 && *cp <= 0xdfff)
        return fail(r, "a lone low surrogate in a string");
    if (*cp >= 0xd800 && *cp <= 0xdbff) {      /* RFC 8259 7: a pair encodes one code point */
        uint32_t lo;
        if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
            return fail(r, "a lone high surrogate in a string");
        r->p += 2;
        if (hex4(r, &lo))
            return -EINVAL;
        if (lo < 0xdc00 || lo > 0xdfff)
            return fail(r, "a lone high surrogate in a string");
        *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (*cp == 0)
        return fail(r, "a NUL character in a string");
    return 0;
}

/* A string at r->p (the opening quote), decoded into o's space; *out points at it. */
static int string(struct rd *r, struct json_obj *o, const char **out)
{
    size_t start = o->used;
    r->p++;
    for (;;) {
        uint32_t cp;
        if (r->p >= r->end)
            return fail(r, "unterminated string");
        unsigned char c = (unsigned char)*r->p;
        if (c == '"') {
            r->p++;
            break;
        }
        if (c < 0x20)
            return fail(r, "a control character in a string");
        if (c == '\\') {
            r->p++;
            if (escape(r, &cp))
                return -EINVAL;
        } else if (c >= 0x80) {
            if (utf8(r, &cp))
                return -EINVAL;
        } else {
            cp = c;
            r->p++;
        }
        if (put_cp(r, o, cp))
            return -EINVAL;
    }
    if (o->used >= sizeof(o->space))
        return fail(r, "strings too long");
    o->space[o->used++] = 0;
    *out = o->space + start;
    return 0;
}

static int literal(struct rd *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
        return fail(r, "unexpected character");
    r->p += n;
    return 0;
}

/* An integer: -?(0|[1-9][0-9]*) within int64; fractions and exponents refused. */
static int number(struct rd *r, int64_t *out)
{
    int neg = 0;
    uint64_t v = 0, lim;
    if (*r->p == '-') {
        neg = 1;
        r->p++;
    }
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return fail(r, "unexpected character");
    if (*r->p == '0' && r->end - r->p > 1 && r->p[1] >= '0' && r->p[1] <= '9')
        return fail(r, "a number with a leading zero");
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        uint64_t d = (uint64_t)(*r->p++ - '0');
        if (v > (lim - d) / 10)
            return fail(r, "a number out of range");
        v = v * 10 + d;
    }
    if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
        return fail(r, "numbers must be integers");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int value(struct rd *r, struct json_obj *o, struct json_field *f)
{
    f->str = NULL;
    f->num = 0;
    if (r->p >= r->end)
        return fail(r, "a value is missing");
    switch (*r->p) {
    case '"': f->type = JSON_STRING; return string(r, o, &f->str);
    case 't': f->type = JSON_BOOL; f->num = 1; return literal(r, "true");
    case 'f': f->type = JSON_BOOL; f->num = 0; return literal(r, "false");
    case 'n': f->type = JSON_NULL; return literal(r, "null");
    case '{': case '[': return fail(r, "nested objects and arrays are not accepted");
    default: f->type = JSON_INT; return number(r, &f->num);
    }
}

static int member(struct rd *r, struct json_obj *o)
{
    struct json_field *f = &o->f[o->n];
    ws(r);
    if (r->p >= r->end || *r->p != '"')
        return fail(r, "a member name (a string) is expected");
    if (o->n == JSON_MAX_FIELDS)
        return fail(r, "too many members");
    if (string(r, o, &f->key))
        return -EINVAL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->f[i].key, f->key))
            return fail(r, "a member name appears twice");
    ws(r);
    if (r->p >= r->end || *r->p != ':')
        return fail(r, "':' is expected after a member name");
    r->p++;
    ws(r);
    if (value(r, o, f))
        return -EINVAL;
    o->n++;
    ws(r);
    return 0;
}

int json_parse(const char *buf, size_t len, struct json_obj *o, const char **why, size_t *at)
{
    struct rd r = { buf, buf + len, buf, NULL };
    int rc = 0;
    o->n = 0;
    o->used = 0;
    ws(&r);
    if (r.p >= r.end || *r.p != '{') {
        rc = fail(&r, "the body must be a JSON object");
        goto out;
    }
    r.p++;
    ws(&r);
    if (r.p < r.end && *r.p == '}') {
        r.p++;
    } else {
        for (;;) {
            if ((rc = member(&r, o)))
                goto out;
            if (r.p < r.end && *r.p == ',') {
                r.p++;
                continue;
            }
            if (r.p < r.end && *r.p == '}') {
                r.p++;
                break;
            }
            rc = fail(&r, "',' or '}' is expected");
            goto out;
        }
    }
    ws(&r);
    if (r.p != r.end)
        rc = fail(&r, "text after the object");
out:
    if (why)
        *why = rc ? r.why : NULL;
    if (at)
        *at = (size_t)(r.p - r.start);
    return rc;
}

const struct json_field *json_get(const struct json_obj *o, const char *key)
{
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->f[i].key, key))
            return &o->f[i];
    return NULL;
}

const char *json_unknown(const struct json_obj *o, const char *const *allowed)
{
    for (int i = 0; i < o->n; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, o->f[i].key);
        if (!ok)
            return o->f[i].key;
    }
    return NULL;
}

/* ---- writer ---- */

void jb_init(struct jbuf *b, size_t cap)
{
    b->p = NULL;
    b->len = b->size = 0;
    b->cap = cap;
    b->err = 0;
    b->first = 1;
}

void jb_free(struct jbuf *b)
{
    kfree(b->p);
    b->p = NULL;
    b->len = b->size = 0;
}

static int grow(struct jbuf *b, size_t need)
{
    size_t want = b->size ? b->size : 1024;
    char *n;
    if (need > b->cap)
        return -ENOMEM;
    while (want < need)
        want *= 2;
    if (want > b->cap)
        want = b->cap;
    if (!(n = kmalloc(want)))
        return -ENOMEM;
    if (b->len)
        memcpy(n, b->p, b->len);
    kfree(b->p);
    b->p = n;
    b->size = want;
    return 0;
}

void jb_raw(struct jbuf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (b->len + n + 1 > b->size && grow(b, b->len + n + 1)) {
        b->err = -ENOMEM;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void jb_puts(struct jbuf *b, const char *s)
{
    jb_raw(b, s, strlen(s));
}

void jb_printf(struct jbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        b->err = -ENOMEM;
    else
        jb_raw(b, tmp, (size_t)n);
}

void jb_str(struct jbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    jb_raw(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
        if (c == '"' || c == '\\') {
            e[1] = (char)c;
            jb_raw(b, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            jb_raw(b, e, 6);
        } else {
            jb_raw(b, s, 1);
        }
    }
    jb_raw(b, "\"", 1);
}

void jb_open(struct jbuf *b, char c)
{
    jb_raw(b, &c, 1);
    b->first = 1;
}

void jb_close(struct jbuf *b, char c)
{
    jb_raw(b, &c, 1);
    b->first = 0;
}

void jb_elem(struct jbuf *b)
{
    if (!b->first)
        jb_raw(b, ",", 1);
    b->first = 0;
}

void jb_key(struct jbuf *b, const char *key)
{
    jb_elem(b);
    jb_str(b, key);
    jb_raw(b, ":", 1);
}

void jb_kstr(struct jbuf *b, const char *key, const char *val)
{
    jb_key(b, key);
    jb_str(b, val ? val : "");
}

void jb_ku64(struct jbuf *b, const char *key, uint64_t val)
{
    jb_key(b, key);
    jb_printf(b, "%llu", (unsigned long long)val);
}

void jb_ki64(struct jbuf *b, const char *key, int64_t val)
{
    jb_key(b, key);
    jb_printf(b, "%lld", (long long)val);
}

void jb_kbool(struct jbuf *b, const char *key, int val)
{
    jb_key(b, key);
    jb_puts(b, val ? "true" : "false");
}
