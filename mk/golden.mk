# Golden demo disk for the image pool: a raw GPT+ext4 image booting a busybox web server (tools/golden/).
DEPS_PKGS += busybox-static e2fsprogs fdisk cpio kmod

# Cached in $(GOLDEN_DIR) (set in the Makefile, shared by every BUILD dir): demo.img and demo.sha256.
.PHONY: golden-image golden-check
golden-image: guest-images
	@sh tools/golden/build.sh $(GOLDEN_DIR) $(GUEST_DIR)

# Boots the image under plain QEMU (TCG) three ways and fetches its page; not part of `make test`.
golden-check: golden-image
	@sh tools/golden/check.sh $(GOLDEN_DIR)/demo.img
