/* A deferring block layer: each request reaches the device below at the next poll, in flight meanwhile. */
#ifndef SHOAL_BLK_DEFER_H
#define SHOAL_BLK_DEFER_H

struct blk_dev;

/*
 * A device over below whose requests are queued (up to 64; more get -EAGAIN) and handed to below by
 * blk_defer_poll, so a guest's request is still in flight when its next instruction runs (the test
 * guests' disks: a RAM disk alone completes inside the notify). Closing it completes what is queued
 * with -ECANCELED and closes below. NULL when out of memory or below is NULL.
 */
struct blk_dev *blk_defer_create(struct blk_dev *below);
/* Hand every queued request of every deferring device to its device below. Returns how many. */
int blk_defer_poll(void);
#endif
