/* The live-migration stream's frames: a type and a length before each payload; decoders check every peer byte. */
#ifndef SHOAL_VMM_MIG_WIRE_H
#define SHOAL_VMM_MIG_WIRE_H
#include <stddef.h>
#include <stdint.h>

/*
 * How it runs. The stream runs inside a TLS channel (net/tls/chan.h): integrity, replay and key checks
 * are the channel's; this layer frames. Every frame is `u32 type, u32 length` then length payload bytes,
 * little-endian (x86 hosts only). The source speaks first:
 *   S: HELLO (VM shape, CPU, name, how it was created)   D: ACCEPT, or REFUSE (reason)
 *   rounds: S: HASHES (a batch of page / delta-block hashes)  D: WANT (which of them it lacks)
 *           S: DATA (each wanted page or block, as it is or deflated)   S: ROUND (end of a round)
 *   final:  S: FINAL (the VM is paused), HASHES/WANT/DATA for the rest, STATE (the vCPU and device
 *           record, in chunks), COMMIT                    D: READY, or REFUSE (its restore's reason)
 *   S: GO (start it; or keep it paused: hold)             D: RUNNING
 * Either side may send REFUSE at any time: the session ends, the source keeps its guest.
 */

#define MIG_VERSION      2                     /* 2: DATA may be deflated, a zero entry has no hash */
#define MIG_HDR          8
#define MIG_MAX_PAYLOAD  (64u * 1024)
#define MIG_PAGE         4096u
#define MIG_HASH         32                    /* SHA-256 */
#define MIG_BATCH        1024u                 /* entries per HASHES frame */
#define MIG_NAME         16
#define MIG_ARGS         384                   /* `vm create` arguments after the name, NUL-separated */
#define MIG_ARGC_MAX     32
#define MIG_REASON       200
#define MIG_STATE_MAX    (4u << 20)            /* a state record larger than this is refused */
#define MIG_STATE_CHUNK  (60u * 1024)

enum mig_type {
    MIG_HELLO = 1, MIG_ACCEPT, MIG_REFUSE, MIG_HASHES, MIG_WANT, MIG_DATA, MIG_ROUND, MIG_FINAL,
    MIG_STATE, MIG_COMMIT, MIG_READY, MIG_GO, MIG_RUNNING, MIG_TYPE_END
};

enum mig_kind { MIG_KIND_PAGE = 0, MIG_KIND_BLOCK = 1 };   /* a guest RAM page, a disk delta block */

#define MIG_GO_HOLD      1u                    /* GO flags: restore but leave it paused */
#define MIG_ENTRY_ZERO   (1ull << 63)          /* HASHES entry: the page or block is all zeros */
#define MIG_INDEX_MASK   ((1ull << 40) - 1)

struct mig_hello {
    uint32_t version, nvcpus;
    uint64_t mem_size;
    uint32_t vendor;                           /* HVM_VENDOR_* of the source */
    uint32_t xsave_size;                       /* bytes of a vCPU's XSAVE area */
    uint64_t xcr0;                             /* XCR0 bits the guests may set */
    uint64_t disk_blocks;                      /* 4 KiB blocks of the clone's disk (0: no delta travels) */
    uint32_t argc, pad;
    char name[MIG_NAME];                       /* NUL-terminated */
    char args[MIG_ARGS];                       /* argc NUL-terminated words */
} __attribute__((packed));

/* A HASHES entry as the decoder gives it. On the wire: the u64 index, then the hash unless MIG_ENTRY_ZERO
 * (a zero page travels as 8 bytes: most of a fresh guest's RAM). */
struct mig_entry {
    uint64_t index;                            /* page or block number | MIG_ENTRY_ZERO */
    uint8_t hash[MIG_HASH];                    /* zeros when MIG_ENTRY_ZERO */
} __attribute__((packed));
#define MIG_ENTRY_MIN    8u                    /* wire bytes of a zero entry */
#define MIG_ENTRY_MAX    (8u + MIG_HASH)       /* of any other */

struct mig_hashes_hdr {
    uint32_t seq, kind, n, pad;
} __attribute__((packed));

struct mig_want_hdr {
    uint32_t seq, n;                           /* then (n + 7) / 8 bitmap bytes: bit i set = send entry i */
} __attribute__((packed));

enum mig_enc { MIG_ENC_RAW = 0, MIG_ENC_DEFLATE = 1 };   /* how a DATA frame's page travels */

struct mig_data_hdr {
    uint32_t kind, enc;                        /* enc: MIG_ENC_* */
    uint64_t index;                            /* then MIG_PAGE bytes (RAW), or fewer (DEFLATE: kernel/zpage.h) */
} __attribute__((packed));

struct mig_round {
    uint32_t round, pad;
    uint64_t dirty, sent_bytes;
} __attribute__((packed));

struct mig_state_hdr {
    uint32_t total, offset;                    /* then the chunk's bytes */
} __attribute__((packed));

/* The header: type and payload length, checked against that type's sizes. 0, or -EPROTO with why. */
int mig_hdr_parse(const uint8_t h[MIG_HDR], uint32_t *type, uint32_t *len, const char **why);
/* Write a header for type with len payload bytes. */
void mig_hdr_put(uint8_t h[MIG_HDR], uint32_t type, uint32_t len);

/*
 * Decoders of a payload the header check passed (len is that payload's). Each returns 0 or -EPROTO with
 * *why naming the bad field; nothing they return points outside p[0..len).
 */
int mig_hello_decode(const uint8_t *p, uint32_t len, struct mig_hello *h, const char **why);
/* HASHES: its n entries decoded into e[MIG_BATCH] (the walk must end exactly at len). */
int mig_hashes_decode(const uint8_t *p, uint32_t len, struct mig_hashes_hdr *h, struct mig_entry *e,
                      const char **why);
/* Write e's wire form at out (room for MIG_ENTRY_MAX); returns its length. */
uint32_t mig_entry_put(uint8_t *out, const struct mig_entry *e);
int mig_want_decode(const uint8_t *p, uint32_t len, struct mig_want_hdr *h, const uint8_t **bits,
                    const char **why);
/* DATA: *body is the page (RAW: MIG_PAGE bytes) or its deflate stream (DEFLATE: 1..MIG_PAGE-1 bytes, not yet
 * expanded: the caller does that, and refuses a stream that is not exactly one page); *body_len its length. */
int mig_data_decode(const uint8_t *p, uint32_t len, struct mig_data_hdr *h, const uint8_t **body,
                    uint32_t *body_len, const char **why);
int mig_state_decode(const uint8_t *p, uint32_t len, struct mig_state_hdr *h, const uint8_t **chunk,
                     const char **why);
/* A REFUSE's reason into out[n] (non-printable bytes become '?', always NUL-terminated). */
void mig_reason_decode(const uint8_t *p, uint32_t len, char *out, size_t n);
/* The i-th of argc NUL-separated words in a decoded HELLO's args (i < argc). */
const char *mig_hello_arg(const struct mig_hello *h, uint32_t i);
/* The name of a frame type, for messages. */
const char *mig_type_name(uint32_t type);
#endif
