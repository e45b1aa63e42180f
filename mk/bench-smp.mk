# SMP benchmark (issue 13): spin guests, a 2-vCPU Linux workload and 4 Linux boots on one CPU vs all of them,
# under QEMU multi-threaded TCG with this machine's core count; ratios printed, not part of `make test`.
.PHONY: bench-smp
bench-smp: $(BUILD)/shoal.elf guest-images
	@$(PYTHON) tools/bench-smp.py --build $(BUILD) --guest $(GUEST_DIR)
