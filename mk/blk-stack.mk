# The block layers stacked as the pool stacks them (cow clones -> shared cache -> async base) and the
# synchronous helper over them, and the deferring layer test guests get, host tier (kmalloc wrapped to hand out
# memory holding old bytes).
BLK_STACK_SRC := blk/blk.c blk/cow.c blk/delta_ram.c blk/cache.c blk/sync.c blk/defer.c blk/ram.c kernel/kstring.c \
                 tests/unit/blk_mock.c tests/unit/blk_tenant.c \
                 tests/unit/test_main.c tests/unit/host_shim.c kernel/printf.c kernel/log.c kernel/timer.c kernel/param.c
$(eval $(call UNIT_TIER,blk-stack,blk_stack_tests,tests/unit/test_blk_stack.c tests/unit/test_blk_defer.c \
    $(BLK_STACK_SRC),$(wildcard blk/*.h tests/unit/*.h),-Wl$(comma)--wrap=kmalloc))
