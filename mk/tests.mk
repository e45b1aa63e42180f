# Test tiers. Each tier is a make target printing `PASS name` / `FAIL name` lines; tests/run.sh sums them.
# Fragments add their tiers to TEST_TIERS and their Debian packages to DEPS_PKGS.

DEPS_PKGS += qemu-system-x86 bochs bochsbios vgabios grub-pc-bin grub-common xorriso mtools ipxe-qemu python3

deps:
	@sh tools/deps.sh $(sort $(DEPS_PKGS))

test: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run.sh $(TEST_TIERS)

unit: $(filter test-unit-%,$(TEST_TIERS))
