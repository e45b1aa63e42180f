/* lwIP's HTTP server (apps/http/httpd.c) compiled for the API, with the one hook it lacks. */
/*
 * Why httpd.c is compiled inside this file rather than on its own: lwIP 2.1's httpd gives the application
 * a request's header only for POST (httpd_post_begin). A GET reaches the file layer as a bare name
 * (fs_open), yet every request, GET /metrics and GET /api/... included, must have its Authorization
 * field checked. httpd keeps the whole request it parsed (hs->req, LWIP_HTTPD_SUPPORT_REQUESTLIST) until
 * the file is open, and every fs_open call in httpd.c has the connection `hs` in scope; defining fs_open
 * as a macro that passes hs along lets net/api/server.c read the header there. lwIP's source is not
 * changed, and fs.c (with its sample pages) is not built: server.c is the whole file system.
 * The same inclusion lets api_listen bind the address and port of api_listen= (httpd_inits binds every
 * address on a fixed port) and hand accepted connections to httpd's own http_accept.
 */
#include "lwip/apps/fs.h"
#include "lwip/ip_addr.h"
#include "net/api/server.h"

/* Every response is a heap buffer freed when httpd closes the file, which may be before TCP has sent
   (over plain HTTP tcp_write would otherwise point into it): make tcp_write copy. */
#define HTTP_IS_DATA_VOLATILE(hs) TCP_WRITE_FLAG_COPY

struct http_state;
static err_t glue_fs_open(struct http_state *hs, struct fs_file *file, const char *name);
#define fs_open(file, name) glue_fs_open(hs, file, name)
#include "apps/http/httpd.c"
#undef fs_open

void api_httpd_peer(void *conn, char *buf, int size)
{
    struct http_state *hs = conn;
    const ip_addr_t *ip = hs && hs->pcb ? altcp_get_ip(hs->pcb, 0) : NULL;
    buf[0] = 0;
    if (ip)
        ipaddr_ntoa_r(ip, buf, size);
}

static err_t glue_fs_open(struct http_state *hs, struct fs_file *file, const char *name)
{
    char peer[24];
    api_httpd_peer(hs, peer, sizeof(peer));
    return api_open(hs, file, name, hs->req, peer) ? ERR_MEM : ERR_OK;
}

/* httpd frees a connection's state on a TCP error (RST, timeout) without telling the POST hooks: tell
   server.c first, so an action still queued for that connection is dropped instead of answered. */
static void glue_err(void *arg, err_t err)
{
    if (arg)
        api_conn_gone(arg);
    http_err(arg, err);
}

static err_t glue_accept(void *arg, struct altcp_pcb *pcb, err_t err)
{
    err_t rc = http_accept(arg, pcb, err);
    if (rc == ERR_OK && pcb)
        altcp_err(pcb, glue_err);
    return rc;
}

void api_httpd_accept(struct altcp_pcb *lpcb)
{
    altcp_accept(lpcb, glue_accept);
}

int api_httpd_post_pending(void *conn)
{
    const struct http_state *hs = conn;
    return hs->post_content_len_left != 0 || hs->unrecved_bytes != 0;
}

void api_httpd_post_hold(void *conn)
{
    /* One byte more "not yet taken" than httpd counted: a body that came whole inside the header's
       pbuf (or an empty one) would otherwise finish the POST at once, before its action ran. The extra
       byte is released with the rest by httpd_post_data_recved, which clamps it. */
    ((struct http_state *)conn)->unrecved_bytes++;
}

void api_httpd_post_done(void *conn)
{
    /* Releases the body bytes httpd held back (LWIP_HTTPD_POST_MANUAL_WND): httpd then calls
       httpd_post_finished, opens the prepared response and sends it. */
    httpd_post_data_recved(conn, 0xffff);
}
