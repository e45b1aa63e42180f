/* Init hooks: subsystems register an init function and a level; kmain runs them in level order. */
#ifndef SHOAL_INIT_H
#define SHOAL_INIT_H

enum init_level { INIT_DRIVERS = 1, INIT_NET = 2, INIT_BLK = 3, INIT_POOL = 4, INIT_VMM = 5, INIT_LATE = 9 };

struct init_hook {
    int level;
    const char *name;
    int (*fn)(void);   /* 0, or negative errno: logged, boot goes on */
};

#define INIT_HOOK(level_, fn_) \
    static const struct init_hook hook_##fn_ = { level_, #fn_, fn_ }; \
    static const struct init_hook *const hook_ptr_##fn_ \
        __attribute__((used, section("init_hooks"))) = &hook_##fn_

/* Run every registered hook, lowest level first. */
void init_run_hooks(void);
#endif
