/* iscsi-read's timed benchmark mode (the shoal side of tools/bench-iscsi.sh). */
#ifndef SHOAL_ISCSI_PERF_H
#define SHOAL_ISCSI_PERF_H
#include <stdint.h>
#include "tools/iscsi/posix.h"

struct perf_opts {
    int qd;            /* reads kept in flight, 1..ISCSI_MAX_TASKS-1 */
    uint32_t bs;       /* bytes per read, a multiple of the LUN's block size */
    double secs;       /* how long to keep submitting */
    int random;        /* 0: sequential, wrapping at the end of the LUN; 1: uniformly random bs-aligned */
    uint64_t seed;     /* random mode's seed (0 means 1): the same seed reads the same offsets */
};

/*
 * Keep o->qd reads of o->bs bytes in flight on dev for o->secs seconds, then wait for the last ones and
 * print one line "perf: MODE bs=B qd=Q S s: N reads, I IOPS, M MB/s" (MB = 10^6 bytes) on stdout.
 * Returns 0, or 1 after an error message when a read fails or cannot be submitted.
 */
int perf_run(struct posix_conn *pc, struct blk_dev *dev, const struct perf_opts *o);
#endif
