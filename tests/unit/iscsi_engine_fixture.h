/* The iSCSI engine tests' shared fixture: a mock transport and a scripted in-memory target. */
#ifndef SHOAL_TESTS_ISCSI_ENGINE_FIXTURE_H
#define SHOAL_TESTS_ISCSI_ENGINE_FIXTURE_H
#include <stddef.h>
#include <stdint.h>
#include "net/iscsi/iscsi.h"
#include "net/iscsi/pdu.h"

/* The mock transport keeps what the engine sent; tests parse it PDU by PDU. */
struct mock_target {
    uint8_t out[1 << 16];
    size_t len, pos;
    int connects, closes, events[8];
    int hdig, ddig;               /* digests the parser expects on engine output */
};
extern struct mock_target mock;
/* The transport sending into mock, and the event callback counting events in mock.events. */
extern const struct iscsi_transport mock_tr;
void on_ev(struct iscsi_session *s, enum iscsi_event e, int err, void *a);

/* Next PDU the engine sent: header into *p, data segment copied to data. Returns 0 or -1 (none). */
int next_out(struct iscsi_pdu *p, uint8_t *data);

/* Encode a target PDU (with digests when asked) into b; returns its length on the wire. */
size_t wire_pdu(uint8_t *b, struct iscsi_pdu *p, const void *data, uint32_t dlen, int hd, int dd);

/* Feed a target PDU (with digests when asked) to s, in small pieces. */
void feed(struct iscsi_session *s, struct iscsi_pdu *p, const void *data, uint32_t dlen, int hd, int dd);

/* Answer a (re)connect's login through AuthMethod=None; MaxCmdSN = max_cmdsn. */
void login_steps(struct iscsi_session *s, uint32_t max_cmdsn);

/* Log a new session in through AuthMethod=None (mock reset first); MaxCmdSN = max_cmdsn. */
struct iscsi_session *login(uint32_t max_cmdsn);

/* read_cmd's completions: how many, and the last status. */
extern int done_count, done_status;

/* Fill c as a READ(10) of len bytes into buf through the one iovec v, completing into done_count/done_status. */
void read_cmd(struct iscsi_cmd *c, struct blk_iov *v, uint8_t *buf, uint32_t len);

/*
 * Answer the LUN probe's commands as a disk of 1024 blocks would, except that the command with opcode
 * bad_op gets a residual larger than its transfer (READ CAPACITY: a block size of 520; 0xff: none).
 * Returns the number of commands answered.
 */
int probe_answer_all(struct iscsi_session *s, uint8_t bad_op);

/* A new session's login answered with the operational keys[klen]; offered[] receives what we offered. */
struct iscsi_session *login_answering(const char *keys, uint32_t klen, uint8_t offered[4096]);
#endif
