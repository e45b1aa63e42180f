# The copy-on-write overlay (blk/cow.c, blk/delta_ram.c) and its host unit tier: a reference model over the mock
# base, heap counted by wrapping kmalloc/kfree; the tests (by responsibility: the model, single requests, space)
# share tests/unit/blk_cow_fixture.c.
BLK_COW_UNIT_SRC   := blk/blk.c blk/cow.c blk/delta_ram.c kernel/kstring.c tests/unit/blk_mock.c \
                      tests/unit/blk_tenant.c tests/unit/blk_cow_fixture.c
BLK_COW_UNIT_TESTS := $(wildcard tests/unit/test_blk_cow*.c)
BLK_COW_FLAGS      := -Wl,--wrap=kmalloc,--wrap=kzalloc,--wrap=kfree -DBLK_TENANT_NO_WRAP
$(eval $(call UNIT_TIER,blk-cow,blk_cow_tests,$(BLK_COW_UNIT_TESTS) $(BLK_COW_UNIT_SRC) $(HOST_SHIM),\
    $(wildcard blk/*.h tests/unit/*.h),$(BLK_COW_FLAGS)))
