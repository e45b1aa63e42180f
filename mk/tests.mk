# Test tiers. Each tier is a make target printing `PASS name` / `FAIL name` lines; tests/run.sh sums them.
# Fragments add their tiers to TEST_TIERS and their Debian packages to DEPS_PKGS.

DEPS_PKGS += qemu-system-x86 bochs bochsbios vgabios grub-pc-bin grub-common xorriso mtools ipxe-qemu python3

# Time limits in seconds (generous: the machine is shared; a tier's own build counts too). A tier past
# its limit is stopped and fails. TIER_LIMIT_<tier> overrides the default for one tier.
TIER_LIMIT_DEFAULT      ?= 900
TIER_LIMIT_UNIT         ?= 600
TIER_LIMIT_test-linux   ?= 1800
TIER_LIMIT_test-pool    ?= 1800
TIER_LIMIT_test-linux-vmx ?= 1200
TIER_LIMIT_test-smp ?= 1800
tier_limit = $(or $(TIER_LIMIT_$(1)),$(if $(filter test-unit-% test-fuzz-%,$(1)),$(TIER_LIMIT_UNIT)),$(TIER_LIMIT_DEFAULT))
# Tiers run TEST_JOBS at a time: the unit and fuzz tiers first (a broken build or test shows within minutes), then
# the slow emulator tiers, longest first, then the rest, which fill in around them.
TEST_JOBS ?= 2
TEST_FAST_FIRST = $(filter test-unit-%,$(TEST_TIERS)) $(filter test-fuzz-%,$(TEST_TIERS))
TEST_SLOW_FIRST = test-linux-vmx test-smp test-iscsi-restart test-dirty test-vmstate test-migrate test-linux test-pool \
                  test-twohost test-vmm test-iscsi-shoal
TEST_ORDER = $(TEST_FAST_FIRST) $(foreach t,$(TEST_SLOW_FIRST),$(filter $(t),$(TEST_TIERS))) \
             $(filter-out $(TEST_FAST_FIRST) $(TEST_SLOW_FIRST),$(TEST_TIERS))
TEST_TIER_ARGS = $(foreach t,$(TEST_ORDER),$(t):$(call tier_limit,$(t)))
# Every test-* target some makefile defines: `make test` fails when one of them is not a tier.
TEST_DEFINED = $(shell sed -n 's/^\(test-[a-z0-9-]*\):.*/\1/p' Makefile mk/*.mk)

deps:
	@sh tools/deps.sh $(sort $(DEPS_PKGS))

# Every tier's prerequisites are built first, one at a time, so tiers side by side never build a file at once.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory $$(sh tests/tier-prereqs.sh $(TEST_TIERS))
	@BUILD=$(BUILD) sh tests/run.sh -j $(TEST_JOBS) --expect "$(sort $(TEST_DEFINED))" $(TEST_TIER_ARGS)

# compile_commands.json for editors (clangd): the kernel's and every unit tier's compiler commands.
COMPILE_DB ?= compile_commands.json
.PHONY: compile_commands.json
compile_commands.json:
	@MAKE="$(MAKE)" $(PYTHON) tools/compile-commands.py $(COMPILE_DB) $(BUILD)/shoal.elf \
	    $(filter $(BUILD)/unit/%,$(shell sh tests/tier-prereqs.sh $(filter test-unit-%,$(TEST_TIERS))))

# The suite's own plumbing: run.sh against fake tiers (time limit, silent tier, exit codes), the tier order of
# `make test` and `make unit`, the linker-table check (a link without two files must fail), and every
# sanitized unit/fuzz build command makes UBSan fatal.
TEST_TIERS += test-suite
.PHONY: test-suite
test-suite: $(BUILD)/shoal.elf
	@MAKE="$(MAKE)" BUILD=$(BUILD) sh tests/suite/suite_test.sh "$(filter test-unit-% test-fuzz-%,$(TEST_TIERS))"
