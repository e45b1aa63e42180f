# vCPU core emulator tests: every test guest under SVM+NPT (QEMU) and VMX+EPT (Bochs), both in one run.
TEST_TIERS += test-vmm
.PHONY: test-vmm
test-vmm: $(BUILD)/shoal.elf $(BUILD)/shoal.iso
	@$(PYTHON) tests/integration/vmm_tests.py --build $(BUILD) --jobs 2
