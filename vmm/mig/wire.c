/* The migration stream's frame checks and payload decoders: every byte here came from the peer. */
#include "vmm/mig/wire.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

/* Payload sizes each type may have. */
static const struct { const char *name; uint32_t min, max; } types[MIG_TYPE_END] = {
    [MIG_HELLO]   = { "HELLO", sizeof(struct mig_hello), sizeof(struct mig_hello) },
    [MIG_ACCEPT]  = { "ACCEPT", 0, 0 },
    [MIG_REFUSE]  = { "REFUSE", 1, MIG_REASON },
    [MIG_HASHES]  = { "HASHES", sizeof(struct mig_hashes_hdr),
                      sizeof(struct mig_hashes_hdr) + MIG_BATCH * MIG_ENTRY_MAX },
    [MIG_WANT]    = { "WANT", sizeof(struct mig_want_hdr), sizeof(struct mig_want_hdr) + MIG_BATCH / 8 },
    [MIG_DATA]    = { "DATA", sizeof(struct mig_data_hdr) + 1, sizeof(struct mig_data_hdr) + MIG_PAGE },
    [MIG_ROUND]   = { "ROUND", sizeof(struct mig_round), sizeof(struct mig_round) },
    [MIG_FINAL]   = { "FINAL", 0, 0 },
    [MIG_STATE]   = { "STATE", sizeof(struct mig_state_hdr) + 1, sizeof(struct mig_state_hdr) + MIG_STATE_CHUNK },
    [MIG_COMMIT]  = { "COMMIT", 0, 0 },
    [MIG_READY]   = { "READY", 0, 0 },
    [MIG_GO]      = { "GO", 4, 4 },
    [MIG_RUNNING] = { "RUNNING", 0, 0 },
};

const char *mig_type_name(uint32_t type)
{
    return type && type < MIG_TYPE_END ? types[type].name : "unknown";
}

static int bad(const char **why, const char *what)
{
    *why = what;
    return -EPROTO;
}

int mig_hdr_parse(const uint8_t h[MIG_HDR], uint32_t *type, uint32_t *len, const char **why)
{
    memcpy(type, h, 4);
    memcpy(len, h + 4, 4);
    if (*type == 0 || *type >= MIG_TYPE_END)
        return bad(why, "unknown frame type");
    if (*len < types[*type].min || *len > types[*type].max)
        return bad(why, "frame length wrong for its type");
    return 0;
}

void mig_hdr_put(uint8_t h[MIG_HDR], uint32_t type, uint32_t len)
{
    memcpy(h, &type, 4);
    memcpy(h + 4, &len, 4);
}

/* A VM name as `vm create` takes it: 1..15 of [A-Za-z0-9_.-], NUL-terminated in its field. */
static int name_ok(const char *s)
{
    size_t n = 0;
    for (; n < MIG_NAME && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return 0;
    }
    return n > 0 && n < MIG_NAME;
}

/* argc NUL-terminated printable words filling at most the args field. */
static int args_ok(const struct mig_hello *h)
{
    uint32_t words = 0;
    size_t i = 0;
    while (words < h->argc) {
        size_t start = i;
        while (i < MIG_ARGS && h->args[i]) {
            if ((uint8_t)h->args[i] < 0x20 || (uint8_t)h->args[i] > 0x7e)
                return 0;
            i++;
        }
        if (i >= MIG_ARGS || i == start)
            return 0;
        i++;
        words++;
    }
    return 1;
}

int mig_hello_decode(const uint8_t *p, uint32_t len, struct mig_hello *h, const char **why)
{
    if (len != sizeof(*h))
        return bad(why, "HELLO of the wrong size");
    memcpy(h, p, sizeof(*h));
    if (h->version != MIG_VERSION)
        return bad(why, "another version of the migration protocol");
    if (h->nvcpus == 0 || h->nvcpus > 64)
        return bad(why, "vCPU count out of range");
    if (h->mem_size == 0 || (h->mem_size & (MIG_PAGE - 1)) || h->mem_size > (1ull << 40))
        return bad(why, "RAM size out of range");
    if (h->disk_blocks > MIG_INDEX_MASK)
        return bad(why, "disk size out of range");
    if (!name_ok(h->name))
        return bad(why, "VM name malformed");
    if (h->argc > MIG_ARGC_MAX || !args_ok(h))
        return bad(why, "creation arguments malformed");
    return 0;
}

