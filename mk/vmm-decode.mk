# VMM instruction decoder/emulator and guest page walker: host unit tests and fuzzing.
VMM_DECODE_SRC := vmm/decode.c vmm/emulate.c vmm/gwalk.c vmm/regs.c
VMM_DECODE_HDR := vmm/decode.h vmm/gwalk.h vmm/regs.h
$(eval $(call UNIT_BIN,vmm_tests,tests/unit/test_vmm_decode.c tests/unit/test_vmm_gwalk.c $(VMM_DECODE_SRC) \
    $(HOST_SHIM) kernel/printf.c kernel/kstring.c,$(VMM_DECODE_HDR)))
$(eval $(call FUZZ_BIN,decode_fuzz,tests/fuzz/decode_fuzz.c $(VMM_DECODE_SRC),$(VMM_DECODE_HDR),-DUSE_LIBFUZZER))

# The unit tier runs the decoder's fuzzer too (15 s unless FUZZ_SECONDS is given), so it is written out.
TEST_TIERS += test-unit-vmm
.PHONY: test-unit-vmm fuzz-decode
test-unit-vmm: FUZZ_S = $(or $(FUZZ_SECONDS),15)
fuzz-decode: FUZZ_S = $(FUZZ_LONG)
test-unit-vmm: $(BUILD)/unit/vmm_tests $(BUILD)/fuzz/decode_fuzz
	@$(BUILD)/unit/vmm_tests
	@$(call FUZZ_RUN,decode_fuzz,vmm.decode_fuzz_$(FUZZ_S)s,$(FUZZ_S),-max_len=32)

# Longer fuzzing (make fuzz-decode, part of make fuzz).
fuzz-decode: $(BUILD)/fuzz/decode_fuzz
	@$(call FUZZ_RUN,decode_fuzz,vmm.decode_fuzz_$(FUZZ_S)s,$(FUZZ_S),-max_len=32)
fuzz: fuzz-decode
