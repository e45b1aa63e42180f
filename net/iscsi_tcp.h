/* The iSCSI engine's transport over lwIP raw TCP (IPv4), driven from shoal's polled network context. */
#ifndef SHOAL_ISCSI_TCP_H
#define SHOAL_ISCSI_TCP_H
#include <stdint.h>
#include "net/iscsi/iscsi.h"

struct tcp_pcb;

struct iscsi_tcp {
    struct iscsi_transport tr;   /* hand &tr to the engine */
    struct iscsi_session *s;     /* set once the session exists (before iscsi_session_start) */
    struct tcp_pcb *pcb;         /* NULL when closed, or when lwIP freed it (error callback) */
    struct tcp_pcb *cb_pcb;      /* the pcb whose lwIP callback is running now */
    int cb_aborted;              /* close() aborted cb_pcb: the callback must return ERR_ABRT */
    int connected;
    int down_pending, down_err;  /* a failure seen inside connect/send: reported by iscsi_tcp_step */
};

/* Fill c: no connection yet. Set c->s before starting the session. */
void iscsi_tcp_init(struct iscsi_tcp *c);
/*
 * Deliver events deferred out of connect()/send() and run iscsi_poll(c->s, now). Call from the poll
 * context (a shell poller, or a command that waits and calls net_poll()). Returns iscsi_poll's hint.
 */
uint64_t iscsi_tcp_step(struct iscsi_tcp *c, uint64_t now);
#endif
