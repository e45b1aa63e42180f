/* The host's clone-delta budget, set at boot: half the RAM free then (or delta_budget=) and a free-memory reserve. */
#include "blk/delta.h"
#include "kernel/errno.h"
#include "kernel/init.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/param.h"
#include "kernel/pmm.h"

#define DELTA_RESERVE_MIN_PAGES 4096ull        /* 16 MiB */
#define DELTA_RESERVE_DIVISOR   16             /* and at least 1/16 of RAM stays free */

static uint64_t budget_bytes;                  /* delta_budget=; 0: the default */
static uint64_t reserve_pages;

static int delta_param(const char *v)
{
    uint64_t b;
    if (kstrtou64(v, &b, 1) || b < DELTA_BLOCK_SIZE)
        return -EINVAL;
    budget_bytes = b;
    return 0;
}
BOOT_PARAM("delta_budget", "RAM all clones' disk deltas may use (SIZE; default half the RAM free at boot)",
           delta_param);

/* Whether the page allocator is down to the reserve (guests and the host need it more than deltas). */
static int delta_mem_low(void)
{
    struct pmm_stats st;
    pmm_get_stats(&st);
    return st.free_pages < reserve_pages;
}

static int delta_boot_init(void)
{
    struct pmm_stats st;
    uint64_t bytes;
    pmm_get_stats(&st);
    bytes = budget_bytes ? budget_bytes : st.free_pages * PAGE_SIZE / 2;
    reserve_pages = st.managed_pages / DELTA_RESERVE_DIVISOR;
    if (reserve_pages < DELTA_RESERVE_MIN_PAGES)
        reserve_pages = DELTA_RESERVE_MIN_PAGES;
    delta_ram_budget(bytes / DELTA_BLOCK_SIZE, delta_mem_low);
    log_info("blk: clone deltas may use %llu MiB; new delta blocks stop while under %llu MiB is free",
             (unsigned long long)(bytes >> 20), (unsigned long long)(reserve_pages * PAGE_SIZE >> 20));
    return 0;
}
INIT_HOOK(INIT_BLK, delta_boot_init);
