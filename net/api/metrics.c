/* GET /metrics: the Prometheus text format (version 0.0.4): the host's families, then each resource's. */
#include "net/api/api.h"
#include "kernel/kernel.h"
#include "kernel/bootinfo.h"
#include "kernel/pmm.h"
#include "kernel/heap.h"
#include "kernel/shell.h"
#include "kernel/time.h"

void api_metric_family(struct jbuf *b, const char *name, const char *type, const char *help)
{
    jb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void api_metric(struct jbuf *b, const char *name, const char *labels, uint64_t value)
{
    jb_printf(b, "%s%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
              (unsigned long long)value);
}

/* A time in ns as seconds with millisecond precision (the base unit Prometheus asks for). */
void api_metric_seconds(struct jbuf *b, const char *name, const char *labels, uint64_t ns)
{
    uint64_t ms = ns / 1000000;
    jb_printf(b, "%s%s%s%s %llu.%03llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
              (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
}

void api_label(struct jbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            jb_raw(b, "\\", 1);
        if (*v == '\n')
            jb_raw(b, "\\n", 2);
        else
            jb_raw(b, v, 1);
    }
}

static void host(struct jbuf *b)
{
    struct pmm_stats ps;
    struct heap_stats hs;
    pmm_get_stats(&ps);
    heap_get_stats(&hs);
    api_metric_family(b, "shoal_host_memory_bytes", "gauge",
                      "Host memory by state: usable (the memory map), free and allocated pages, kernel heap in use.");
    api_metric(b, "shoal_host_memory_bytes", "state=\"usable\"", memmap_total_available(&boot_info));
    api_metric(b, "shoal_host_memory_bytes", "state=\"free\"", ps.free_pages * 4096);
    api_metric(b, "shoal_host_memory_bytes", "state=\"allocated\"", ps.alloc_pages * 4096);
    api_metric(b, "shoal_host_memory_bytes", "state=\"heap\"", hs.bytes_in_use);
    api_metric_family(b, "shoal_host_uptime_seconds", "gauge", "Time since the host booted.");
    api_metric_seconds(b, "shoal_host_uptime_seconds", "", time_ns());
    api_metric_family(b, "shoal_host_cpu_idle_seconds_total", "counter",
                      "Time the host CPU spent halted with nothing to run.");
    api_metric_seconds(b, "shoal_host_cpu_idle_seconds_total", "", shell_idle_ns());
    api_metric_family(b, "shoal_api_requests_total", "counter", "API requests answered, by outcome.");
    api_metric(b, "shoal_api_requests_total", "outcome=\"all\"", api_stats.requests);
    api_metric(b, "shoal_api_requests_total", "outcome=\"unauthorized\"", api_stats.unauthorized);
    api_metric(b, "shoal_api_requests_total", "outcome=\"error\"", api_stats.errors);
}

void api_metrics(struct api_resp *rs)
{
    const struct api_resource *const *res;
    int n = api_resources(&res);
    api_json(rs, 200);
    rs->type = "text/plain; version=0.0.4; charset=utf-8";
    host(&rs->b);
    for (int i = 0; i < n; i++)
        if (res[i]->metrics)
            res[i]->metrics(&rs->b);
}
