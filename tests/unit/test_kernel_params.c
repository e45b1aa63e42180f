/* Unit tests: command-line splitting, loader-prefix stripping, boot parameter application. */
#define TEST_SUITE "params"
#include "tests/unit/test.h"
#include "tests/unit/host_shim.h"
#include "kernel/param.h"
#include "kernel/errno.h"

TEST(split_words_and_quotes)
{
    char line[] = "  vm create  web1 cmdline=\"console=ttyS0 quiet\" mem=64M ";
    char *argv[8];
    int argc = args_split(line, argv, 8);
    CHECK_EQ(argc, 5);
    CHECK_STR(argv[0], "vm");
    CHECK_STR(argv[2], "web1");
    CHECK_STR(argv[3], "cmdline=console=ttyS0 quiet");
    CHECK_STR(argv[4], "mem=64M");
}

TEST(split_errors)
{
    char a[] = "a b c d";
    char b[] = "x=\"unterminated";
    char c[] = "   ";
    char d[] = "\"\"";
    char *argv[3];
    CHECK_EQ(args_split(a, argv, 3), -E2BIG);
    CHECK_EQ(args_split(b, argv, 3), -EINVAL);
    CHECK_EQ(args_split(c, argv, 3), 0);
    CHECK_EQ(args_split(d, argv, 3), 1);
    CHECK_STR(argv[0], "");
}

TEST(strip_loader_prefix)
{
    CHECK_STR(cmdline_strip_loader_path("build/shoal.elf console=ttyS0"), "console=ttyS0");
    CHECK_STR(cmdline_strip_loader_path("tftp://10.0.2.2/shoal.elf ip=dhcp"), "ip=dhcp");
    CHECK_STR(cmdline_strip_loader_path("/boot/shoal.elf"), "");
    CHECK_STR(cmdline_strip_loader_path("console=ttyS0 loglevel=3"), "console=ttyS0 loglevel=3");
    CHECK_STR(cmdline_strip_loader_path(""), "");
    CHECK_STR(cmdline_strip_loader_path("  ip=10.0.0.1/24"), "ip=10.0.0.1/24");
}

TEST(value_of_one_word)
{
    const char *w = "mem=64M";
    CHECK(param_value(w, "mem") == w + 4);
    CHECK_STR(param_value("ip=", "ip"), "");                  /* present and empty is not absent */
    CHECK_STR(param_value("cmdline+=a=b", "cmdline+"), "a=b");
    CHECK(param_value("memory=1G", "mem") == NULL);           /* a longer key is another key */
    CHECK(param_value("me=1", "mem") == NULL);
    CHECK(param_value("mem", "mem") == NULL);                 /* a flag without '=' has no value */
    CHECK(param_value("", "mem") == NULL);
    CHECK_STR(param_value("=x", ""), "x");
}

TEST(find_among_options)
{
    char *argv[] = { "vm", "create", "web1", "mem=64M", "guest=hello", "mem=128M", "vcpus" };
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    CHECK_STR(param_find(argc, argv, 3, "mem"), "64M");       /* the first one counts */
    CHECK_STR(param_find(argc, argv, 4, "mem"), "128M");      /* words before from are not options */
    CHECK_STR(param_find(argc, argv, 0, "guest"), "hello");
    CHECK(param_find(argc, argv, 5, "guest") == NULL);
    CHECK(param_find(argc, argv, 3, "vcpus") == NULL);
    CHECK(param_find(argc, argv, 3, "web1") == NULL);
    CHECK(param_find(argc, argv, argc, "mem") == NULL);
    CHECK(param_find(0, argv, 0, "mem") == NULL);
}

static char got_a[64];
static int got_b_calls;
static int set_a(const char *v) { snprintf(got_a, sizeof(got_a), "%s", v); return 0; }
static int set_b(const char *v) { got_b_calls++; return v[0] == 'o' ? 0 : -EINVAL; }
static const struct boot_param pa = { "alpha", "first", set_a }, pb = { "beta", "second", set_b };
static const struct boot_param *const table[] = { &pa, &pb };

TEST(apply_known_unknown_and_bad)
{
    host_console_clear();
    got_a[0] = 0;
    got_b_calls = 0;
    int bad = params_apply("alpha=\"x y\" gamma=1 beta=ok beta=no", table, 2);
    CHECK_EQ(bad, 2);
    CHECK_STR(got_a, "x y");
    CHECK_EQ(got_b_calls, 2);
    CHECK(strstr(host_console_text(), "unknown boot parameter 'gamma' ignored") != NULL);
    CHECK(strstr(host_console_text(), "boot parameter beta: bad value 'no' ignored") != NULL);
}

TEST(apply_survives_garbage)
{
    char big[2048];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK_EQ(params_apply(big, table, 2), 1);
    CHECK_EQ(params_apply("alpha=\"open", table, 2), 1);
    CHECK_EQ(params_apply("", table, 2), 0);
    CHECK_EQ(params_apply("=x", table, 2), 1);
}
