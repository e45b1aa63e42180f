# Golden-disk readers (blk/fs/, used by the pool): partition tables and read-only ext2/3/4; unit tier on images made by
# mke2fs/sfdisk at test time, and fuzz tiers over small real images: the whole readers (ext4_fuzz) and the
# partition tables alone with their CRCs fixed up (part_fuzz).
BLK_FS_SRC := blk/fs/part.c blk/fs/ext4.c blk/fs/ext4_map.c blk/fs/ext4_dir.c blk/fs/ext4_inline.c
BLK_FS_HDR := blk/fs/disk.h blk/fs/part.h blk/fs/ext4.h blk/fs/ext4_int.h
KSRC += $(BLK_FS_SRC)
DEPS_PKGS += e2fsprogs fdisk

BLK_FS_DIR := $(BUILD)/blk-fs
BLK_FS_LIB := $(BLK_FS_SRC) kernel/printf.c kernel/kstring.c kernel/log.c kernel/timer.c tests/unit/host_shim.c

$(BUILD)/unit/blk_fs_tests: tests/unit/test_blk_fs.c tests/unit/test_main.c $(BLK_FS_LIB) $(BLK_FS_HDR) \
                             $(wildcard tests/unit/*.h kernel/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_blk_fs.c tests/unit/test_main.c $(BLK_FS_LIB)

# Images from the real tools; the stamp is remade when the generator changes.
$(BLK_FS_DIR)/stamp: tests/unit/blk_fs_images.sh
	@mkdir -p $(BUILD)
	@sh tests/unit/blk_fs_images.sh $(BLK_FS_DIR) > $(BLK_FS_DIR).log 2>&1 || \
	    { tail -n 30 $(BLK_FS_DIR).log; echo "FAIL blk_fs.images: generator failed"; exit 1; }

TEST_TIERS += test-unit-blk-fs test-fuzz-blk-fs
.PHONY: test-unit-blk-fs test-fuzz-blk-fs fuzz-blk-fs
test-unit-blk-fs: $(BUILD)/unit/blk_fs_tests $(BLK_FS_DIR)/stamp
	@BLK_FS_DIR=$(BLK_FS_DIR) $(BUILD)/unit/blk_fs_tests

# Fuzz: libFuzzer under clang when it links, else the harness's own deterministic mutation driver.
BLK_FS_FUZZ_SECONDS ?= 10
BLK_FS_FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -fno-omit-frame-pointer -Wall -Wextra -Werror
# Every sanitizer report is fatal (UBSan included), so a fuzz run fails on it.
BLK_FS_LIBFUZZER := $(shell printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' | \
    clang -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1 && echo 1)
BLK_FS_FUZZ_LOG = $(BUILD)/fuzz/ext4_fuzz.log
ifeq ($(BLK_FS_LIBFUZZER),1)
$(BUILD)/fuzz/ext4_fuzz: tests/fuzz/ext4_fuzz.c $(BLK_FS_LIB) $(BLK_FS_HDR)
	@mkdir -p $(dir $@)
	clang $(BLK_FS_FUZZ_FLAGS) $(FUZZ_SANITIZE) -o $@ \
	    tests/fuzz/ext4_fuzz.c $(BLK_FS_LIB)
BLK_FS_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/ext4_corpus && cp $(BLK_FS_DIR)/fuzz-seed*.img $(BUILD)/fuzz/ext4_corpus/ && \
    $(BUILD)/fuzz/ext4_fuzz -seed=1 -artifact_prefix=$(BUILD)/fuzz/ext4- -max_len=131072 -max_total_time=$(1) \
    -print_final_stats=0 -timeout=10 \
    $(BUILD)/fuzz/ext4_corpus >$(BLK_FS_FUZZ_LOG) 2>&1
else
$(BUILD)/fuzz/ext4_fuzz: tests/fuzz/ext4_fuzz.c $(BLK_FS_LIB) $(BLK_FS_HDR)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/fuzz/ext4_fuzz.c tests/fuzz/standalone.c $(BLK_FS_LIB)
BLK_FS_FUZZ_RUN = $(BUILD)/fuzz/ext4_fuzz $(BLK_FS_DIR)/fuzz-seed.img $(1) >$(BLK_FS_FUZZ_LOG) 2>&1
endif

test-fuzz-blk-fs: $(BUILD)/fuzz/ext4_fuzz $(BLK_FS_DIR)/stamp
	@if $(call BLK_FS_FUZZ_RUN,$(BLK_FS_FUZZ_SECONDS)); then echo "PASS blk_fs.ext4_fuzz_$(BLK_FS_FUZZ_SECONDS)s"; \
	 else tail -n 40 $(BLK_FS_FUZZ_LOG); echo "FAIL blk_fs.ext4_fuzz_$(BLK_FS_FUZZ_SECONDS)s"; exit 1; fi

# Longer fuzzing: make fuzz-blk-fs [BLK_FS_FUZZ_LONG=N]
fuzz-blk-fs:
	@$(MAKE) --no-print-directory test-fuzz-blk-fs BLK_FS_FUZZ_SECONDS=$(or $(BLK_FS_FUZZ_LONG),600)

# The partition-table fuzzer (blk/fs/part.c). Its input is a mode byte (fix CRCs, mirror the last sector,
# extend the disk) and the image; the seeds are the GPT and MBR-logical images with CRC fixing on and off.
PART_FUZZ_SECONDS ?= 10
PART_FUZZ_LOG = $(BUILD)/fuzz/part_fuzz.log
PART_FUZZ_LIB := blk/fs/part.c kernel/printf.c kernel/kstring.c kernel/log.c kernel/timer.c tests/unit/host_shim.c
PART_FUZZ_SEEDS = printf '\003' | cat - $(BLK_FS_DIR)/fuzz-seed-gpt.img >$(1)/gpt-fixed && \
    printf '\004' | cat - $(BLK_FS_DIR)/fuzz-seed-gpt.img >$(1)/gpt-raw && \
    printf '\000' | cat - $(BLK_FS_DIR)/fuzz-seed-mbr.img >$(1)/mbr
ifeq ($(BLK_FS_LIBFUZZER),1)
$(BUILD)/fuzz/part_fuzz: tests/fuzz/part_fuzz.c $(PART_FUZZ_LIB) blk/fs/part.h blk/fs/disk.h
	@mkdir -p $(dir $@)
	clang $(BLK_FS_FUZZ_FLAGS) $(FUZZ_SANITIZE) -o $@ tests/fuzz/part_fuzz.c $(PART_FUZZ_LIB)
PART_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/part_corpus && $(call PART_FUZZ_SEEDS,$(BUILD)/fuzz/part_corpus) && \
    $(BUILD)/fuzz/part_fuzz -seed=1 -artifact_prefix=$(BUILD)/fuzz/part- -max_len=131072 -max_total_time=$(1) \
    -print_final_stats=0 -timeout=10 \
    $(BUILD)/fuzz/part_corpus >$(PART_FUZZ_LOG) 2>&1
else
$(BUILD)/fuzz/part_fuzz: tests/fuzz/part_fuzz.c tests/fuzz/standalone.c $(PART_FUZZ_LIB) blk/fs/part.h blk/fs/disk.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/fuzz/part_fuzz.c tests/fuzz/standalone.c $(PART_FUZZ_LIB)
PART_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/part_corpus && $(call PART_FUZZ_SEEDS,$(BUILD)/fuzz/part_corpus) && \
    $(BUILD)/fuzz/part_fuzz $(BUILD)/fuzz/part_corpus/gpt-fixed $(1) >$(PART_FUZZ_LOG) 2>&1
endif

TEST_TIERS += test-fuzz-part
.PHONY: test-fuzz-part fuzz-part
test-fuzz-part: $(BUILD)/fuzz/part_fuzz $(BLK_FS_DIR)/stamp
	@if $(call PART_FUZZ_RUN,$(PART_FUZZ_SECONDS)); then echo "PASS blk_fs.part_fuzz_$(PART_FUZZ_SECONDS)s"; \
	 else tail -n 40 $(PART_FUZZ_LOG); echo "FAIL blk_fs.part_fuzz_$(PART_FUZZ_SECONDS)s"; exit 1; fi

# Longer fuzzing: make fuzz-part [PART_FUZZ_LONG=N]
fuzz-part:
	@$(MAKE) --no-print-directory test-fuzz-part PART_FUZZ_SECONDS=$(or $(PART_FUZZ_LONG),600)

# `make fuzz` runs every fuzzer longer (mk/iscsi.mk adds its own).
.PHONY: fuzz
fuzz: fuzz-blk-fs fuzz-part
