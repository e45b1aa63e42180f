# The copy-on-write overlay (blk/cow.c, blk/delta_ram.c; in the kernel through mk/kernel.mk's blk/ wildcard)
# and its host unit tier: a reference model over the mock base, heap counted by wrapping kmalloc/kfree.
BLK_COW_UNIT_SRC   := blk/blk.c blk/cow.c blk/delta_ram.c kernel/kstring.c tests/unit/blk_mock.c \
                      tests/unit/blk_tenant.c
BLK_COW_UNIT_TESTS := tests/unit/test_blk_cow.c
BLK_COW_WRAP       := -Wl,--wrap=kmalloc,--wrap=kzalloc,--wrap=kfree

$(BUILD)/unit/blk_cow_tests: $(BLK_COW_UNIT_TESTS) $(BLK_COW_UNIT_SRC) $(HOST_SHIM) $(wildcard blk/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(BLK_COW_WRAP) -DBLK_TENANT_NO_WRAP -o $@ \
	    $(BLK_COW_UNIT_TESTS) $(BLK_COW_UNIT_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-blk-cow
.PHONY: test-unit-blk-cow
test-unit-blk-cow: $(BUILD)/unit/blk_cow_tests
	@$(BUILD)/unit/blk_cow_tests
