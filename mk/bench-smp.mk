# SMP benchmark (issue 13): spin guests, a 2-vCPU Linux workload, 4 Linux boots and 3 web clones on one CPU vs all,
# under QEMU multi-threaded TCG with this machine's core count; ratios printed, not part of `make test`.
.PHONY: bench-smp
bench-smp: $(BUILD)/shoal.elf guest-images golden-image
	@$(PYTHON) tools/bench-smp.py --build $(BUILD) --guest $(GUEST_DIR) --golden $(GOLDEN_DIR)/demo.img

# The HTTP load generator.
DEPS_PKGS += wrk
