# The image pool (catalog, boot-file loader, shell command, pool= boot parameter, block-hash index); its golden-disk
# readers are blk/fs/ (mk/blk-fs.mk).

# The seed scenario in shoal under QEMU against a real tgtd exporting the golden demo image.
TEST_TIERS += test-pool
.PHONY: test-pool
test-pool: $(BUILD)/shoal.elf golden-image
	@$(PYTHON) tests/integration/pool_tests.py --build $(BUILD) --golden $(GOLDEN_DIR)/demo.img

# The block-hash index (pool share) in the host kernel tier: its sort, share counts and lookup.
KERNEL_UNIT_SRC += pool/blockidx.c
KERNEL_UNIT_TESTS += tests/unit/test_pool_blockidx.c
