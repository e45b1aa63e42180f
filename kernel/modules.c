/* Boot modules by name: what `vm create ... kernel=NAME` and `disk=NAME` refer to. */
#include "kernel/kernel.h"
#include "kernel/kstring.h"

/* Does the module string s name `name`: the whole string, its first word, or that word's basename? */
static int names(const char *s, const char *name)
{
    size_t n = strlen(name), w = 0;
    const char *base = s;
    if (!strcmp(s, name))
        return 1;
    while (s[w] && s[w] != ' ')
        w++;
    for (size_t i = 0; i < w; i++)
        if (s[i] == '/')
            base = s + i + 1;
    return (w == n && !strncmp(s, name, n)) || ((size_t)(s + w - base) == n && !strncmp(base, name, n));
}

const struct boot_module *boot_module_find(const char *name)
{
    for (int i = 0; i < boot_info.nmod; i++)
        if (names(boot_info.mod[i].name, name))
            return &boot_info.mod[i];
    return NULL;
}
