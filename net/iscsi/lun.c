/* An iSCSI LUN as a read-only struct blk_dev: probe after login, then READ(10)/READ(16) per request. */
#include "net/iscsi/iscsi_int.h"
#include "net/iscsi/vpd.h"
#include "net/iscsi/printable.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/printf.h"
#include "kernel/time.h"

enum probe_step { P_TUR, P_INQ, P_VPD80, P_VPD83, P_RLUNS, P_RC10, P_RC16, P_DONE };

struct lun_io {
    struct iscsi_cmd cmd;
    struct blk_req *req;
    struct iscsi_lun *lun;
    int used;
};

struct iscsi_lun {
    struct blk_dev dev;
    struct iscsi_session *s;
    iscsi_event_fn event;
    void *event_arg;
    enum probe_step step;
    int probed, force16;
    int probe_busy;                 /* pcmd is submitted (it survives reconnects: never submit it twice) */
    struct iscsi_cmd pcmd;
    struct blk_iov piov;
    uint8_t pbuf[512];
    uint32_t bs;
    uint64_t nblocks;
    char vendor[33], product[65], serial[257];   /* room for \xNN escapes of the peer's bytes */
    char devid[128];                /* VPD 0x83: the first NAA designator, else the first one */
    struct lun_io io[ISCSI_MAX_TASKS];
};

static void probe_next(struct iscsi_lun *l);

static void probe_cdb(struct iscsi_lun *l, const uint8_t *cdb, int n, uint32_t alloc)
{
    memset(&l->pcmd, 0, sizeof(l->pcmd));
    memcpy(l->pcmd.cdb, cdb, (size_t)n);
    l->pcmd.cdb_len = (uint8_t)n;
    l->piov.base = l->pbuf;
    l->piov.len = alloc;
    l->pcmd.iov = alloc ? &l->piov : NULL;
    l->pcmd.niov = alloc ? 1 : 0;
    l->pcmd.len = alloc;
    l->pcmd.allow_short = 1;
}

/* Copy an ASCII field of n bytes (n <= 64) without its leading and trailing blanks (SPC-4 4.3.1), made
 * printable: a peer's bytes reach the operator's terminal through `iscsi login` and the log. */
static void trim_copy(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    while (n && (*src == ' ' || *src == 0)) {
        src++;
        n--;
    }
    while (n && (src[n - 1] == ' ' || src[n - 1] == 0))
        n--;
    iscsi_printable(dst, cap, (const char *)src, n);
}

/* A persistent session (a boot image) logs in again with backoff and probes from the start; any other
 * reports the failure. */
static void probe_fail(struct iscsi_lun *l, int err, const char *what)
{
    log_err("iscsi: LUN %u probe failed at %s (%d)%s\n", l->s->cfg.lun, what, err,
            l->s->cfg.persistent ? ": logging in again" : "");
    if (l->s->cfg.persistent) {
        l->s->drop_counts = 1;
        sess_drop(l->s, err, "LUN probe failed");
        return;
    }
    if (l->event)
        l->event(l->s, ISCSI_EV_LUN_READY, err, l->event_arg);
}

/* Decode the device identification page into l->devid; a malformed page is logged and ignored. */
static void probe_vpd83(struct iscsi_lun *l, const uint8_t *b, uint32_t got)
{
    struct iscsi_desig d[8];
    const struct iscsi_desig *pick;
    int n = iscsi_vpd83_parse(b, got, d, 8);
    if (n < 0) {
        log_warn("iscsi: LUN %u: malformed VPD page 0x83 ignored\n", l->s->cfg.lun);
        return;
    }
    for (int i = 0; i < n && i < 8; i++) {
        char txt[80];
        iscsi_desig_format(&d[i], txt, sizeof(txt));
        log_debug("iscsi: LUN %u designator %d: %s, %s, %s association: %s\n", l->s->cfg.lun, i,
                  iscsi_desig_type_name(d[i].type), iscsi_desig_code_set_name(d[i].code_set),
                  iscsi_desig_assoc_name(d[i].assoc), txt);
    }
    pick = iscsi_desig_pick(d, n < 8 ? n : 8);
    if (pick)
        iscsi_desig_format(pick, l->devid, sizeof(l->devid));
}

