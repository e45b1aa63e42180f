/* The API's side of lwIP's httpd: the listener, the file layer and POST hooks, auth, whole responses. */
#include "net/api/server.h"
#include "net/api/api.h"
#include "lwip/apps/httpd.h"
#include "lwip/altcp_tcp.h"
#include "lwip/altcp_tls.h"
#include "lwip/tcp.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/time.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define API_BODY_NS   (10ull * 1000000000ull)   /* a POST body must arrive within 10 s of its header */
#define API_CONN_MAX  (MEMP_NUM_TCP_PCB)        /* POSTs in progress: at most one per TCP connection */
#define API_DRAIN_MAX (256u << 10)              /* larger bodies are refused without reading them */
#define RESP_NAME     "/~r"                     /* the name httpd opens for a POST's prepared response */
#define BUSY_NAME     "/~busy"

struct api_stats api_stats;

/* A POST in progress: its header's verdict, its body, then its whole response until httpd opens it. */
struct api_conn {
    void *key;                        /* httpd's connection state; NULL: free slot */
    uint64_t deadline;
    struct http_head head;
    char path[API_PATH_MAX];
    char peer[24];
    char *body;
    size_t want, got;
    int late;                         /* the body did not arrive in time */
    int ready;                        /* the body is complete (or late): api_poll runs the action */
    int discard;                      /* refused at the header: the body is read and dropped first */
    char *held;                       /* that refusal, rendered, until the body is in */
    size_t held_len;
    char *resp;                       /* rendered response (headers and body) */
    size_t resp_len;
};

static struct api_conn conns[API_CONN_MAX];
static struct altcp_pcb *listener;
static struct altcp_tls_config *tls_conf;
static enum api_mode mode;
static uint32_t laddr;
static uint16_t lport;

static void conn_free(struct api_conn *c)
{
    kfree(c->held);
    kfree(c->body);
    kfree(c->resp);
    memset(c, 0, sizeof(*c));
}

static struct api_conn *conn_find(void *key)
{
    for (int i = 0; i < API_CONN_MAX; i++)
        if (conns[i].key == key)
            return &conns[i];
    return NULL;
}

/* A fresh slot for key. httpd frees a connection's state without telling the POST hooks when it dies of
   a TCP error, so a slot whose deadline passed long ago is taken back here. */
