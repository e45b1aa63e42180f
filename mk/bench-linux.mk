# Linux boot benchmark (issue 5): shoal nested in QEMU TCG vs plain QEMU TCG microvm; not part of `make test`.
.PHONY: bench-linux
bench-linux: $(BUILD)/shoal.elf guest-images
	@$(PYTHON) tools/bench-linux-boot.py --build $(BUILD) --guest $(GUEST_DIR)
