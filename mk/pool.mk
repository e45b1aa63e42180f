# The image pool (catalog, boot-file loader, shell command, pool= boot parameter); pool/part.c and
# pool/ext4*.c come from mk/pool-fs.mk.
KSRC += pool/pool.c pool/load.c pool/cmds.c

# The seed scenario in shoal under QEMU against a real tgtd exporting the golden demo image.
TEST_TIERS += test-pool
.PHONY: test-pool
test-pool: $(BUILD)/shoal.elf golden-image
	@$(PYTHON) tests/integration/pool_tests.py --build $(BUILD) --golden $(GOLDEN_DIR)/demo.img
