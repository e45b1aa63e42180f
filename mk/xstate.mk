# XCR0 validation (arch/x86/xcr0.c): the host unit tier of the rules the XSETBV exit enforces.
XCR0_UNIT_SRC := arch/x86/xcr0.c tests/unit/test_main.c
$(eval $(call UNIT_TIER,xcr0,xcr0_tests,tests/unit/test_xcr0.c $(XCR0_UNIT_SRC),arch/x86/xstate.h tests/unit/test.h))
