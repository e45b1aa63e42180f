# Dirty-page tracking emulator tier: `vm dirty` over the dirtier32 test guest under SVM+NPT (QEMU) and VMX+EPT (Bochs).
TEST_TIERS += test-dirty
.PHONY: test-dirty
test-dirty: $(BUILD)/shoal.elf $(BUILD)/shoal.iso
	@$(PYTHON) tests/integration/dirty_tests.py --build $(BUILD) --jobs 2
