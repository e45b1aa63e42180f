# Multi-CPU hosts (issue 13): AP bring-up, `cpus`, maxcpus= under QEMU multi-threaded TCG (SVM) and Bochs SMP (VMX).
TEST_TIERS += test-smp
.PHONY: test-smp
test-smp: $(BUILD)/shoal.elf $(BUILD)/shoal.iso $(BUILD)/shoal-linux.iso guest-images golden-image
	@SHOAL_GUEST_DIR=$(GUEST_DIR) SHOAL_GOLDEN=$(GOLDEN_DIR)/demo.img \
	    $(PYTHON) tests/integration/smp_tests.py --build $(BUILD) --jobs 2
