/* A small strict JSON reader (flat objects from API clients) and a bounded JSON writer. */
#ifndef SHOAL_API_JSON_H
#define SHOAL_API_JSON_H
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_FIELDS 16
#define JSON_MAX_BODY   8192          /* request bodies larger than this are refused before parsing */

enum json_type { JSON_STRING, JSON_INT, JSON_BOOL, JSON_NULL };

struct json_field {
    const char *key;                  /* NUL-terminated, inside the object's string space */
    enum json_type type;
    const char *str;                  /* JSON_STRING: decoded UTF-8, NUL-terminated, no NUL inside */
    int64_t num;                      /* JSON_INT; JSON_BOOL: 0 or 1 */
};

struct json_obj {
    struct json_field f[JSON_MAX_FIELDS];
    int n;
    char space[JSON_MAX_BODY + JSON_MAX_FIELDS * 2];   /* decoded keys and strings */
    size_t used;
};

/*
 * Parse buf[len] (RFC 8259) as one object whose members are strings, integers (no fraction or exponent,
 * within int64), true, false or null; whitespace around it allowed, nothing else. Nested objects and
 * arrays, duplicate keys, more than JSON_MAX_FIELDS members, bad escapes, control characters and invalid
 * UTF-8 in strings, a string holding \u0000, are refused. Returns 0, or -EINVAL with *why a static
 * phrase ("nested objects and arrays are not accepted") and *at the byte offset where it stopped.
 */
int json_parse(const char *buf, size_t len, struct json_obj *o, const char **why, size_t *at);

/* The member named key, or NULL. */
const struct json_field *json_get(const struct json_obj *o, const char *key);

/*
 * Check that every member of o is named in allowed (NULL-terminated list). Returns NULL, or the first
 * member's key that is not.
 */
const char *json_unknown(const struct json_obj *o, const char *const *allowed);

/* Output: a buffer that grows up to cap bytes; past that it stops and remembers the overflow. */
struct jbuf {
    char *p;
    size_t len, size, cap;
    int err;                          /* -ENOMEM: an allocation failed or cap was reached */
    int first;                        /* no member written yet at the current level */
};

/* An empty buffer that may grow to cap bytes (allocated on first use). */
void jb_init(struct jbuf *b, size_t cap);
/* Free b's storage (it may be reused after jb_init). */
void jb_free(struct jbuf *b);
/* Append n raw bytes / a NUL-terminated string / printf output. On overflow b->err is set. */
void jb_raw(struct jbuf *b, const char *s, size_t n);
void jb_puts(struct jbuf *b, const char *s);
void jb_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string, quoted and escaped (control characters as \u00XX; bytes >= 0x80 kept). */
void jb_str(struct jbuf *b, const char *s);
/* Open / close an object or array; the writer puts commas between members and elements. */
void jb_open(struct jbuf *b, char c);
void jb_close(struct jbuf *b, char c);
/* A member "key": then a value: a string, an unsigned or signed number, a boolean, or raw JSON text. */
void jb_kstr(struct jbuf *b, const char *key, const char *val);
void jb_ku64(struct jbuf *b, const char *key, uint64_t val);
void jb_ki64(struct jbuf *b, const char *key, int64_t val);
void jb_kbool(struct jbuf *b, const char *key, int val);
/* A member "key": whose value the caller writes next (jb_open, jb_str ...). */
void jb_key(struct jbuf *b, const char *key);
/* An array element separator: call before each element that is not written by jb_open. */
void jb_elem(struct jbuf *b);
#endif
