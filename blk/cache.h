/* The shared golden cache: one bounded, single-flight, read-ahead LRU read cache over a read-only base blk_dev. */
#ifndef SHOAL_BLK_CACHE_H
#define SHOAL_BLK_CACHE_H
#include <stdint.h>

struct blk_dev;

/*
 * Cache line: 64 KiB. The base is an iSCSI LUN across the network, where a 4 KiB and a 64 KiB READ cost
 * nearly the same round trip; guests boot by reading files in clusters, so one 64 KiB line answers
 * about sixteen 4 KiB guest reads with one round trip, and the line table stays small (16384 entries per
 * GiB of cache). Larger lines would waste cache on random reads and lengthen each miss.
 */
#define CACHE_LINE_BYTES     (64u * 1024u)
#define CACHE_MIN_LINES      8u            /* smallest cache: 512 KiB */
#define CACHE_REQS           128           /* requests served at once; more are parked (per client) */
#define CACHE_CLIENTS        32            /* clients (blk_req.origin) tracked apart; more share entries */
#define CACHE_CLIENT_REQS    (CACHE_REQS * 3 / 4)   /* slots one client may hold: the rest stay for others */
#define CACHE_FETCHES_MAX    64            /* base reads in flight at once */
#define CACHE_FETCH_LINES    8             /* lines one base read may fill (<= BLK_MAX_IOV) */
#define CACHE_RA_LINES       8             /* read-ahead window, also bounded by a quarter of the lines */
#define CACHE_STREAMS        8             /* sequential streams tracked at once (one per reading clone) */
#define CACHE_MAX_TRIES      8             /* base completions with -EAGAIN before a line read fails -EIO */

struct cache_stats {
    uint64_t hits;             /* request x line touches served from a valid line */
    uint64_t misses;           /* lines a request had to fetch itself */
    uint64_t joins;            /* touches of a line another request or read-ahead was already fetching */
    uint64_t base_reads;       /* read requests accepted by the base */
    uint64_t bytes_fetched;    /* bytes the base delivered successfully */
    uint64_t readahead;        /* lines fetched by read-ahead */
    uint64_t readahead_used;   /* of those, lines a request later read */
    uint64_t evictions;        /* valid lines dropped to make room */
    uint64_t lines;            /* lines in the cache */
    uint64_t lines_used;       /* lines holding or fetching data */
    uint64_t bytes;            /* lines * CACHE_LINE_BYTES */
};

/*
 * A shared read cache of cache_bytes (rounded down to whole lines, and no more lines than the base has)
 * over base, which must outlive it. Returns a read-only blk_dev of the base's size, or NULL with *err:
 * -EINVAL (no base, cache_bytes below CACHE_MIN_LINES lines), -ENOMEM. Every line and request context
 * is allocated here; submit never allocates.
 * Reads complete with 0, or the base's error for the lines that failed (-EIO; -ECANCELED at close);
 * writes and discards are refused with -EROFS, flushes complete at once. A read is never refused for
 * want of room: each client (requests with one blk_req.origin, e.g. one clone) holds at most
 * CACHE_CLIENT_REQS of the CACHE_REQS slots; reads beyond are parked in the client's own queue, and each
 * freed slot goes to the next client with a parked read, round-robin. So one client's flood delays
 * another client's read by at most a few slot turns and never parks it for good.
 * Close: every outstanding request of the cache's users completes with -ECANCELED before close
 * returns; base reads still in flight keep the cache's memory until the base completes (or cancels)
 * them, then it is freed. Nothing is sent to the base after close.
 */
struct blk_dev *cache_create(struct blk_dev *base, uint64_t cache_bytes, const char *name, int *err);

/* Copy dev's counters into *st. Returns 0, or -EINVAL when dev is not a cache. */
int cache_get_stats(struct blk_dev *dev, struct cache_stats *st);
#endif
