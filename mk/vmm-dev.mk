# Emulated interrupt chips and legacy devices of guest platforms (vmm/dev/), the host CMOS clock, and their unit tier.
VMM_DEV_SRC := vmm/dev/ns16550.c vmm/dev/lapic.c vmm/dev/ioapic.c vmm/dev/irqchip.c vmm/dev/i8259.c \
               vmm/dev/i8254.c vmm/dev/mc146818.c vmm/dev/i8042.c
KSRC += $(VMM_DEV_SRC)

VMM_DEV_TESTS := $(wildcard tests/unit/test_vmm_dev_*.c)
VMM_DEV_SHIM  := tests/unit/test_main.c tests/unit/vmm_dev_shim.c vmm/devreg.c kernel/timer.c drivers/cmos.c

$(BUILD)/unit/vmm_dev_tests: $(VMM_DEV_TESTS) $(VMM_DEV_SRC) $(VMM_DEV_SHIM) $(wildcard vmm/dev/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(VMM_DEV_TESTS) $(VMM_DEV_SRC) $(VMM_DEV_SHIM)

TEST_TIERS += test-unit-vmm-dev
.PHONY: test-unit-vmm-dev
test-unit-vmm-dev: $(BUILD)/unit/vmm_dev_tests
	@$(BUILD)/unit/vmm_dev_tests
