/* The management API's interfaces: one request in, one response out; resources register from their subsystem. */
#ifndef SHOAL_API_API_H
#define SHOAL_API_API_H
#include <stddef.h>
#include <stdint.h>
#include "net/api/http.h"
#include "net/api/json.h"

#define API_PATH_MAX   128
#define API_SEG_MAX    6
#define API_RESP_MAX   (512u << 10)      /* largest response body (a full metrics page, a console log) */

struct api_req {
    int post;                            /* POST (else GET) */
    char path[API_PATH_MAX];             /* as requested (without the query) */
    char segbuf[API_PATH_MAX];           /* a copy of path, split into seg[] */
    char *seg[API_SEG_MAX];
    int nseg;
    const char *body;                    /* POST body (NUL-terminated), body_len bytes */
    size_t body_len;
    struct http_head head;
    char peer[24];                       /* client address, for the console line */
};

struct api_resp {
    int status;                          /* HTTP status code */
    const char *type;                    /* Content-Type */
    struct jbuf b;                       /* the body */
};

/* Answer rq (authenticated already) into rs: route by method and path, run the action. */
void api_handle(struct api_req *rq, struct api_resp *rs);

/* Set rs to a JSON error {"error": msg[, "field": field]} with status. */
void api_error(struct api_resp *rs, int status, const char *msg, const char *field);
/* Start rs as a 200 JSON response (body empty, ready for jb_ calls). */
void api_json(struct api_resp *rs, int status);
/* The HTTP status that means what a negative errno from a shell action says (-ENOENT 404, -EBUSY 409 ...). */
int api_errno_status(int err);

/*
 * Run shell command argv (argc words) as the serial shell would, its console output captured into out
 * (size bytes, NUL-terminated; echoed to the console when echo). Returns the command's result, or -EBUSY
 * when a capture is already running.
 */
int api_shell(int argc, char **argv, char *out, size_t size, int echo);
/* Run argv (echoed on the console, output up to 8 KiB) and answer with api_shell_result. */
void api_shell_answer(struct api_resp *rs, int argc, char **argv, int ok_status);
/* Run argv quietly (output up to max bytes) and answer 200 {["name": name,] key: its output}. */
void api_shell_text(struct api_resp *rs, int argc, char **argv, size_t max, const char *key, const char *name);
/* Turn a shell action's result into rs: 2xx with {"ok":true,"output":...} or its error line and status. */
void api_shell_result(struct api_resp *rs, int rc, const char *out, int ok_status);

/*
 * A resource under /api/NAME. Subsystems above net/ (pool/, vmm/) register theirs at init, so net/api
 * includes none of their headers. handle answers a request whose seg[0] is "api" and seg[1] is name;
 * metrics, when set, appends its families to /metrics (Prometheus text format).
 */
struct api_resource {
    const char *name;
    void (*handle)(struct api_req *rq, struct api_resp *rs);
    void (*metrics)(struct jbuf *b);
};
#define API_RESOURCE_MAX 8
/* Register r (kept by pointer). 0, -EEXIST for a name taken, -ENOSPC when full. */
int api_resource_register(const struct api_resource *r);
/* The registered resources, for /metrics. Returns the count; *out the table. */
int api_resources(const struct api_resource *const **out);

/*
 * Parse rq's body as a flat JSON object whose members are all named in allowed (NULL-terminated). Returns
 * a heap object (kfree it), or NULL with rs set to a 400 naming the fault or the unknown member.
 */
struct json_obj *api_body(struct api_req *rq, struct api_resp *rs, const char *const *allowed);
/*
 * Member key of o as a shell word: a string of 1..max printable ASCII characters without space, quote or
 * '=' (or an integer, written in decimal into buf). Returns buf, NULL when absent (and not required), or
 * NULL with rs set to a 400 naming the field.
 */
const char *api_word(const struct json_obj *o, const char *key, int required, char *buf, size_t max,
                     struct api_resp *rs);

/*
 * Member key of o, when present, as the shell word "key=VALUE" (api_word's rules, at most size bytes in
 * all) in buf, appended to argv at *argc. Returns 0 (present or absent), or -EINVAL with rs set to a 400.
 */
int api_opt(const struct json_obj *o, const char *key, char *buf, size_t size, char **argv, int *argc,
            struct api_resp *rs);

/* GET /api/host (net/api/host.c). */
void api_host(struct api_req *rq, struct api_resp *rs);
/* GET /metrics: the host's families, then each resource's. */
void api_metrics(struct api_resp *rs);
/* Append one Prometheus sample line: name{labels} value (labels "" for none; values escaped by the caller). */
void api_metric(struct jbuf *b, const char *name, const char *labels, uint64_t value);
/* The same with a time in ns written as seconds (millisecond precision). */
void api_metric_seconds(struct jbuf *b, const char *name, const char *labels, uint64_t ns);
/* Append # HELP and # TYPE lines of a family. */
void api_metric_family(struct jbuf *b, const char *name, const char *type, const char *help);
/* Append label value v escaped for the text format (backslash, quote, newline). */
void api_label(struct jbuf *b, const char *v);
/* GET /: the status page. */
void api_page(struct api_resp *rs);

/* The configured token (api_token= or `api token`); 1 when tok matches it, in constant time. */
int api_auth_ok(const char *tok);
/*
 * Basic credentials (RFC 7617; b64: base64 of "user-id:password", as http_head_parse kept it): 1 when the
 * password is the configured token (any user-id; browsers send these for the status page and its calls).
 */
int api_auth_basic_ok(const char *b64);
/* 1 when the request's credentials, Bearer or Basic, carry the configured token. */
int api_auth_head_ok(const struct http_head *h);
/* Set the token (8..HTTP_TOKEN_MAX characters of RFC 6750's b64token). 0 or -EINVAL. */
int api_auth_set(const char *tok);
/* 1 when a token is configured. */
int api_auth_configured(void);

/* The TLS server config: from the key and certificate modules, or a fresh self-signed one. NULL on failure. */
struct altcp_tls_config *api_cert_config(void);
/* The certificate's SHA-256 fingerprint "AB:CD:...", "" before one exists. */
const char *api_cert_fingerprint(void);
/* Boot module names for the certificate and key (api_cert=, api_key=); "" when not given. */
extern char api_cert_module[64], api_key_module[64];

/* Counters for /metrics. */
struct api_stats {
    uint64_t requests, unauthorized, errors, refused;
};
extern struct api_stats api_stats;
#endif
