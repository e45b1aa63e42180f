/* POSIX socket transport for the iSCSI engine on the host (non-blocking TCP, driven by poll()). */
#ifndef SHOAL_ISCSI_POSIX_H
#define SHOAL_ISCSI_POSIX_H
#include "net/iscsi/iscsi.h"

struct posix_conn {
    struct iscsi_transport tr;   /* hand &tr to the engine */
    struct iscsi_session *s;     /* set after the session is created */
    int fd;
    int connecting;              /* connect() in progress: wait for POLLOUT */
    int up_pending;              /* connected at once: report on the next step */
    int more;                    /* the last drain stopped before EAGAIN: read again without poll() */
};

/* Fill c (no socket yet). */
void posix_conn_init(struct posix_conn *c);
/* Wait up to timeout_ms for socket events, feed them to the engine, then run iscsi_poll. */
void posix_conn_step(struct posix_conn *c, int timeout_ms);
#endif
