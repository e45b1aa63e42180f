# Golden-disk readers (blk/fs/, used by the pool): partition tables and read-only ext2/3/4; unit tier on images made by
# mke2fs/sfdisk at test time, and fuzz tiers over small real images: the whole readers (ext4_fuzz) and the
# partition tables alone with their CRCs fixed up (part_fuzz).
BLK_FS_SRC := blk/fs/part.c blk/fs/ext4.c blk/fs/ext4_map.c blk/fs/ext4_dir.c blk/fs/ext4_inline.c
BLK_FS_HDR := blk/fs/disk.h blk/fs/part.h blk/fs/ext4.h blk/fs/ext4_int.h
DEPS_PKGS += e2fsprogs fdisk

BLK_FS_DIR := $(BUILD)/blk-fs
BLK_FS_LIB := $(BLK_FS_SRC) kernel/printf.c kernel/kstring.c kernel/log.c kernel/timer.c tests/unit/host_shim.c

# Images from the real tools; the stamp is remade when the generator changes.
$(BLK_FS_DIR)/stamp: tests/unit/blk_fs_images.sh
	@mkdir -p $(BUILD)
	@sh tests/unit/blk_fs_images.sh $(BLK_FS_DIR) > $(BLK_FS_DIR).log 2>&1 || \
	    { tail -n 30 $(BLK_FS_DIR).log; echo "FAIL blk_fs.images: generator failed"; exit 1; }

$(eval $(call UNIT_TIER,blk-fs,blk_fs_tests,tests/unit/test_blk_fs.c tests/unit/test_main.c $(BLK_FS_LIB),\
    $(BLK_FS_HDR) $(wildcard tests/unit/*.h kernel/*.h),,$(BLK_FS_DIR)/stamp,BLK_FS_DIR=$(BLK_FS_DIR)))

# The whole readers over the images.
$(eval $(call FUZZ_TIER,blk-fs,ext4_fuzz,tests/fuzz/ext4_fuzz.c $(BLK_FS_LIB),$(BLK_FS_HDR),\
    blk_fs.ext4_fuzz_$$(FUZZ_S)s,10,-max_len=131072,,$(BLK_FS_DIR)/stamp,\
    cp $(BLK_FS_DIR)/fuzz-seed*.img $$(FUZZ_CORPUS)/))

# The partition-table fuzzer (blk/fs/part.c). Its input is a mode byte (fix CRCs, mirror the last sector,
# extend the disk) and the image; the seeds are the GPT and MBR-logical images with CRC fixing on and off.
PART_FUZZ_LIB := blk/fs/part.c kernel/printf.c kernel/kstring.c kernel/log.c kernel/timer.c tests/unit/host_shim.c
PART_FUZZ_SEEDS = printf '\003' | cat - $(BLK_FS_DIR)/fuzz-seed-gpt.img >$(FUZZ_CORPUS)/gpt-fixed && \
    printf '\004' | cat - $(BLK_FS_DIR)/fuzz-seed-gpt.img >$(FUZZ_CORPUS)/gpt-raw && \
    printf '\000' | cat - $(BLK_FS_DIR)/fuzz-seed-mbr.img >$(FUZZ_CORPUS)/mbr
$(eval $(call FUZZ_TIER,part,part_fuzz,tests/fuzz/part_fuzz.c $(PART_FUZZ_LIB),blk/fs/part.h blk/fs/disk.h,\
    blk_fs.part_fuzz_$$(FUZZ_S)s,10,-max_len=131072,,$(BLK_FS_DIR)/stamp,$$(PART_FUZZ_SEEDS)))
