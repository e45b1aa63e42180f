/* Unit tests: the iSCSI engine's reconnects: backoff, persistent sessions, LUN probes again, time. */
#define TEST_SUITE "iscsi_engine"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/iscsi_engine_fixture.h"
#include "kernel/crc32c.h"
#include "kernel/errno.h"
#include "kernel/time.h"

/* ---- A session that was ready once never gives up (issue 12): one failed relogin used to mark the
 * golden LUN failed for good. ---- */

/* Run one reconnect attempt that the target refuses at login with status class/detail; returns the
 * backoff the engine chose (ns from now, to 100 ms). */
static uint64_t refused_relogin(struct iscsi_session *s, uint32_t status)
{
    const struct iscsi_stats *st = iscsi_session_stats(s);
    struct iscsi_pdu o, r;
    int connects = mock.connects;
    uint64_t now = time_ns(), wait = st->retry_at - now;
    iscsi_poll(s, st->retry_at - 50000000ull);          /* not yet */
    CHECK_EQ(mock.connects, connects);
    iscsi_poll(s, st->retry_at);
    CHECK_EQ(mock.connects, connects + 1);
    iscsi_conn_up(s);
    while (next_out(&o, NULL) == 0 && o.opcode != ISCSI_OP_LOGIN_REQ)
        ;
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x81, .itt = o.itt, .sn1 = 1, .sn2 = 1, .sn3 = 8,
                            .w36 = status };
    feed(s, &r, NULL, 0, 0, 0);
    CHECK_STR(iscsi_session_state_name(s), "reconnect-wait");
    mock.pos = mock.len;
    return (wait + 50000000ull) / 100000000ull * 100000000ull;
}

TEST(ready_session_keeps_retrying_with_capped_backoff)
{
    struct iscsi_session *s = login(64);
    static const uint64_t want[] = { 1, 2, 4, 8, 16, 30, 30 };   /* seconds before each attempt */
    const struct iscsi_stats *st = iscsi_session_stats(s);
    mock.pos = mock.len;
    iscsi_conn_down(s, -ECONNRESET);                   /* tgtd went away */
    for (int i = 0; i < 7; i++) {
        /* "target not found" (2/3): tgtd restarted before its target was set up again */
        uint64_t got = refused_relogin(s, 0x02030000);
        CHECK_U64(got, want[i] * 1000000000ull);
        CHECK_EQ(st->attempts, i + 1);
    }
    CHECK_EQ(st->last_err, -ENOENT);
    CHECK_EQ(mock.events[ISCSI_EV_FAILED], 0);
    iscsi_poll(s, st->retry_at);                        /* the target is back: logged in again */
    mock.pos = mock.len;
    login_steps(s, 64);
    CHECK_STR(iscsi_session_state_name(s), "ffp");
    CHECK_EQ(st->attempts, 0);
    CHECK_EQ(st->reconnects, 1);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(persistent_session_retries_before_first_login)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1, .persistent = 1 };
    struct iscsi_session *s;
    const struct iscsi_stats *st;
    memset(&mock, 0, sizeof(mock));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    st = iscsi_session_stats(s);
    iscsi_session_start(s, time_ns());
    for (int i = 0; i < 6; i++) {                       /* the target is not up yet */
        iscsi_conn_down(s, -ECONNREFUSED);
        CHECK_STR(iscsi_session_state_name(s), "reconnect-wait");
        iscsi_poll(s, st->retry_at);
    }
    CHECK_EQ(mock.connects, 7);
    CHECK_EQ(st->attempts, 6);
    CHECK_EQ(st->last_err, -ECONNREFUSED);
    CHECK_EQ(mock.events[ISCSI_EV_FAILED], 0);
    login_steps(s, 64);                                 /* it came up */
    CHECK_EQ(mock.events[ISCSI_EV_READY], 1);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(operator_login_still_gives_up)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    memset(&mock, 0, sizeof(mock));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    for (int i = 0; i < 3; i++) {
        iscsi_conn_down(s, -ECONNREFUSED);
        iscsi_poll(s, iscsi_session_stats(s)->retry_at);
    }
    CHECK_STR(iscsi_session_state_name(s), "failed");
    CHECK_EQ(mock.events[ISCSI_EV_FAILED], 1);
    iscsi_session_free(s);
}

TEST(persistent_lun_probes_again_after_a_failed_probe)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1, .persistent = 1 };
    struct iscsi_lun *l;
    struct iscsi_session *s;
    memset(&mock, 0, sizeof(mock));
    l = iscsi_lun_new(&cfg, &mock_tr, on_ev, NULL);
    s = iscsi_lun_session(l);
    iscsi_session_start(s, time_ns());
    for (int i = 0; i < 2; i++) {                        /* a block size shoal cannot use, twice */
        login_steps(s, 64);
        probe_answer_all(s, 0x25);
        CHECK_EQ(mock.closes, i + 1);
        CHECK_EQ(iscsi_session_stats(s)->attempts, i + 1);   /* backs off as a failed attempt */
        CHECK_EQ(mock.events[ISCSI_EV_LUN_READY], 0);
        iscsi_poll(s, iscsi_session_stats(s)->retry_at);
        mock.pos = mock.len;
    }
    login_steps(s, 64);                                  /* fixed on the target: the probe starts over */
    probe_answer_all(s, 0xff);
    CHECK_EQ(mock.events[ISCSI_EV_LUN_READY], 1);
    CHECK_EQ(iscsi_session_stats(s)->attempts, 0);
    iscsi_session_close(s, time_ns());
    iscsi_lun_free(l);
}

TEST(poll_with_a_time_taken_before_the_connect_is_no_timeout)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    uint64_t before = time_ns();                        /* a poller's `now`, taken before the connect */
    memset(&mock, 0, sizeof(mock));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    iscsi_poll(s, before);                              /* now - state_since must not wrap to "ages" */
    CHECK_EQ(mock.closes, 0);
    CHECK_STR(iscsi_session_state_name(s), "connecting");
    iscsi_conn_up(s);
    iscsi_poll(s, before);
    CHECK_EQ(mock.closes, 0);
    iscsi_session_free(s);
}