/* Parse the answer of the step just finished; returns 0 to go on or a negative errno. */
static int probe_parse(struct iscsi_lun *l, int status)
{
    /* The engine never reports a residual beyond the transfer; clamp anyway: got bounds every parse. */
    uint32_t got = l->pcmd.resid < l->pcmd.len ? l->pcmd.len - l->pcmd.resid : 0;
    const uint8_t *b = l->pbuf;
    switch (l->step) {
    case P_TUR:
        return status;
    case P_RLUNS: {                     /* SPC-4 6.33: 8-byte header, then 8-byte LUN entries */
        uint8_t want[8];
        uint32_t n = got >= 8 ? get_be32(b) : 0;
        int found = 0;
        iscsi_lun_encode(l->s->cfg.lun, want);
        for (uint32_t off = 8; off + 8 <= got && off < 8 + n; off += 8)
            found |= !memcmp(b + off, want, 8);
        if (!status && !found)
            log_warn("iscsi: REPORT LUNS does not list LUN %u\n", l->s->cfg.lun);
        return status;
    }
    case P_INQ:
        if (status || got < 36)
            return status ? status : -EPROTO;
        if ((b[0] & 0x1f) != 0 || (b[0] >> 5) != 0)
            log_warn("iscsi: LUN %u is device type %#x (qualifier %u), not a disk\n", l->s->cfg.lun, b[0] & 0x1f, b[0] >> 5);
        trim_copy(l->vendor, sizeof(l->vendor), b + 8, 8);
        trim_copy(l->product, sizeof(l->product), b + 16, 16);
        return 0;
    case P_VPD80:
        if (!status && got >= 4 && b[1] == 0x80) {
            uint32_t n = get_be16(b + 2);
            n = n > got - 4 ? got - 4 : n;
            trim_copy(l->serial, sizeof(l->serial), b + 4, n < 64 ? n : 64);
        }
        return 0;                       /* optional page */
    case P_VPD83:
        if (!status)
            probe_vpd83(l, b, got);
        return 0;                       /* optional page */
    case P_RC10:
        if (status || got < 8)
            return status ? status : -EPROTO;
        l->nblocks = (uint64_t)get_be32(b) + 1;
        l->bs = get_be32(b + 4);
        if (get_be32(b) == 0xffffffffu)
            return 1;                   /* too big for (10): ask (16) */
        return 0;
    case P_RC16:
        if (status || got < 12)
            return status ? status : -EPROTO;
        l->nblocks = get_be64(b) + 1;
        l->bs = get_be32(b + 8);
        return 0;
    default:
        return -EINVAL;
    }
}

static void probe_done(struct iscsi_cmd *c, int status)
{
    struct iscsi_lun *l = c->arg;
    static const char *const names[] = { "TEST UNIT READY", "INQUIRY", "VPD 0x80", "VPD 0x83",
                                         "REPORT LUNS", "READ CAPACITY(10)", "READ CAPACITY(16)" };
    int r;
    l->probe_busy = 0;
    if (status == -ECANCELED)
        return;                         /* the session is closing */
    r = probe_parse(l, status);
    if (r < 0) {
        probe_fail(l, r, names[l->step]);
        return;
    }
    if (l->step == P_RC10)
        l->step = r == 1 ? P_RC16 : P_DONE;
    else if (l->step == P_RC16)
        l->step = P_DONE;
    else
        l->step++;
    probe_next(l);
}

static void probe_ready(struct iscsi_lun *l)
{
    if (l->bs != 512 && l->bs != 4096) {
        probe_fail(l, -ENOTSUP, "block size");
        return;
    }
    l->dev.sectors = l->nblocks * (l->bs / BLK_SECTOR_SIZE);
    l->dev.block_size = l->bs;
    l->probed = 1;
    sess_attempt_ok(l->s);
    log_info("iscsi: LUN %u ready: %s %s serial '%s' id '%s', %llu blocks of %u bytes\n", l->s->cfg.lun,
             l->vendor, l->product, l->serial, l->devid, (unsigned long long)l->nblocks, l->bs);
    if (l->event)
        l->event(l->s, ISCSI_EV_LUN_READY, 0, l->event_arg);
}

static void probe_next(struct iscsi_lun *l)
{
    uint8_t cdb[16] = { 0 };
    int n = 6, r;
    uint32_t alloc = 0;
    switch (l->step) {
    case P_TUR: break;
    case P_INQ: cdb[0] = 0x12; cdb[4] = 96; alloc = 96; break;
    case P_VPD80: cdb[0] = 0x12; cdb[1] = 1; cdb[2] = 0x80; cdb[4] = 255; alloc = 255; break;
    case P_VPD83: cdb[0] = 0x12; cdb[1] = 1; cdb[2] = 0x83; cdb[4] = 255; alloc = 255; break;
    case P_RLUNS: cdb[0] = 0xa0; put_be32(cdb + 6, 256); alloc = 256; n = 12; break;
    case P_RC10: cdb[0] = 0x25; alloc = 8; n = 10; break;
    case P_RC16: cdb[0] = 0x9e; cdb[1] = 0x10; put_be32(cdb + 10, 32); alloc = 32; n = 16; break;
    default: probe_ready(l); return;
    }
    probe_cdb(l, cdb, n, alloc);
    l->pcmd.done = probe_done;
    l->pcmd.arg = l;
    r = iscsi_cmd_submit(l->s, &l->pcmd, time_ns());
    l->probe_busy = r == 0;
    if (r < 0)
        probe_fail(l, r, "submit");
}

