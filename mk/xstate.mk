# XCR0 validation (arch/x86/xcr0.c): the host unit tier of the rules the XSETBV exit enforces.
XCR0_UNIT_SRC := arch/x86/xcr0.c tests/unit/test_main.c

$(BUILD)/unit/xcr0_tests: tests/unit/test_xcr0.c $(XCR0_UNIT_SRC) arch/x86/xstate.h tests/unit/test.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_xcr0.c $(XCR0_UNIT_SRC)

TEST_TIERS += test-unit-xcr0
.PHONY: test-unit-xcr0
test-unit-xcr0: $(BUILD)/unit/xcr0_tests
	@$(BUILD)/unit/xcr0_tests