static struct api_conn *conn_new(void *key)
{
    uint64_t now = time_ns();
    struct api_conn *c = conn_find(key);
    if (c)
        conn_free(c);
    for (int i = 0; i < API_CONN_MAX; i++)
        if (conns[i].key && now > conns[i].deadline + 2 * API_BODY_NS)
            conn_free(&conns[i]);
    if (!(c = conn_find(NULL)))
        return NULL;
    c->key = key;
    c->deadline = now + API_BODY_NS;
    return c;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* Headers and body of rs as one buffer (freed by fs_close); NULL without memory. Frees rs's body. */
static char *render(struct api_resp *rs, size_t *len)
{
    char head[512];
    int n;
    if (rs->b.err) {
        jb_free(&rs->b);
        api_error(rs, 503, "the response did not fit in memory", NULL);
    }
    n = ksnprintf(head, sizeof(head),
                  "HTTP/1.1 %d %s\r\nServer: shoal\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n%s\r\n",
                  rs->status, reason(rs->status), rs->type, rs->b.len,
                  rs->status == 401 ? "WWW-Authenticate: Basic realm=\"shoal\", charset=\"UTF-8\"\r\n"
                                      "WWW-Authenticate: Bearer realm=\"shoal\"\r\n" :
                  !strncmp(rs->type, "text/html", 9) ?
                  "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
                  "style-src 'unsafe-inline'; connect-src 'self'; img-src data:\r\n" : "");
    char *out = kmalloc((size_t)n + rs->b.len);
    if (out) {
        memcpy(out, head, (size_t)n);
        if (rs->b.len)
            memcpy(out + n, rs->b.p, rs->b.len);
        *len = (size_t)n + rs->b.len;
    }
    if (rs->status >= 400)
        api_stats.errors++;
    jb_free(&rs->b);
    return out;
}

static int give(struct fs_file *file, char *data, size_t len)
{
    memset(file, 0, sizeof(*file));
    if (!data)
        return -ENOMEM;
    file->data = data;
    file->len = (int)len;
    file->index = (int)len;              /* httpd sends data[0..len) itself; nothing left to "read" */
    file->pextension = data;
    file->flags = FS_FILE_FLAGS_HEADER_INCLUDED;
    return 0;
}

/* The status line of an error httpd found itself ("/400.html": a request it could not parse). */
static int httpd_error(const char *name)
{
    if (strlen(name) < 5 || name[0] != '/' || name[4] != '.')
        return 0;
    if (!strncmp(name, "/400", 4)) return 400;
    if (!strncmp(name, "/404", 4)) return 404;
    if (!strncmp(name, "/501", 4)) return 501;
    return 0;
}

/* Authenticate and answer one request whose header h parsed: every request, the status page too. */
static void answer(struct api_req *rq, struct api_resp *rs)
{
    /* httpd turns "/" into its default names ("/index.shtml" first) before opening it. */
    int page = !rq->post && (!strcmp(rq->path, "/") || !strncmp(rq->path, "/index.", 7));
    api_stats.requests++;
    if (!api_auth_head_ok(&rq->head)) {
        api_stats.unauthorized++;
        api_error(rs, 401, api_auth_configured() ? "a valid bearer token (or Basic credentials with it) is required" :
                  "no API token is configured on this host (api_token= or `api token`)", NULL);
        return;
    }
    if (page) {
        api_page(rs);
        return;
    }
    api_handle(rq, rs);
}

static void log_req(const struct api_req *rq, const struct api_resp *rs)
{
    if (rq->post || rs->status >= 400)
        log_info("api: %s %s %s -> %d", rq->peer, rq->post ? "POST" : "GET", rq->path, rs->status);
}

/* A GET: the request httpd keeps in req gives the header. */
static int open_get(struct fs_file *file, const char *name, struct pbuf *req, const char *peer)
{
    static char head[LWIP_HTTPD_MAX_REQ_LENGTH + 1];
    struct api_req *rq = kzalloc(sizeof(*rq));
    struct api_resp rs;
    const char *why;
    size_t len = 0;
    char *out;
    int rc;
    if (!rq)
        return -ENOMEM;
    if (req)
        len = pbuf_copy_partial(req, head, LWIP_HTTPD_MAX_REQ_LENGTH, 0);
    kstrlcpy(rq->peer, peer, sizeof(rq->peer));
    if (kstrlcpy(rq->path, name, sizeof(rq->path)) >= sizeof(rq->path))
        api_error(&rs, 404, "no such resource", NULL);
    else if (!req || http_head_parse(head, len, &rq->head, &why))
        api_error(&rs, 400, req ? why : "the request header was lost", NULL);
    else
        answer(rq, &rs);
    log_req(rq, &rs);
    out = render(&rs, &len);
    rc = give(file, out, len);
    kfree(rq);
    return rc;
}

int api_open(void *conn, struct fs_file *file, const char *name, struct pbuf *req, const char *peer)
{
    struct api_resp rs;
    size_t len = 0;
    char *out;
    int st;
    if (!strcmp(name, RESP_NAME)) {
        struct api_conn *c = conn_find(conn);
        if (c && c->resp) {
            int rc = give(file, c->resp, c->resp_len);
            c->resp = NULL;
            conn_free(c);
            return rc;
        }
        api_error(&rs, 500, "the response was lost", NULL);
    } else if (!strcmp(name, BUSY_NAME)) {
        api_error(&rs, 503, "too many requests in progress", NULL);
    } else if ((st = httpd_error(name))) {
        /* httpd refused the request line itself (a method other than GET or POST, a malformed line,
           a POST without Content-Length) before anything of ours ran. */
        api_error(&rs, st, st == 501 ? "only GET and POST are implemented" :
                  "the request line or header could not be read (POST needs Content-Length)", NULL);
    } else {
        return open_get(file, name, req, peer);
    }
    out = render(&rs, &len);             /* before give() reads len */
    return give(file, out, len);
}

void fs_close(struct fs_file *file)
{
    kfree(file->pextension);
    file->pextension = NULL;
}

int fs_bytes_left(struct fs_file *file)
{
    return file->len - file->index;
}

/* Prepare c's response now (an early refusal) and point httpd at it. */
static void respond(struct api_conn *c, struct api_resp *rs, char *response_uri, u16_t response_uri_len)
{
    c->resp = render(rs, &c->resp_len);
    kstrlcpy(response_uri, c->resp ? RESP_NAME : BUSY_NAME, response_uri_len);
}

/*
 * A POST: its header is checked here (token, length) and refused at once, or its body is collected and
 * the action runs later from api_poll, outside lwIP's callbacks: actions may wait for the network
 * (`vm destroy` of a clone lets its disk reads land, removing an image logs out of its target), and
 * lwIP is not re-entrant. httpd holds the answer back meanwhile (LWIP_HTTPD_POST_MANUAL_WND).
 */
err_t httpd_post_begin(void *connection, const char *uri, const char *http_request, u16_t http_request_len,
                       int content_len, char *response_uri, u16_t response_uri_len, u8_t *post_auto_wnd)
{
    static char head[LWIP_HTTPD_MAX_REQ_LENGTH + 1];
    struct api_conn *c = conn_new(connection);
    struct api_resp rs;
    struct api_req rq;
    const char *why;
    size_t n = http_request_len < LWIP_HTTPD_MAX_REQ_LENGTH ? http_request_len : LWIP_HTTPD_MAX_REQ_LENGTH;
    if (!c) {
        api_stats.refused++;
        kstrlcpy(response_uri, BUSY_NAME, response_uri_len);
        return ERR_MEM;
    }
    api_httpd_peer(connection, c->peer, sizeof(c->peer));
    memcpy(head, http_request, n);
    /* httpd ended the header with a NUL where its final CRLF CRLF starts: put the CR back. */
    if (n >= 4 && head[n - 4] == 0)
        head[n - 4] = '\r';
    memset(&rq, 0, sizeof(rq));
    rq.post = 1;
    kstrlcpy(rq.path, uri, sizeof(rq.path));
    kstrlcpy(rq.peer, c->peer, sizeof(rq.peer));
    if (http_head_parse(head, n, &c->head, &why)) {
        api_error(&rs, 400, why, NULL);
    } else if (kstrlcpy(c->path, uri, sizeof(c->path)) >= sizeof(c->path)) {
        api_error(&rs, 404, "no such resource", NULL);
    } else if (!api_auth_head_ok(&c->head)) {
        rq.head = c->head;
        answer(&rq, &rs);                /* the 401 */
    } else if (c->head.chunked) {
        api_error(&rs, 400, "chunked bodies are not accepted: send Content-Length", NULL);
    } else if (content_len < 0 || content_len > JSON_MAX_BODY) {
        api_error(&rs, 413, "the body is larger than 8192 bytes", NULL);
    } else if (!(c->body = kmalloc((size_t)content_len + 1))) {
        api_error(&rs, 503, "out of memory", NULL);
    } else {
        c->want = (size_t)content_len;
        *post_auto_wnd = 0;
        return ERR_OK;
    }
    log_req(&rq, &rs);
    if (content_len >= 0 && (unsigned)content_len <= API_DRAIN_MAX && !c->head.chunked) {
        /* Refused, but the body is read (and dropped) before the answer goes out: lwIP resets a
           connection that receives data after it closed, and the client would lose the answer. */
        c->held = render(&rs, &c->held_len);
        c->want = (size_t)content_len;
        c->discard = 1;
        *post_auto_wnd = 0;
        return ERR_OK;
    }
    respond(c, &rs, response_uri, response_uri_len);
    return ERR_VAL;
}

err_t httpd_post_receive_data(void *connection, struct pbuf *p)
{
    struct api_conn *c = conn_find(connection);
    err_t rc = ERR_OK;
    if (!c || (!c->body && !c->discard)) {
        rc = ERR_VAL;
    } else if (time_ns() > c->deadline) {
        c->late = 1;                     /* a client dripping its body: answered 408 */
        rc = ERR_TIMEOUT;
    } else {
        size_t room = c->want - c->got, k = p->tot_len < room ? p->tot_len : room;
        c->got += c->discard ? k : pbuf_copy_partial(p, c->body + c->got, (u16_t)k, 0);
    }
    if (c && (c->body || c->discard) && !c->ready && (c->late || c->got == c->want)) {
        c->ready = 1;
        api_httpd_post_hold(connection);
    }
    pbuf_free(p);
    return rc;
}

void httpd_post_finished(void *connection, char *response_uri, u16_t response_uri_len)
{
    struct api_conn *c = conn_find(connection);
    if (!c) {
        kstrlcpy(response_uri, BUSY_NAME, response_uri_len);
        return;
    }
    if (!c->resp) {                      /* the connection closes before its answer: nobody to tell */
        conn_free(c);
        kstrlcpy(response_uri, BUSY_NAME, response_uri_len);
        return;
    }
    kstrlcpy(response_uri, RESP_NAME, response_uri_len);
}

void api_conn_gone(void *conn)
{
    struct api_conn *c = conn_find(conn);
    if (c)
        conn_free(c);
}

/* Answer c's request into c->resp. */
static void run(struct api_conn *c)
{
    struct api_req *rq;
    struct api_resp rs;
    if (c->held && !c->late) {           /* the refusal prepared (and logged) when the header came */
        c->resp = c->held;
        c->resp_len = c->held_len;
        c->held = NULL;
        return;
    }
    if (!(rq = kzalloc(sizeof(*rq)))) {
        api_error(&rs, 503, "out of memory", NULL);
    } else {
        rq->post = 1;
        rq->head = c->head;
        kstrlcpy(rq->path, c->path, sizeof(rq->path));
        kstrlcpy(rq->peer, c->peer, sizeof(rq->peer));
        if (c->late || !c->body) {
            api_error(&rs, 408, "the body did not arrive in time", NULL);
        } else {
            c->body[c->got] = 0;
            rq->body = c->body;
            rq->body_len = c->got;
            answer(rq, &rs);
        }
        log_req(rq, &rs);
        kfree(rq);
    }
    c->resp = render(&rs, &c->resp_len);
}

int api_poll(void)
{
    int did = 0;
    for (int i = 0; i < API_CONN_MAX; i++) {
        struct api_conn *c = &conns[i];
        if (!c->key || !c->ready || c->resp)
            continue;
        run(c);
        did = 1;
        if (!c->resp) {                  /* no memory for the answer: httpd's poll closes the connection */
            c->ready = 0;
            continue;
        }
        api_httpd_post_done(c->key);     /* httpd_post_finished, then the response goes out */
    }
    return did;
}

int api_listen(enum api_mode m, uint32_t addr, uint16_t port)
{
    struct altcp_pcb *pcb, *l;
    ip_addr_t ip;
    api_stop();
    if (m == API_HTTPS && !tls_conf && !(tls_conf = api_cert_config()))
        return -EIO;
    pcb = m == API_HTTPS ? altcp_tls_new(tls_conf, IPADDR_TYPE_V4) : altcp_tcp_new_ip_type(IPADDR_TYPE_V4);
    if (!pcb)
        return -ENOMEM;
    ip_addr_set_ip4_u32(&ip, addr);
    altcp_setprio(pcb, TCP_PRIO_MIN);    /* under pressure lwIP drops API connections before storage ones */
    if (altcp_bind(pcb, &ip, port) != ERR_OK) {
        altcp_close(pcb);
        return -EADDRINUSE;
    }
    if (!(l = altcp_listen(pcb))) {
        altcp_close(pcb);
        return -ENOMEM;
    }
    api_httpd_accept(l);
    listener = l;
    mode = m;
    laddr = addr;
    lport = port;
    return 0;
}

void api_stop(void)
{
    if (listener && altcp_close(listener) != ERR_OK)
        altcp_abort(listener);
    listener = NULL;
    mode = API_OFF;
}

enum api_mode api_running(uint32_t *addr, uint16_t *port)
{
    if (addr)
        *addr = laddr;
    if (port)
        *port = lport;
    return mode;
}