static void lun_event(struct iscsi_session *s, enum iscsi_event ev, int err, void *arg)
{
    struct iscsi_lun *l = arg;
    (void)s;
    if (ev == ISCSI_EV_READY && l->probed)
        sess_attempt_ok(s);             /* a probed LUN is back */
    if (ev == ISCSI_EV_READY && !l->probed && !l->probe_busy) {
        if (l->event)
            l->event(s, ev, err, l->event_arg);
        l->step = P_TUR;                /* first login, or again after a failed probe */
        probe_next(l);
        return;
    }
    if (l->event)
        l->event(s, ev, err, l->event_arg);
}

static void lun_io_done(struct iscsi_cmd *c, int status)
{
    struct lun_io *io = c->arg;
    struct blk_req *req = io->req;
    io->used = 0;
    req->layer_priv = NULL;
    req->done(req, status);
}

/* READ(10) when the range fits it, else READ(16) (SBC-3 5.11, 5.16). */
static void lun_build_read(struct iscsi_lun *l, struct iscsi_cmd *c, uint64_t lba, uint32_t blocks)
{
    memset(c->cdb, 0, sizeof(c->cdb));
    if (!l->force16 && lba + blocks <= 0xffffffffull && blocks <= 0xffff) {
        c->cdb[0] = 0x28;
        put_be32(c->cdb + 2, (uint32_t)lba);
        put_be16(c->cdb + 7, (uint16_t)blocks);
        c->cdb_len = 10;
    } else {
        c->cdb[0] = 0x88;
        put_be64(c->cdb + 2, lba);
        put_be32(c->cdb + 10, blocks);
        c->cdb_len = 16;
    }
}

static int lun_submit(struct blk_dev *dev, struct blk_req *req)
{
    struct iscsi_lun *l = dev->priv;
    uint32_t per = l->bs / BLK_SECTOR_SIZE;
    if (req->op == BLK_WRITE || req->op == BLK_DISCARD)
        return -EROFS;                  /* golden LUNs are read-only: no write path exists */
    if (req->op == BLK_FLUSH || req->nr == 0) {
        req->done(req, 0);
        return 0;
    }
    if (!l->probed)
        return -ENODEV;
    if (req->lba % per || req->nr % per)
        return -EINVAL;
    for (int i = 0; i < ISCSI_MAX_TASKS; i++) {
        struct lun_io *io = &l->io[i];
        int r;
        if (io->used)
            continue;
        memset(&io->cmd, 0, sizeof(io->cmd));
        lun_build_read(l, &io->cmd, req->lba / per, req->nr / per);
        io->cmd.iov = req->iov;
        io->cmd.niov = req->niov;
        io->cmd.len = req->nr * BLK_SECTOR_SIZE;
        io->cmd.done = lun_io_done;
        io->cmd.arg = io;
        io->req = req;
        io->used = 1;
        req->layer_priv = io;
        r = iscsi_cmd_submit(l->s, &io->cmd, time_ns());
        if (r < 0)
            io->used = 0;
        return r;
    }
    return -EAGAIN;
}

static void lun_close(struct blk_dev *dev)
{
    struct iscsi_lun *l = dev->priv;
    iscsi_session_close(l->s, time_ns());
}

static const struct blk_ops lun_ops = { .submit = lun_submit, .close = lun_close };

struct iscsi_lun *iscsi_lun_new(const struct iscsi_config *cfg, const struct iscsi_transport *tr,
                                iscsi_event_fn event, void *arg)
{
    struct iscsi_lun *l = kzalloc(sizeof(*l));
    if (!l)
        return NULL;
    l->event = event;
    l->event_arg = arg;
    l->s = iscsi_session_new(cfg, tr, lun_event, l);
    if (!l->s) {
        kfree(l);
        return NULL;
    }
    l->s->hold_attempts = 1;            /* a login is a success once the LUN is probed */
    l->dev.ops = &lun_ops;
    l->dev.read_only = 1;
    l->dev.block_size = 512;
    l->dev.priv = l;
    l->bs = 512;
    ksnprintf(l->dev.name, sizeof(l->dev.name), "iscsi%u", cfg->lun);
    return l;
}

struct blk_dev *iscsi_lun_dev(struct iscsi_lun *l) { return &l->dev; }
struct iscsi_session *iscsi_lun_session(struct iscsi_lun *l) { return l->s; }
void iscsi_lun_force_read16(struct iscsi_lun *l, int on) { l->force16 = on; }

const char *iscsi_lun_ident(const struct iscsi_lun *l, int which)
{
    return which == 0 ? l->vendor : which == 1 ? l->product : which == 2 ? l->serial : l->devid;
}

void iscsi_lun_free(struct iscsi_lun *l)
{
    if (!l)
        return;
    iscsi_session_free(l->s);
    kfree(l);
}
