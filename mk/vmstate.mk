# VM state records (vmm/vcpurec.c, vmm/vmstate.c): `vm move` under SVM+NPT (QEMU) and VMX+EPT (Bochs).
TEST_TIERS += test-vmstate
.PHONY: test-vmstate
test-vmstate: $(BUILD)/shoal.elf $(BUILD)/shoal.iso
	@$(PYTHON) tests/integration/vmstate_tests.py --build $(BUILD) --jobs 2
