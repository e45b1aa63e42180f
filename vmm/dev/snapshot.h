/* Device state snapshots: one function per device walks its plain-data state both ways (save and restore). */
#ifndef SHOAL_VMM_SNAPSHOT_H
#define SHOAL_VMM_SNAPSHOT_H
#include <stdint.h>
#include <stddef.h>

/*
 * A cursor over a byte buffer. With save set, snap_bytes() copies state into buf; otherwise it copies
 * buf into the state. Running off the end sets err (-ENOSPC saving, -EINVAL restoring) and stops copying,
 * so a device's snapshot function needs no error checks of its own: the caller checks s->err once.
 */
struct snap {
    uint8_t *buf;
    size_t len, pos;
    int save;
    int err;
    const char *why;            /* restore: the first reason a record was refused (NULL: none given) */
};

/* Refuse the record being restored: err -EINVAL with a one-line reason (the first one is kept). */
static inline void snap_fail(struct snap *s, const char *why)
{
    if (!s->err) {
        s->err = -22; /* EINVAL */
        s->why = why;
    }
}

static inline void snap_bytes(struct snap *s, void *p, size_t n)
{
    uint8_t *b = p;
    if (s->err)
        return;
    if (n > s->len - s->pos) {
        s->err = s->save ? -28 /* ENOSPC */ : -22 /* EINVAL */;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->save)
            s->buf[s->pos + i] = b[i];
        else
            b[i] = s->buf[s->pos + i];
    }
    s->pos += n;
}

/* A versioned record: saving writes the tag and version; restoring checks them (err -EPROTO on mismatch). */
static inline void snap_header(struct snap *s, uint32_t tag, uint32_t version)
{
    uint32_t t = tag, v = version;
    snap_bytes(s, &t, 4);
    snap_bytes(s, &v, 4);
    if (!s->save && !s->err && (t != tag || v != version))
        s->err = -71; /* EPROTO */
}

#define SNAP(s, field) snap_bytes((s), &(field), sizeof(field))
#endif
