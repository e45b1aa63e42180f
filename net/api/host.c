/* GET /api/host: the host's CPU, memory, uptime and API counters, and the shell's `info` text. */
#include "net/api/api.h"
#include "arch/x86/cpuinfo.h"
#include "kernel/kernel.h"
#include "kernel/bootinfo.h"
#include "kernel/pmm.h"
#include "kernel/heap.h"
#include "kernel/shell.h"
#include "kernel/time.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"

#define INFO_MAX 4096

/* Secrets on the boot line (api_token=, migrate_key=, chap=...) never leave the host: values starred out. */
static void redact(char *s)
{
    static const char *const keys[] = { "token=", "key=", "chap=", NULL };
    for (char *p = s; *p; p++)
        for (const char *const *k = keys; *k; k++)
            if (!strncmp(p, *k, strlen(*k))) {
                p += strlen(*k);
                while (*p && *p != ' ' && *p != '\'' && *p != '"' && *p != '\n' && *p != ',')
                    *p++ = '*';
                p--;
                break;
            }
}

void api_host(struct api_req *rq, struct api_resp *rs)
{
    const struct cpu_info *ci = cpuinfo_get();
    struct pmm_stats ps;
    struct heap_stats hs;
    char virt[128], *info;
    char *argv[] = { "info" };
    if (rq->post || rq->nseg != 2) {
        api_error(rs, rq->post ? 405 : 404, rq->post ? "use GET" : "no such resource", NULL);
        return;
    }
    if (!(info = kmalloc(INFO_MAX))) {
        api_error(rs, 503, "out of memory", NULL);
        return;
    }
    if (api_shell(1, argv, info, INFO_MAX, 0))
        info[0] = 0;
    redact(info);
    pmm_get_stats(&ps);
    heap_get_stats(&hs);
    cpuinfo_virt_summary(virt, sizeof(virt));
    api_json(rs, 200);
    jb_open(&rs->b, '{');
    jb_ku64(&rs->b, "uptime_ms", time_ns() / 1000000);
    jb_ku64(&rs->b, "idle_ms", shell_idle_ns() / 1000000);
    jb_key(&rs->b, "cpu");
    jb_open(&rs->b, '{');
    jb_kstr(&rs->b, "vendor", ci->vendor);
    jb_kstr(&rs->b, "brand", ci->brand);
    jb_ku64(&rs->b, "count", 1);          /* the I/O context and every vCPU share CPU 0 (no SMP yet) */
    jb_kstr(&rs->b, "virtualization", virt);
    jb_close(&rs->b, '}');
    jb_key(&rs->b, "memory");
    jb_open(&rs->b, '{');
    jb_ku64(&rs->b, "usable_bytes", memmap_total_available(&boot_info));
    jb_ku64(&rs->b, "free_bytes", ps.free_pages * 4096);
    jb_ku64(&rs->b, "allocated_bytes", ps.alloc_pages * 4096);
    jb_ku64(&rs->b, "heap_bytes", hs.bytes_in_use);
    jb_close(&rs->b, '}');
    jb_key(&rs->b, "api");
    jb_open(&rs->b, '{');
    jb_ku64(&rs->b, "requests", api_stats.requests);
    jb_ku64(&rs->b, "unauthorized", api_stats.unauthorized);
    jb_ku64(&rs->b, "errors", api_stats.errors);
    jb_close(&rs->b, '}');
    jb_kstr(&rs->b, "info", info);
    jb_close(&rs->b, '}');
    jb_puts(&rs->b, "\n");
    kfree(info);
}
