/* The management API's listener and lwIP httpd hooks (net/api/server.c, net/api/httpd_glue.c). */
#ifndef SHOAL_API_SERVER_H
#define SHOAL_API_SERVER_H
#include <stdint.h>
#include "lwip/apps/fs.h"
#include "lwip/altcp.h"
#include "lwip/pbuf.h"

enum api_mode { API_OFF, API_HTTPS, API_HTTP };

/*
 * Listen on addr:port (addr 0: every address; network byte order as in memory) with HTTPS (the
 * certificate from api_cert_config) or plain HTTP. Stops a listener already running first.
 * Returns 0, -EADDRINUSE, -ENOMEM, or -EIO when no certificate could be made.
 */
int api_listen(enum api_mode mode, uint32_t addr, uint16_t port);
/* Stop listening (connections being answered finish). */
void api_stop(void);
/* What runs now: the mode (API_OFF when not listening), address and port. */
enum api_mode api_running(uint32_t *addr, uint16_t *port);

/* httpd_glue.c -> server.c: a file httpd opens for connection conn: the request's header is in req
   (the pbuf chain httpd keeps; NULL when it has been freed), peer the client's address. 0 or -ENOMEM. */
int api_open(void *conn, struct fs_file *file, const char *name, struct pbuf *req, const char *peer);
/* server.c -> httpd_glue.c: hand connections accepted on lpcb to httpd. */
void api_httpd_accept(struct altcp_pcb *lpcb);
/* 1 while connection conn's POST is not answered (httpd_post_finished then means the connection closes). */
int api_httpd_post_pending(void *conn);
/* Keep the POST on conn from finishing until api_httpd_post_done (call once, when its body is complete). */
void api_httpd_post_hold(void *conn);
/* The POST on conn has its response ready: let httpd finish it (outside lwIP's callbacks only). */
void api_httpd_post_done(void *conn);
/* httpd_glue.c -> server.c: connection conn is gone (TCP error); forget its POST. */
void api_conn_gone(void *conn);
/* Run the POST actions whose bodies are complete, outside lwIP's callbacks (a shell poller). 1 when
   one ran. */
int api_poll(void);
/* The client address of connection conn into buf. */
void api_httpd_peer(void *conn, char *buf, int size);
#endif
