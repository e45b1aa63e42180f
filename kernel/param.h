/* Boot parameters: registered `key=value` words of the boot command line; key=value lookup in any words. */
#ifndef SHOAL_PARAM_H
#define SHOAL_PARAM_H

struct boot_param {
    const char *key;
    const char *desc;                     /* one line for `help params` */
    int (*set)(const char *value);        /* 0, or negative errno: the value is rejected with a warning */
};

/* Register a boot parameter from any subsystem; the table is collected by the linker. */
#define BOOT_PARAM(key_, desc_, fn_) \
    static const struct boot_param param_##fn_ = { key_, desc_, fn_ }; \
    static const struct boot_param *const param_ptr_##fn_ \
        __attribute__((used, section("boot_params"))) = &param_##fn_

/*
 * Split a command line into words (double quotes group, `key="a b"` keeps the quotes' content as the
 * value) in place. Stores at most max pointers into argv. Returns the word count, or -E2BIG when there
 * are more than max words, or -EINVAL for an unterminated quote.
 */
int args_split(char *line, char **argv, int max);

/* The value of word when it reads key=VALUE (a pointer into word, maybe empty), else NULL. */
const char *param_value(const char *word, const char *key);

/*
 * The value of the first word of argv[from..argc) that reads key=VALUE (a pointer into that word), or
 * NULL when none does: the options of a shell command such as `vm create NAME ... mem=64M`.
 */
const char *param_find(int argc, char *const *argv, int from, const char *key);

/*
 * Drop the loader's leading word when it is a path or URL (QEMU: "path args", iPXE: "URL args";
 * GRUB passes only args). Returns a pointer into cmdline at the first real parameter.
 */
const char *cmdline_strip_loader_path(const char *cmdline);

/*
 * Apply every key=value word of cmdline through the table [params, params + n). Unknown keys and
 * rejected values are warned about (never fatal). Returns the number of words that were not applied.
 */
int params_apply(const char *cmdline, const struct boot_param *const *params, int n);

/* Apply cmdline through the linker-collected table. */
int params_apply_boot(const char *cmdline);

/* The linker-collected table, for `help params`. */
int params_table(const struct boot_param *const **out);

/* Value of key in the boot command line applied last, copied into buf; -ENOENT when absent. */
int params_lookup(const char *key, char *buf, int size);
#endif
