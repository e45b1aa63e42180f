# Live migration benchmark (issue 11): QEMU's own live migration of a Linux guest (idle, after a 100 MiB disk
# read, dirtying memory, rewriting the same memory) as the peer shoal's is measured against; not part of `make test`.
.PHONY: bench-migrate
bench-migrate: $(BUILD)/shoal.elf guest-images
	@$(PYTHON) tools/bench-migrate.py --build $(BUILD) --guest $(GUEST_DIR)
