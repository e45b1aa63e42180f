# Two shoal hosts under QEMU on one private L2 segment (a network namespace with a bridge, a tap per host) and a
# tgtd on it exporting the golden image: tests/integration/twohost.py, the library later multi-host tests use.
DEPS_PKGS += iproute2 tgt
TEST_TIERS += test-twohost
.PHONY: test-twohost
test-twohost: $(BUILD)/shoal.elf golden-image
	@$(PYTHON) tests/integration/twohost_tests.py --build $(BUILD) --golden $(GOLDEN_DIR)/demo.img
