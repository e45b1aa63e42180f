/* The migration stream over a TLS channel: one frame out and one frame in at a time, never waiting. */
#include "vmm/mig/mig.h"
#include "net/tls/chan.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

int mig_io_flush(struct mig_io *io)
{
    while (io->out_off < io->out_len) {
        int n = tls_send(io->ch, io->out + io->out_off, io->out_len - io->out_off);
        if (n < 0)
            return n;
        if (n == 0)
            return 1;
        io->out_off += (size_t)n;
        io->bytes_out += (uint64_t)n;
    }
    io->out_len = io->out_off = 0;
    return 0;
}

uint8_t *mig_io_begin(struct mig_io *io, uint32_t type)
{
    mig_hdr_put(io->out, type, 0);
    return io->out + MIG_HDR;
}

int mig_io_send(struct mig_io *io, uint32_t len)
{
    uint32_t type;
    memcpy(&type, io->out, 4);
    mig_hdr_put(io->out, type, len);
    io->out_len = MIG_HDR + len;
    io->out_off = 0;
    io->frames_out++;
    return mig_io_flush(io);
}

int mig_io_frame(struct mig_io *io, uint32_t type, const void *p, uint32_t len)
{
    uint8_t *dst = mig_io_begin(io, type);
    if (len)
        memcpy(dst, p, len);
    return mig_io_send(io, len);
}

void mig_io_refuse(struct mig_io *io, const char *reason)
{
    size_t n = strlen(reason);
    if (!io->ch || tls_status(io->ch) || mig_io_flush(io) != 0)
        return;
    mig_io_frame(io, MIG_REFUSE, reason, (uint32_t)(n > MIG_REASON ? MIG_REASON : n ? n : 1));
}

/* Read into io->in up to want bytes in all. 1 when they are there, 0 when not yet, <0 failed. */
static int fill(struct mig_io *io, size_t want)
{
    while (io->in_len < want) {
        int n = tls_recv(io->ch, io->in + io->in_len, want - io->in_len);
        if (n < 0)
            return n;
        if (n == 0)
            return 0;
        io->in_len += (size_t)n;
        io->bytes_in += (uint64_t)n;
    }
    return 1;
}

int mig_io_recv(struct mig_io *io, uint32_t *type, const uint8_t **p, uint32_t *len)
{
    int rc = fill(io, MIG_HDR);
    if (rc <= 0)
        return rc;
    if (io->in_len == MIG_HDR && !io->in_type && mig_hdr_parse(io->in, &io->in_type, &io->in_payload, &io->why)) {
        io->in_type = 0;
        return -EPROTO;
    }
    if ((rc = fill(io, MIG_HDR + io->in_payload)) <= 0)
        return rc;
    *type = io->in_type;
    *p = io->in + MIG_HDR;
    *len = io->in_payload;
    return 1;
}

void mig_io_next(struct mig_io *io)
{
    io->in_len = 0;
    io->in_type = io->in_payload = 0;
}

const char *mig_io_error(struct mig_io *io, int err)
{
    if (err == -EPROTO && io->why)
        return io->why;
    if (err == -EPIPE)
        return "the peer closed the connection";
    return io->ch && *tls_error(io->ch) ? tls_error(io->ch) : "the channel failed";
}
