/* Boot command line: word splitting, loader-prefix stripping, applying parameters; key=value lookup. */
#include "kernel/param.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define CMDLINE_MAX 1024
#define WORDS_MAX   64

static char last_cmdline[CMDLINE_MAX];

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int args_split(char *line, char **argv, int max)
{
    int argc = 0;
    char *r = line, *w = line;

    for (;;) {
        while (is_space(*r))
            r++;
        if (!*r)
            return argc;
        if (argc == max)
            return -E2BIG;
        argv[argc++] = w;
        /* Copy the word down, dropping quote characters and keeping quoted spaces. */
        for (int quoted = 0; *r && (quoted || !is_space(*r)); r++) {
            if (*r == '"')
                quoted = !quoted;
            else
                *w++ = *r;
            if (quoted && !r[1])
                return -EINVAL;
        }
        if (*r)
            r++;
        *w++ = 0;
    }
}

const char *param_value(const char *word, const char *key)
{
    size_t n = strlen(key);
    return !strncmp(word, key, n) && word[n] == '=' ? word + n + 1 : NULL;
}

const char *param_find(int argc, char *const *argv, int from, const char *key)
{
    for (int i = from; i < argc; i++) {
        const char *v = param_value(argv[i], key);
        if (v)
            return v;
    }
    return NULL;
}

const char *cmdline_strip_loader_path(const char *cmdline)
{
    const char *p = cmdline, *end;
    int has_eq = 0, looks_path = 0;

    while (is_space(*p))
        p++;
    for (end = p; *end && !is_space(*end); end++) {
        if (*end == '=')
            has_eq = 1;
        if (*end == '/' || *end == ':' || *end == '.')
            looks_path = 1;
    }
    if (end == p || has_eq || !looks_path)
        return p;
    while (is_space(*end))
        end++;
    return end;
}

static const struct boot_param *find_param(const char *key, size_t klen,
                                           const struct boot_param *const *params, int n)
{
    for (int i = 0; i < n; i++)
        if (strlen(params[i]->key) == klen && !strncmp(params[i]->key, key, klen))
            return params[i];
    return NULL;
}

int params_apply(const char *cmdline, const struct boot_param *const *params, int n)
{
    char buf[CMDLINE_MAX];
    char *argv[WORDS_MAX];
    int argc, bad = 0;

    if (strlen(cmdline) >= sizeof(buf)) {
        log_warn("boot command line longer than %d bytes: ignored", CMDLINE_MAX - 1);
        return 1;
    }
    kstrlcpy(buf, cmdline, sizeof(buf));
    argc = args_split(buf, argv, WORDS_MAX);
    if (argc < 0) {
        log_warn("boot command line: %s", argc == -E2BIG ? "too many words" : "unterminated quote");
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        const struct boot_param *p = find_param(argv[i], klen, params, n);
        if (!p) {
            log_warn("unknown boot parameter '%.*s' ignored", (int)klen, argv[i]);
            bad++;
        } else if (p->set(eq ? eq + 1 : "") < 0) {
            log_warn("boot parameter %s: bad value '%s' ignored", p->key, eq ? eq + 1 : "");
            bad++;
        }
    }
    return bad;
}

#ifndef SHOAL_HOST
extern const struct boot_param *const __boot_params_start[], *const __boot_params_end[];

int params_table(const struct boot_param *const **out)
{
    *out = __boot_params_start;
    return (int)(__boot_params_end - __boot_params_start);
}

int params_apply_boot(const char *cmdline)
{
    const struct boot_param *const *t;
    int n = params_table(&t);
    kstrlcpy(last_cmdline, cmdline, sizeof(last_cmdline));
    return params_apply(cmdline, t, n);
}
#endif

int params_lookup(const char *key, char *buf, int size)
{
    char tmp[CMDLINE_MAX];
    char *argv[WORDS_MAX];
    const char *v;
    int argc;

    kstrlcpy(tmp, last_cmdline, sizeof(tmp));
    argc = args_split(tmp, argv, WORDS_MAX);
    for (int i = argc - 1; i >= 0; i--)            /* the last one counts, as params_apply applies them */
        if ((v = param_value(argv[i], key))) {
            kstrlcpy(buf, v, (size_t)size);
            return 0;
        }
    return -ENOENT;
}
