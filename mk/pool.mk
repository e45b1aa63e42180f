# The image pool (catalog, boot-file loader, shell command, pool= boot parameter); blk/fs/part.c and
# blk/fs/ext4*.c come from mk/blk-fs.mk.
KSRC += pool/pool.c pool/load.c pool/cmds.c pool/share.c pool/blockidx.c

# The seed scenario in shoal under QEMU against a real tgtd exporting the golden demo image.
TEST_TIERS += test-pool
.PHONY: test-pool
test-pool: $(BUILD)/shoal.elf golden-image
	@$(PYTHON) tests/integration/pool_tests.py --build $(BUILD) --golden $(GOLDEN_DIR)/demo.img

# The block-hash index (pool share) in the host kernel tier: its sort, share counts and lookup.
KERNEL_UNIT_SRC += pool/blockidx.c kernel/sha256.c
KERNEL_UNIT_TESTS += tests/unit/test_pool_blockidx.c
