/* Internal state of the iSCSI engine, shared by its files (session, login, scsi, lun); not an API. */
#ifndef SHOAL_ISCSI_INT_H
#define SHOAL_ISCSI_INT_H
#include "net/iscsi/iscsi.h"
#include "net/iscsi/pdu.h"

enum sess_state {
    SS_IDLE,         /* not started */
    SS_WAIT,         /* waiting out the backoff before the next connect */
    SS_CONNECTING,   /* transport connect() issued */
    SS_LOGIN,        /* login PDUs exchanged */
    SS_FFP,          /* full feature phase */
    SS_LOGOUT,       /* logout request sent */
    SS_CLOSED,       /* closed by the user */
    SS_FAILED,       /* gave up */
};

enum login_step { LS_SEC, LS_CHAP_A, LS_CHAP_C, LS_CHAP_R, LS_OPER };
enum task_state { TS_FREE, TS_QUEUED, TS_SENT };

struct iscsi_task {
    enum task_state state;
    uint16_t gen;                 /* ITT = gen << 16 | index: stale ITTs never match */
    struct iscsi_cmd *cmd;
    uint64_t seq;                 /* submission order: queued tasks go out oldest first */
    uint64_t deadline;            /* now + timeout at submit */
    uint64_t submitted;           /* now at submit: latency counts from here, queueing and retries included */
    uint64_t not_before;          /* retry backoff */
    int retries;
    uint32_t cmdsn;
    uint32_t received;            /* Data-In bytes placed */
    uint32_t exp_datasn;
};

#define ISCSI_MAX_DISC 16
#define ISCSI_TX_CAP   (64 * 1024)
#define ISCSI_HDR_CAP  (ISCSI_BHS_LEN + 1020 + ISCSI_DIGEST_LEN)

struct iscsi_session {
    struct iscsi_config cfg;
    const struct iscsi_transport *tr;
    iscsi_event_fn event;
    void *event_arg;
    enum sess_state state;
    struct iscsi_params params;
    struct iscsi_stats stats;
    int ever_ready;                /* a login has succeeded once */
    int attempts;                  /* consecutive failed attempts */
    int hold_attempts;             /* the user resets attempts itself once it is satisfied (iscsi_lun) */
    int drop_counts;               /* the next drop counts as a failed attempt even from full feature */
    int closing;                   /* close requested */
    uint64_t state_since, wait_until;

    /* login */
    enum login_step lstep;
    uint16_t tsih;
    uint8_t isid[6];
    uint32_t login_itt;
    uint8_t chap_id;
    uint8_t chap_chal[16];         /* our challenge to the target (mutual CHAP), kept across reconnects */
    int chap_sent;                 /* chap_chal went out once: a target's challenge must never equal it */
    struct iscsi_params pend;      /* operational answers, applied on entering FFP */
    int login_fatal;               /* the target refused us for good (auth, no such target) */

    /* sequence numbers (RFC 7143 4.2.2) */
    uint32_t cmdsn, exp_cmdsn, max_cmdsn, exp_statsn;
    uint32_t next_itt;             /* for login/text/nop/logout tags */

    /* keep-alive */
    uint64_t last_rx, ping_sent;
    uint32_t ping_itt;
    int ping_out;

    /* receive: BHS (+AHS +header digest), then the data segment streamed */
    uint8_t hdr[ISCSI_HDR_CAP];
    uint32_t hdr_have, hdr_need;
    struct iscsi_pdu rx;
    int rx_in_data;
    uint32_t data_have, data_need;  /* data + pad + digest */
    uint32_t data_crc;
    struct iscsi_task *rx_task;     /* Data-In being placed */
    int rx_stream;                  /* the last Data-In segment was large (iscsi_conn_rx_tail) */
    uint8_t *rxbuf;                 /* other PDUs' data segments */
    uint32_t rxbuf_cap;
    uint8_t digest_buf[4];
    int dead;                       /* connection dropped inside this call */

    /* transmit */
    uint8_t *tx;
    uint32_t tx_len;
    int in_rx;                      /* inside iscsi_conn_recv: PDUs queue up, flushed once at its end */

    /* discovery */
    char *disc_text;                /* accumulated SendTargets answer */
    uint32_t disc_len, disc_cap;
    uint32_t text_itt;
    int ndisc;
    char disc_name[ISCSI_MAX_DISC][224];
    char disc_addr[ISCSI_MAX_DISC][64];

    struct iscsi_task tasks[ISCSI_MAX_TASKS];
    uint64_t task_seq;
    int ntasks;                     /* not free */
    uint32_t logout_itt;
};

/* session.c */
int sess_send_pdu(struct iscsi_session *s, struct iscsi_pdu *p, const void *data, uint32_t dlen);
void sess_drop(struct iscsi_session *s, int err, const char *why);
void sess_fail(struct iscsi_session *s, int err);
void sess_proto_error(struct iscsi_session *s, const char *why);   /* rx.c: log, count, drop */
void sess_update_sn(struct iscsi_session *s, const struct iscsi_pdu *p, int advance);
uint32_t sess_tag(struct iscsi_session *s);
void sess_enter_ffp(struct iscsi_session *s);
void sess_attempt_ok(struct iscsi_session *s);        /* the attempt succeeded: backoff starts over */
void sess_logout(struct iscsi_session *s);
void disc_send_text(struct iscsi_session *s, uint32_t ttt, int initial);
/* login.c */
int login_start(struct iscsi_session *s);
void login_rx(struct iscsi_session *s, const struct iscsi_pdu *p, const uint8_t *data, uint32_t len);
/* scsi.c */
void scsi_kick(struct iscsi_session *s, uint64_t now);
int scsi_data_in_begin(struct iscsi_session *s, const struct iscsi_pdu *p);
void scsi_rsp_rx(struct iscsi_session *s, const struct iscsi_pdu *p, const uint8_t *data, uint32_t len);
void scsi_data_in_end(struct iscsi_session *s, const struct iscsi_pdu *p);
void scsi_place(struct iscsi_task *t, uint32_t off, const uint8_t *src, uint32_t n);
void scsi_requeue_all(struct iscsi_session *s);
void scsi_fail_all(struct iscsi_session *s, int err);
void scsi_check_timeouts(struct iscsi_session *s, uint64_t now);
struct iscsi_task *scsi_task_by_itt(struct iscsi_session *s, uint32_t itt);
#endif
