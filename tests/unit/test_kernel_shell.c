/* Unit tests: the shell's line editor and command table. */
#define TEST_SUITE "shell"
#include "tests/unit/test.h"
#include "tests/unit/host_shim.h"
#include "kernel/lineedit.h"
#include "kernel/shell.h"
#include "kernel/errno.h"
#include "kernel/printf.h"

static char echoed[4096];
static size_t echoed_len;
static void echo(const char *s, size_t n)
{
    if (echoed_len + n < sizeof(echoed)) {
        memcpy(echoed + echoed_len, s, n);
        echoed_len += n;
        echoed[echoed_len] = 0;
    }
}

/* Feed a string; return the completed line (last one), or NULL if none completed. */
static const char *feed(struct lineedit *le, const char *in)
{
    static char line[LINE_MAX_LEN];
    const char *done = NULL;
    for (; *in; in++)
        if (lineedit_feed(le, (unsigned char)*in)) {
            snprintf(line, sizeof(line), "%s", le->buf);
            done = line;
        }
    return done;
}

TEST(plain_line_and_echo)
{
    struct lineedit le;
    echoed_len = 0;
    lineedit_init(&le, echo);
    CHECK_STR(feed(&le, "help\r"), "help");
    CHECK(strstr(echoed, "help\r\n") != NULL);
    CHECK(feed(&le, "partial") == NULL);
}

TEST(backspace_and_ctrl_u)
{
    struct lineedit le;
    lineedit_init(&le, echo);
    CHECK_STR(feed(&le, "mex\x7fm\r"), "mem");
    CHECK_STR(feed(&le, "garbage\x15info\r"), "info");
    CHECK_STR(feed(&le, "\x7f\x7f\bx\r"), "x");           /* backspace on empty line is harmless */
}

TEST(cursor_left_right_insert)
{
    struct lineedit le;
    lineedit_init(&le, echo);
    /* type "hlp", go left twice, insert 'e' -> "help" */
    CHECK_STR(feed(&le, "hlp\x1b[D\x1b[De\r"), "help");
    /* left at start and right at end are ignored */
    CHECK_STR(feed(&le, "\x1b[Dab\x1b[C\x1b[C\x1b[Dx\r"), "axb");
    /* backspace in the middle */
    CHECK_STR(feed(&le, "abcd\x1b[D\x1b[D\x7f\r"), "acd");
}

TEST(history_up_down)
{
    struct lineedit le;
    lineedit_init(&le, echo);
    feed(&le, "first\r");
    feed(&le, "second\r");
    CHECK_STR(feed(&le, "\x1b[A\r"), "second");
    CHECK_STR(feed(&le, "\x1b[A\x1b[A\x1b[A\r"), "first");  /* up past the oldest stays there */
    /* history is now first, second, first: up, up, down lands on the newest "first" */
    CHECK_STR(feed(&le, "\x1b[A\x1b[A\x1b[B\r"), "first");
    CHECK_STR(feed(&le, "typed\x1b[A\x1b[B\r"), "");          /* down past newest: empty new line */
    CHECK_EQ(le.hist_count, 3);          /* the repeated "second" and the empty line were not added */
}

TEST(overlong_line_truncated)
{
    struct lineedit le;
    char in[LINE_MAX_LEN * 2 + 2];
    lineedit_init(&le, echo);
    memset(in, 'a', sizeof(in) - 2);
    in[sizeof(in) - 2] = '\r';
    in[sizeof(in) - 1] = 0;
    const char *line = feed(&le, in);
    CHECK(line != NULL);
    CHECK_EQ(strlen(line), LINE_MAX_LEN - 1);
}

static int last_argc;
static char last_arg1[32];
static int run_echo(int argc, char **argv)
{
    last_argc = argc;
    snprintf(last_arg1, sizeof(last_arg1), "%s", argc > 1 ? argv[1] : "");
    return argc > 3 ? -EIO : 0;
}
static const struct shell_cmd c_echo = { "echo", "[ARG]", "echo things", run_echo };
static const struct shell_cmd c_echo2 = { "echo", "", "duplicate", run_echo };
static const struct shell_cmd c_abc = { "abc", "", "first alphabetically", run_echo };
static const struct shell_cmd c_noname = { "", "", "", run_echo };

TEST(table_register_find_duplicate)
{
    shell_reset();
    CHECK_EQ(shell_register(&c_echo), 0);
    CHECK_EQ(shell_register(&c_echo2), -EEXIST);
    CHECK_EQ(shell_register(&c_noname), -EINVAL);
    CHECK_EQ(shell_register(NULL), -EINVAL);
    CHECK_EQ(shell_register(&c_abc), 0);
    CHECK(shell_find("echo") == &c_echo);
    CHECK(shell_find("ech") == NULL);
}

TEST(table_full)
{
    static struct shell_cmd many[SHELL_MAX_CMDS + 1];
    static char names[SHELL_MAX_CMDS + 1][16];
    shell_reset();
    for (int i = 0; i <= SHELL_MAX_CMDS; i++) {
        snprintf(names[i], sizeof(names[i]), "c%d", i);
        many[i] = (struct shell_cmd){ names[i], "", "", run_echo };
        CHECK_EQ(shell_register(&many[i]), i < SHELL_MAX_CMDS ? 0 : -ENOSPC);
    }
}

TEST(exec_dispatch_and_errors)
{
    char l1[] = "echo \"hello world\"", l2[] = "nosuch x", l3[] = "   ", l4[] = "echo a b c", l5[] = "echo \"x";
    shell_reset();
    shell_register(&c_echo);
    host_console_clear();
    CHECK_EQ(shell_exec(l1), 0);
    CHECK_EQ(last_argc, 2);
    CHECK_STR(last_arg1, "hello world");
    CHECK_EQ(shell_exec(l2), -ENOENT);
    CHECK(strstr(host_console_text(), "error: unknown command 'nosuch'") != NULL);
    CHECK_EQ(shell_exec(l3), 0);
    CHECK_EQ(shell_exec(l4), -EIO);
    CHECK(strstr(host_console_text(), "error: echo: I/O error") != NULL);
    CHECK(shell_exec(l5) < 0);
    CHECK(strstr(host_console_text(), "unterminated quote") != NULL);
}

static int run_says_why(int argc, char **argv)
{
    (void)argc;
    kprintf("error: %s: the disk is on fire\n", argv[0]);
    return -EIO;
}
static const struct shell_cmd c_why = { "why", "", "fails and says why", run_says_why };

TEST(command_that_says_why_gets_no_second_error_line)
{
    char l1[] = "why", l2[] = "echo a b c";
    shell_reset();
    shell_register(&c_why);
    shell_register(&c_echo);
    host_console_clear();
    CHECK_EQ(shell_exec(l1), -EIO);
    CHECK_STR(host_console_text(), "error: why: the disk is on fire\n");
    host_console_clear();
    CHECK_EQ(shell_exec(l2), -EIO);                /* silent failure: the shell names the error */
    CHECK(strstr(host_console_text(), "error: echo: I/O error (-5)") != NULL);
}
