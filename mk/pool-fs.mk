# Golden-disk readers (pool/): partition tables and read-only ext2/3/4; unit tier on images made by
# mke2fs/sfdisk at test time, and fuzz tiers over small real images: the whole readers (ext4_fuzz) and the
# partition tables alone with their CRCs fixed up (part_fuzz).
POOL_FS_SRC := pool/part.c pool/ext4.c pool/ext4_map.c pool/ext4_dir.c pool/ext4_inline.c
POOL_FS_HDR := pool/disk.h pool/part.h pool/ext4.h pool/ext4_int.h
KSRC += $(POOL_FS_SRC)
DEPS_PKGS += e2fsprogs fdisk

POOL_FS_DIR := $(BUILD)/pool-fs
POOL_FS_LIB := $(POOL_FS_SRC) kernel/printf.c kernel/kstring.c kernel/log.c kernel/timer.c tests/unit/host_shim.c

$(BUILD)/unit/pool_fs_tests: tests/unit/test_pool_fs.c tests/unit/test_main.c $(POOL_FS_LIB) $(POOL_FS_HDR) \
                             $(wildcard tests/unit/*.h kernel/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_pool_fs.c tests/unit/test_main.c $(POOL_FS_LIB)

# Images from the real tools; the stamp is remade when the generator changes.
$(POOL_FS_DIR)/stamp: tests/unit/pool_fs_images.sh
	@mkdir -p $(BUILD)
	@sh tests/unit/pool_fs_images.sh $(POOL_FS_DIR) > $(POOL_FS_DIR).log 2>&1 || \
	    { tail -n 30 $(POOL_FS_DIR).log; echo "FAIL pool_fs.images: generator failed"; exit 1; }

TEST_TIERS += test-unit-pool-fs test-fuzz-pool-fs
.PHONY: test-unit-pool-fs test-fuzz-pool-fs fuzz-pool-fs
test-unit-pool-fs: $(BUILD)/unit/pool_fs_tests $(POOL_FS_DIR)/stamp
	@POOL_FS_DIR=$(POOL_FS_DIR) $(BUILD)/unit/pool_fs_tests

# Fuzz: libFuzzer under clang when it links, else the harness's own deterministic mutation driver.
POOL_FS_FUZZ_SECONDS ?= 10
POOL_FS_FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -fno-omit-frame-pointer -Wall -Wextra -Werror
# Every sanitizer report is fatal (UBSan included), so a fuzz run fails on it.
POOL_FS_LIBFUZZER := $(shell printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' | \
    clang -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1 && echo 1)
POOL_FS_FUZZ_LOG = $(BUILD)/fuzz/ext4_fuzz.log
ifeq ($(POOL_FS_LIBFUZZER),1)
$(BUILD)/fuzz/ext4_fuzz: tests/fuzz/ext4_fuzz.c $(POOL_FS_LIB) $(POOL_FS_HDR)
	@mkdir -p $(dir $@)
	clang $(POOL_FS_FUZZ_FLAGS) $(FUZZ_SANITIZE) -o $@ \
	    tests/fuzz/ext4_fuzz.c $(POOL_FS_LIB)
POOL_FS_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/ext4_corpus && cp $(POOL_FS_DIR)/fuzz-seed*.img $(BUILD)/fuzz/ext4_corpus/ && \
    $(BUILD)/fuzz/ext4_fuzz -seed=1 -artifact_prefix=$(BUILD)/fuzz/ext4- -max_len=131072 -max_total_time=$(1) \
    -print_final_stats=0 -timeout=10 \
    $(BUILD)/fuzz/ext4_corpus >$(POOL_FS_FUZZ_LOG) 2>&1
else
$(BUILD)/fuzz/ext4_fuzz: tests/fuzz/ext4_fuzz.c $(POOL_FS_LIB) $(POOL_FS_HDR)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/fuzz/ext4_fuzz.c tests/fuzz/standalone.c $(POOL_FS_LIB)
POOL_FS_FUZZ_RUN = $(BUILD)/fuzz/ext4_fuzz $(POOL_FS_DIR)/fuzz-seed.img $(1) >$(POOL_FS_FUZZ_LOG) 2>&1
endif

test-fuzz-pool-fs: $(BUILD)/fuzz/ext4_fuzz $(POOL_FS_DIR)/stamp
	@if $(call POOL_FS_FUZZ_RUN,$(POOL_FS_FUZZ_SECONDS)); then echo "PASS pool_fs.ext4_fuzz_$(POOL_FS_FUZZ_SECONDS)s"; \
	 else tail -n 40 $(POOL_FS_FUZZ_LOG); echo "FAIL pool_fs.ext4_fuzz_$(POOL_FS_FUZZ_SECONDS)s"; exit 1; fi

# Longer fuzzing: make fuzz-pool-fs [POOL_FS_FUZZ_LONG=N]
fuzz-pool-fs:
	@$(MAKE) --no-print-directory test-fuzz-pool-fs POOL_FS_FUZZ_SECONDS=$(or $(POOL_FS_FUZZ_LONG),600)

# The partition-table fuzzer (pool/part.c). Its input is a mode byte (fix CRCs, mirror the last sector,
# extend the disk) and the image; the seeds are the GPT and MBR-logical images with CRC fixing on and off.
PART_FUZZ_SECONDS ?= 10
PART_FUZZ_LOG = $(BUILD)/fuzz/part_fuzz.log
PART_FUZZ_LIB := pool/part.c kernel/printf.c kernel/kstring.c kernel/log.c kernel/timer.c tests/unit/host_shim.c
PART_FUZZ_SEEDS = printf '\003' | cat - $(POOL_FS_DIR)/fuzz-seed-gpt.img >$(1)/gpt-fixed && \
    printf '\004' | cat - $(POOL_FS_DIR)/fuzz-seed-gpt.img >$(1)/gpt-raw && \
    printf '\000' | cat - $(POOL_FS_DIR)/fuzz-seed-mbr.img >$(1)/mbr
ifeq ($(POOL_FS_LIBFUZZER),1)
$(BUILD)/fuzz/part_fuzz: tests/fuzz/part_fuzz.c $(PART_FUZZ_LIB) pool/part.h pool/disk.h
	@mkdir -p $(dir $@)
	clang $(POOL_FS_FUZZ_FLAGS) $(FUZZ_SANITIZE) -o $@ tests/fuzz/part_fuzz.c $(PART_FUZZ_LIB)
PART_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/part_corpus && $(call PART_FUZZ_SEEDS,$(BUILD)/fuzz/part_corpus) && \
    $(BUILD)/fuzz/part_fuzz -seed=1 -artifact_prefix=$(BUILD)/fuzz/part- -max_len=131072 -max_total_time=$(1) \
    -print_final_stats=0 -timeout=10 \
    $(BUILD)/fuzz/part_corpus >$(PART_FUZZ_LOG) 2>&1
else
$(BUILD)/fuzz/part_fuzz: tests/fuzz/part_fuzz.c tests/fuzz/standalone.c $(PART_FUZZ_LIB) pool/part.h pool/disk.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/fuzz/part_fuzz.c tests/fuzz/standalone.c $(PART_FUZZ_LIB)
PART_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/part_corpus && $(call PART_FUZZ_SEEDS,$(BUILD)/fuzz/part_corpus) && \
    $(BUILD)/fuzz/part_fuzz $(BUILD)/fuzz/part_corpus/gpt-fixed $(1) >$(PART_FUZZ_LOG) 2>&1
endif

TEST_TIERS += test-fuzz-part
.PHONY: test-fuzz-part fuzz-part
test-fuzz-part: $(BUILD)/fuzz/part_fuzz $(POOL_FS_DIR)/stamp
	@if $(call PART_FUZZ_RUN,$(PART_FUZZ_SECONDS)); then echo "PASS pool_fs.part_fuzz_$(PART_FUZZ_SECONDS)s"; \
	 else tail -n 40 $(PART_FUZZ_LOG); echo "FAIL pool_fs.part_fuzz_$(PART_FUZZ_SECONDS)s"; exit 1; fi

# Longer fuzzing: make fuzz-part [PART_FUZZ_LONG=N]
fuzz-part:
	@$(MAKE) --no-print-directory test-fuzz-part PART_FUZZ_SECONDS=$(or $(PART_FUZZ_LONG),600)

# `make fuzz` runs every fuzzer longer (mk/iscsi.mk adds its own).
.PHONY: fuzz
fuzz: fuzz-pool-fs fuzz-part