const char *mig_hello_arg(const struct mig_hello *h, uint32_t i)
{
    const char *p = h->args;
    while (i--)
        p += strlen(p) + 1;
    return p;
}

int mig_hashes_decode(const uint8_t *p, uint32_t len, struct mig_hashes_hdr *h, struct mig_entry *e,
                      const char **why)
{
    uint32_t at = sizeof(*h);
    if (len < sizeof(*h))
        return bad(why, "HASHES too short");
    memcpy(h, p, sizeof(*h));
    if (h->kind != MIG_KIND_PAGE && h->kind != MIG_KIND_BLOCK)
        return bad(why, "HASHES of an unknown kind");
    if (h->n == 0 || h->n > MIG_BATCH)
        return bad(why, "HASHES entry count out of range");
    for (uint32_t i = 0; i < h->n; i++) {
        if (len - at < MIG_ENTRY_MIN)
            return bad(why, "HASHES entry count does not match its length");
        memcpy(&e[i].index, p + at, 8);
        at += 8;
        memset(e[i].hash, 0, MIG_HASH);
        if (e[i].index & MIG_ENTRY_ZERO)
            continue;
        if (len - at < MIG_HASH)
            return bad(why, "HASHES entry count does not match its length");
        memcpy(e[i].hash, p + at, MIG_HASH);
        at += MIG_HASH;
    }
    if (at != len)
        return bad(why, "HASHES entry count does not match its length");
    return 0;
}

uint32_t mig_entry_put(uint8_t *out, const struct mig_entry *e)
{
    memcpy(out, &e->index, 8);
    if (e->index & MIG_ENTRY_ZERO)
        return MIG_ENTRY_MIN;
    memcpy(out + 8, e->hash, MIG_HASH);
    return MIG_ENTRY_MAX;
}

int mig_want_decode(const uint8_t *p, uint32_t len, struct mig_want_hdr *h, const uint8_t **bits,
                    const char **why)
{
    if (len < sizeof(*h))
        return bad(why, "WANT too short");
    memcpy(h, p, sizeof(*h));
    if (h->n == 0 || h->n > MIG_BATCH || len != sizeof(*h) + (h->n + 7) / 8)
        return bad(why, "WANT entry count does not match its length");
    *bits = p + sizeof(*h);
    return 0;
}

int mig_data_decode(const uint8_t *p, uint32_t len, struct mig_data_hdr *h, const uint8_t **body,
                    uint32_t *body_len, const char **why)
{
    if (len <= sizeof(*h) || len > sizeof(*h) + MIG_PAGE)
        return bad(why, "DATA of the wrong size");
    memcpy(h, p, sizeof(*h));
    if (h->kind != MIG_KIND_PAGE && h->kind != MIG_KIND_BLOCK)
        return bad(why, "DATA of an unknown kind");
    if (h->index > MIG_INDEX_MASK)
        return bad(why, "DATA index out of range");
    if (h->enc != MIG_ENC_RAW && h->enc != MIG_ENC_DEFLATE)
        return bad(why, "DATA in an unknown encoding");
    *body_len = len - (uint32_t)sizeof(*h);
    if ((h->enc == MIG_ENC_RAW) != (*body_len == MIG_PAGE))
        return bad(why, "DATA of the wrong size for its encoding");
    *body = p + sizeof(*h);
    return 0;
}

int mig_state_decode(const uint8_t *p, uint32_t len, struct mig_state_hdr *h, const uint8_t **chunk,
                     const char **why)
{
    if (len <= sizeof(*h))
        return bad(why, "STATE too short");
    memcpy(h, p, sizeof(*h));
    if (h->total == 0 || h->total > MIG_STATE_MAX)
        return bad(why, "state record size out of range");
    if (h->offset > h->total || len - sizeof(*h) > h->total - h->offset)
        return bad(why, "STATE chunk outside its record");
    *chunk = p + sizeof(*h);
    return 0;
}

void mig_reason_decode(const uint8_t *p, uint32_t len, char *out, size_t n)
{
    size_t i = 0;
    if (!n)
        return;
    for (; i < len && i + 1 < n; i++)
        out[i] = p[i] >= 0x20 && p[i] <= 0x7e ? (char)p[i] : '?';
    out[i] = 0;
}
