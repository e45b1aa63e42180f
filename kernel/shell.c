/* The serial shell: command table, dispatch, `help`, and the console read loop. */
#include "kernel/shell.h"
#include "kernel/biglock.h"
#include "kernel/lineedit.h"
#include "kernel/console.h"
#include "kernel/printf.h"
#include "kernel/param.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define SHELL_MAX_ARGS 32

static const struct shell_cmd *table[SHELL_MAX_CMDS];
static int ncmds;
static void (*poll_hooks[8])(void);
static int npoll;
static int (*pollers[16])(void);   /* 7 subsystems poll today; TLS and migration add more */
static int npollers;
static int (*divert_fn)(int c, void *arg);
static void *divert_arg;

void shell_divert_input(int (*fn)(int c, void *arg), void *arg)
{
    divert_arg = arg;
    divert_fn = fn;
}

int shell_register(const struct shell_cmd *cmd)
{
    if (!cmd || !cmd->name || !cmd->name[0] || !cmd->run)
        return -EINVAL;
    if (shell_find(cmd->name))
        return -EEXIST;
    if (ncmds == SHELL_MAX_CMDS)
        return -ENOSPC;
    /* Keep the table sorted by name so `help` lists alphabetically. */
    int i = ncmds++;
    for (; i > 0 && strcmp(table[i - 1]->name, cmd->name) > 0; i--)
        table[i] = table[i - 1];
    table[i] = cmd;
    return 0;
}

const struct shell_cmd *shell_find(const char *name)
{
    for (int i = 0; i < ncmds; i++)
        if (!strcmp(table[i]->name, name))
            return table[i];
    return NULL;
}

void shell_reset(void)
{
    ncmds = 0;
}

int shell_usage(const char *name)
{
    const struct shell_cmd *c = shell_find(name);
    kprintf("usage: %s %s\n", name, c ? c->usage : "");
    return -EINVAL;
}

static const char *errname(int err)
{
    switch (-err) {
    case EINVAL: return "invalid argument";
    case ENOENT: return "not found";
    case ENOMEM: return "out of memory";
    case EEXIST: return "already exists";
    case EBUSY: return "busy";
    case EIO: return "I/O error";
    case ETIMEDOUT: return "timed out";
    case ENOTSUP: return "not supported";
    case ENODEV: return "no such device";
    case EPERM: return "not permitted";
    default: return "error";
    }
}

int shell_exec(char *line)
{
    char *argv[SHELL_MAX_ARGS];
    int argc = args_split(line, argv, SHELL_MAX_ARGS);
    const struct shell_cmd *c;
    int rc;

    if (argc < 0) {
        kprintf("error: %s\n", argc == -E2BIG ? "too many arguments" : "unterminated quote");
        return argc;
    }
    if (argc == 0)
        return 0;
    c = shell_find(argv[0]);
    if (!c) {
        kprintf("error: unknown command '%s' (try 'help')\n", argv[0]);
        return -ENOENT;
    }
    unsigned errors = kprintf_error_lines();
    rc = c->run(argc, argv);
    if (rc < 0 && rc != -EINVAL && kprintf_error_lines() == errors)    /* unless the command said why */
        kprintf("error: %s: %s (%d)\n", argv[0], errname(rc), rc);
    return rc;
}

static void help_params(void)
{
    const struct boot_param *const *t;
    int n = params_table(&t);
    for (int i = 0; i < n; i++)
        kprintf("  %-14s %s\n", t[i]->key, t[i]->desc);
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 2)
        return shell_usage("help");
    if (argc == 2 && !strcmp(argv[1], "params")) {
        help_params();
        return 0;
    }
    if (argc == 2) {
        const struct shell_cmd *c = shell_find(argv[1]);
        if (!c) {
            kprintf("error: no command '%s'\n", argv[1]);
            return -ENOENT;
        }
        kprintf("%s %s\n  %s\n", c->name, c->usage, c->help);
        return 0;
    }
    for (int i = 0; i < ncmds; i++)
        kprintf("  %-10s %s\n", table[i]->name, table[i]->help);
    kprintf("  (help CMD for usage; help params for boot parameters)\n");
    return 0;
}
SHELL_COMMAND("help", "[CMD|params]", "list commands, or show one command's usage, or the boot parameters", cmd_help);

int shell_add_poller(int (*fn)(void))
{
    if (npollers == (int)(sizeof(pollers) / sizeof(pollers[0])))
        return -ENOSPC;
    pollers[npollers++] = fn;
    return 0;
}

static int (*waiting[4])(void);
static int nwaiting;

int shell_add_waiting(int (*fn)(void))
{
    if (nwaiting == (int)(sizeof(waiting) / sizeof(waiting[0])))
        return -ENOSPC;
    waiting[nwaiting++] = fn;
    return 0;
}

int shell_io_waiting(void)
{
    int most = 0;
    for (int i = 0; i < nwaiting && most < SHELL_WAIT_HANDED; i++) {
        int w = waiting[i]();
        if (w > most)
            most = w;
    }
    return most;
}

int shell_add_poll(void (*fn)(void))
{
    if (npoll == 8)
        return -ENOSPC;
    poll_hooks[npoll++] = fn;
    return 0;
}

#ifndef SHOAL_HOST
extern const struct shell_cmd *const __shell_cmds_start[], *const __shell_cmds_end[];

void shell_init(void)
{
    for (const struct shell_cmd *const *c = __shell_cmds_start; c < __shell_cmds_end; c++)
        if (shell_register(*c) < 0)
            log_warn("shell: command '%s' rejected (duplicate or table full)", (*c)->name);
}

static struct lineedit editor;
static uint64_t idle_ns;

uint64_t shell_idle_ns(void)
{
    return idle_ns;
}

void shell_loop(void)
{
    lineedit_init(&editor, console_write);
    kprintf("shoal> ");
    for (;;) {                            /* the big lock is held (kmain), but while halting and between rounds */
        int c;
        big_unlock();                     /* other CPUs' exits waiting for it go first (a ticket lock) */
        big_lock();
        c = console_getc();
        if (c < 0) {
            int worked = 0;
            for (int i = 0; i < npoll; i++)
                poll_hooks[i]();
            for (int i = 0; i < npollers; i++)
                worked |= pollers[i]();
            /* Nothing to do: sleep until the next interrupt (the timer ticks at least every 10 ms). Polled
             * devices (npoll) keep the loop awake, but it lets the lock go a while each idle round, so that a
             * CPU waiting to handle an exit never waits for this one's next round (or for the host to
             * schedule an emulated boot CPU that holds it). */
            if (!worked && !npoll) {
                uint64_t t0 = time_ns();
                big_unlock();
                __asm__ volatile("sti; hlt" ::: "memory");
                big_lock();
                idle_ns += time_ns() - t0;
            } else if (!worked) {
                big_unlock();
                for (int i = 0; i < 64; i++)
                    __asm__ volatile("pause");
                big_lock();
            }
            continue;
        }
        if (divert_fn) {
            if (divert_fn(c, divert_arg)) {
                divert_fn = NULL;
                kprintf("\nshoal> ");
            }
            continue;
        }
        if (lineedit_feed(&editor, c)) {
            char line[LINE_MAX_LEN];
            kstrlcpy(line, editor.buf, sizeof(line));
            shell_exec(line);
            kprintf("shoal> ");
        }
    }
}
#endif
