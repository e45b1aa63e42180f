# Dirty-page tracking emulator tier: `vm dirty` over the dirtier32 test guest and a Linux guest with 2 vCPUs,
# each under SVM+NPT (QEMU) and VMX+EPT (Bochs, the Linux guest from shoal-linux.iso of mk/linux-vmx.mk).
TEST_TIERS += test-dirty
TIER_LIMIT_test-dirty ?= 1200
.PHONY: test-dirty
test-dirty: $(BUILD)/shoal.elf $(BUILD)/shoal.iso $(BUILD)/shoal-linux.iso guest-images
	@SHOAL_GUEST_DIR=$(GUEST_DIR) $(PYTHON) tests/integration/dirty_tests.py --build $(BUILD) --jobs 2
