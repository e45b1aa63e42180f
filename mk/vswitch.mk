# The virtual switch's fuzz tier (its unit tests are in test-unit-virtio): hostile frames on every port.
VSWITCH_FUZZ_SRC := tests/fuzz/vswitch_fuzz.c net/vswitch.c kernel/kstring.c tests/unit/host_shim.c \
                    kernel/printf.c kernel/log.c kernel/param.c kernel/timer.c
VSWITCH_FUZZ_SECONDS ?= 10
VSWITCH_FUZZ_LOG = $(BUILD)/fuzz/vswitch_fuzz.log

$(BUILD)/fuzz/vswitch_fuzz: $(VSWITCH_FUZZ_SRC) net/vswitch.h
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -Wall -Wextra -Werror $(FUZZ_SANITIZE) -o $@ $(VSWITCH_FUZZ_SRC)

TEST_TIERS += test-fuzz-vswitch
.PHONY: test-fuzz-vswitch fuzz-vswitch
test-fuzz-vswitch: $(BUILD)/fuzz/vswitch_fuzz
	@mkdir -p $(BUILD)/fuzz/vswitch_corpus
	@if $(BUILD)/fuzz/vswitch_fuzz -seed=1 -max_len=4096 -artifact_prefix=$(BUILD)/fuzz/vswitch- -max_total_time=$(VSWITCH_FUZZ_SECONDS) -print_final_stats=0 \
	    $(BUILD)/fuzz/vswitch_corpus > $(VSWITCH_FUZZ_LOG) 2>&1; then echo "PASS vswitch.fuzz_$(VSWITCH_FUZZ_SECONDS)s"; \
	 else tail -n 40 $(VSWITCH_FUZZ_LOG); echo "FAIL vswitch.fuzz_$(VSWITCH_FUZZ_SECONDS)s"; exit 1; fi

# Longer fuzzing: make fuzz-vswitch [VSWITCH_FUZZ_LONG=N]
fuzz: fuzz-vswitch
fuzz-vswitch:
	@$(MAKE) --no-print-directory test-fuzz-vswitch VSWITCH_FUZZ_SECONDS=$(or $(VSWITCH_FUZZ_LONG),600)
