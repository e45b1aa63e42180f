/* The `api` shell command and the api=, api_listen=, api_token=, api_cert=, api_key= boot parameters. */
#include "net/api/api.h"
#include "net/api/server.h"
#include "lwip/ip4_addr.h"
#include "lwip/def.h"
#include "lwip/stats.h"
#include "lwip/memp.h"
#include "kernel/shell.h"
#include "kernel/param.h"
#include "kernel/init.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"

static enum api_mode boot_mode = API_OFF;
static int boot_mode_given;
static uint32_t boot_addr;
static uint16_t boot_port;

static const char *mode_name(enum api_mode m)
{
    return m == API_HTTPS ? "https" : m == API_HTTP ? "http" : "off";
}

/* [ADDR:]PORT into *addr (0: every address) and *port. 0 or -EINVAL. */
static int parse_listen(const char *s, uint32_t *addr, uint16_t *port)
{
    char buf[32];
    const char *colon = strrchr(s, ':');
    uint64_t p;
    ip4_addr_t ip;
    *addr = 0;
    if (colon) {
        size_t n = (size_t)(colon - s);
        if (n == 0 || n >= sizeof(buf))
            return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (!ip4addr_aton(buf, &ip))
            return -EINVAL;
        *addr = ip4_addr_get_u32(&ip);
        s = colon + 1;
    }
    if (kstrtou64(s, &p, 0) || p == 0 || p > 65535)
        return -EINVAL;
    *port = (uint16_t)p;
    return 0;
}

static int start(enum api_mode m, uint32_t addr, uint16_t port)
{
    ip4_addr_t ip;
    int rc;
    if (!port)
        port = m == API_HTTPS ? 443 : 80;
    rc = api_listen(m, addr, port);
    ip4_addr_set_u32(&ip, addr);
    if (rc)
        kprintf("error: api: cannot listen on %s:%u (%s)\n", ip4addr_ntoa(&ip), port,
                rc == -EADDRINUSE ? "address in use" : rc == -EIO ? "no certificate" : "out of memory");
    else
        kprintf("api: %s on %s:%u%s\n", mode_name(m), ip4addr_ntoa(&ip), port,
                api_auth_configured() ? "" : " (no token yet: every request gets 401; set one with `api token`)");
    return rc;
}

static int status(void)
{
    uint32_t addr;
    uint16_t port;
    enum api_mode m = api_running(&addr, &port);
    ip4_addr_t ip;
    ip4_addr_set_u32(&ip, addr);
    if (m == API_OFF)
        kprintf("api: off\n");
    else
        kprintf("api: %s on %s:%u\n", mode_name(m), ip4addr_ntoa(&ip), port);
    kprintf("token: %s\n", api_auth_configured() ? "set" : "not set");
    if (api_cert_fingerprint()[0])
        kprintf("certificate: SHA-256 %s\n", api_cert_fingerprint());
    kprintf("requests: %llu, unauthorized %llu, errors %llu, refused %llu\n",
            (unsigned long long)api_stats.requests, (unsigned long long)api_stats.unauthorized,
            (unsigned long long)api_stats.errors, (unsigned long long)api_stats.refused);
    /* lwIP's pools the API's connections draw on (a leak shows here first). */
    kprintf("lwip: tcp pcbs %u/%u, altcp pcbs %u/%u, heap %u/%u bytes\n",
            (unsigned)lwip_stats.memp[MEMP_TCP_PCB]->used, (unsigned)lwip_stats.memp[MEMP_TCP_PCB]->avail,
            (unsigned)lwip_stats.memp[MEMP_ALTCP_PCB]->used, (unsigned)lwip_stats.memp[MEMP_ALTCP_PCB]->avail,
            (unsigned)lwip_stats.mem.used, (unsigned)lwip_stats.mem.avail);
    return 0;
}

static int cmd_api(int argc, char **argv)
{
    enum api_mode m = API_HTTPS;
    uint32_t addr = 0;
    uint16_t port = 0;
    if (argc == 1 || (argc == 2 && !strcmp(argv[1], "status")))
        return status();
    if (argc == 3 && !strcmp(argv[1], "token")) {
        if (api_auth_set(argv[2])) {
            kprintf("error: api token: give 8 to %d characters of A-Z a-z 0-9 - . _ ~ + / =\n", HTTP_TOKEN_MAX);
            return -EINVAL;
        }
        kprintf("api: token set\n");
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "stop")) {
        api_stop();
        kprintf("api: off\n");
        return 0;
    }
    if (argc >= 2 && argc <= 4 && !strcmp(argv[1], "start")) {
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "http"))
                m = API_HTTP;
            else if (!strcmp(argv[i], "https"))
                m = API_HTTPS;
            else if (parse_listen(argv[i], &addr, &port))
                return shell_usage("api");
        }
        return start(m, addr, port);
    }
    return shell_usage("api");
}
SHELL_COMMAND("api", "[status] | token TOKEN | start [https|http] [[ADDR:]PORT] | stop",
              "the HTTPS management API: JSON under /api/, /metrics, the status page at /", cmd_api);

static int param_api(const char *v)
{
    if (!strcmp(v, "https"))
        boot_mode = API_HTTPS;
    else if (!strcmp(v, "http"))
        boot_mode = API_HTTP;
    else if (!strcmp(v, "off"))
        boot_mode = API_OFF;
    else
        return -EINVAL;
    boot_mode_given = 1;
    return 0;
}
BOOT_PARAM("api", "https|http|off: the management API (default https once api_token= is given)", param_api);

static int param_listen(const char *v)
{
    return parse_listen(v, &boot_addr, &boot_port);
}
BOOT_PARAM("api_listen", "[ADDR:]PORT: where the API listens (default every address, port 443; 80 for http)",
           param_listen);

static int param_token(const char *v)
{
    return api_auth_set(v);
}
BOOT_PARAM("api_token", "the API's bearer token (8-128 characters of A-Z a-z 0-9 - . _ ~ + / =)", param_token);

static int param_module(char *dst, const char *v)
{
    if (!*v || kstrlcpy(dst, v, 64) >= 64)
        return -EINVAL;
    return 0;
}

static int param_cert(const char *v)
{
    return param_module(api_cert_module, v);
}
BOOT_PARAM("api_cert", "MODULE: the API's TLS certificate (PEM or DER boot module; default self-signed)", param_cert);

static int param_key(const char *v)
{
    return param_module(api_key_module, v);
}
BOOT_PARAM("api_key", "MODULE: the private key (EC P-256, PEM or DER boot module) for api_cert=", param_key);

static int api_init(void)
{
    int rc = shell_add_poller(api_poll);
    if (rc)
        kprintf("error: api: no shell poller slot: POST requests will not be answered\n");
    if (!boot_mode_given && api_auth_configured())
        boot_mode = API_HTTPS;
    if (boot_mode != API_OFF)
        start(boot_mode, boot_addr, boot_port);
    return 0;
}
INIT_HOOK(INIT_LATE, api_init);
