# shoal: build the hypervisor image, boot media, host tools and tests.
# `make` builds build/shoal.elf; `make run` boots it under QEMU; `make test` runs every test tier.

BUILD    ?= build
CC       ?= gcc
HOSTCC   ?= gcc
LD       ?= ld
PYTHON   ?= python3
# Guest images and the golden disk, cached and shared by every BUILD dir (the downloads are large); set here,
# before the fragments, because their rules name files in them.
GUEST_DIR  ?= build/guest
GOLDEN_DIR ?= build/golden

KCFLAGS  := -std=c11 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
            -fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
            -fno-strict-aliasing -O2 -g -Wall -Wextra -Werror -I. -MMD -MP
KCFLAGS  += $(if $(HEAP_DEBUG),-DHEAP_DEBUG)    # make HEAP_DEBUG=1: freed blocks quarantined and checked
KASFLAGS := -I. -MMD -MP -g
KLDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T linker.ld

# Sanitizer findings are fatal everywhere (UBSan too): a test or fuzzer never runs on past one.
SANITIZE      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SANITIZE := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
HOSTCFLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -Wall -Wextra -Werror -I. \
              $(SANITIZE) -fno-omit-frame-pointer -MMD -MP

# Product folders: the kernel links every .c and .S file in each of them; this is the one list of product
# sources (fragments add only generated third-party sources, lwIP, mbedTLS and zlib from build/, to KSRC).
# The folder order is the link order, and so the order of same-level init hooks, shell commands and pollers.
PRODUCT_DIRS := boot arch/x86 arch/x86/svm arch/x86/vmx kernel drivers net/api blk blk/fs net/iscsi \
                vmm vmm/mig vmm/dev net net/port net/tls pool
PRODUCT_SRC  := $(foreach d,$(PRODUCT_DIRS),$(wildcard $(d)/*.c) $(wildcard $(d)/*.S))
# Product-folder files that must stay out of the kernel (host-only), each with its reason: none today.
KERNEL_EXCLUDE :=
# KSRC_OMIT=FILE...: leave product files out of the link (tests/suite shows the table check then fails).
KSRC := $(filter-out $(KERNEL_EXCLUDE) $(KSRC_OMIT),$(PRODUCT_SRC))

# The host side of every unit tier: set before the fragments, whose prerequisites name it.
HOST_SHIM := tests/unit/test_main.c tests/unit/host_shim.c

# Third-party sources fetched into build/ (mk/lwip.mk, mk/mbedtls.mk): fragments read before those name them.
LWIP_DIR      := build/lwip
LWIP_SRC      := $(LWIP_DIR)/src
LWIP_STAMP    := $(LWIP_SRC)/core/init.c
MBEDTLS_DIR   := build/mbedtls
MBEDTLS_STAMP := $(MBEDTLS_DIR)/library/ssl_tls.c
TLS_INC       := -I$(MBEDTLS_DIR)/include -DMBEDTLS_CONFIG_FILE='"net/tls/mbedtls_config.h"'
# SHA-256 and MD5 (kernel/sha256.h, kernel/md5.h) are mbedTLS's: every host build that hashes compiles HASH_SRC
# (the wrappers and mbedTLS's files) with HASH_CFLAGS; UNIT_BIN and FUZZ_BIN then wait for the fetch.
HASH_SRC      := kernel/sha256.c kernel/md5.c $(patsubst %,$(MBEDTLS_DIR)/library/%.c,sha256 md5 platform_util)
HASH_CFLAGS   := $(TLS_INC)
# zlib (mk/zlib.mk): deflate for migration pages (kernel/zpage.h). Host builds that compress pages compile
# ZPAGE_SRC (the wrapper and zlib's files) with ZPAGE_CFLAGS.
ZLIB_DIR      := build/zlib
ZLIB_STAMP    := $(ZLIB_DIR)/deflate.c
ZLIB_INC      := -I$(ZLIB_DIR) -DZ_SOLO -DZLIB_CONST
ZLIB_FILES    := $(patsubst %,$(ZLIB_DIR)/%.c,adler32 crc32 deflate inflate inftrees inffast trees zutil)
ZPAGE_SRC     := kernel/zpage.c $(ZLIB_FILES)
ZPAGE_CFLAGS  := $(ZLIB_INC)

# ---- Test tier macros: each fragment declares a unit or fuzz tier with one $(eval $(call ...)). ----
comma := ,

# UNIT_BIN: host test binary build/unit/$(1) compiled and linked from $(2) (test files first, then the product
# sources and shims), with $(HOSTCFLAGS) (ASan + UBSan, fatal) and the extra flags $(4); also rebuilt when the
# files $(3) (headers) change. Sources fetched into $(MBEDTLS_DIR) (HASH_SRC) or $(ZLIB_DIR) (ZPAGE_SRC) make
# that fetch come first.
FETCH_FIRST = $(if $(filter $(MBEDTLS_DIR)/%,$(1)),$(MBEDTLS_STAMP)) $(if $(filter $(ZLIB_DIR)/%,$(1)),$(ZLIB_STAMP))
define UNIT_BIN
$(BUILD)/unit/$(1): $(2) $(3) | $(call FETCH_FIRST,$(2))
	@mkdir -p $$(dir $$@)
	$$(HOSTCC) $$(HOSTCFLAGS) $(4) -o $$@ $(2)
endef

# UNIT_TIER: tier test-unit-$(1) (in TEST_TIERS) running build/unit/$(2), the UNIT_BIN of $(3), $(4) and $(5).
# Optional: $(6) more prerequisites of the run (test data), $(7) environment assignments for the run.
define UNIT_TIER
$(call UNIT_BIN,$(2),$(3),$(4),$(5))
TEST_TIERS += test-unit-$(1)
.PHONY: test-unit-$(1)
test-unit-$(1): $(BUILD)/unit/$(2) $(6)
	@$(7) $(BUILD)/unit/$(2)
endef

# Fuzzers: libFuzzer harnesses (tests/fuzz/) under clang with ASan and UBSan, every finding fatal.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -fno-omit-frame-pointer -Wall -Wextra -Werror \
               $(FUZZ_SANITIZE)
# Seconds each fuzzer runs in `make fuzz` (each tier's own default applies in `make test` unless FUZZ_SECONDS is given).
FUZZ_LONG ?= 600

# FUZZ_BIN: fuzzer build/fuzz/$(1) from $(2) (the harness first), extra flags $(4); also rebuilt when $(3) changes.
define FUZZ_BIN
$(BUILD)/fuzz/$(1): $(2) $(3) | $(call FETCH_FIRST,$(2))
	@mkdir -p $$(dir $$@)
	clang $$(FUZZ_CFLAGS) $(4) -o $$@ $(2)
endef

# FUZZ_RUN: shell command running fuzzer build/fuzz/$(1) for $(3) seconds with the libFuzzer options $(4) over
# its corpus build/fuzz/$(1)_corpus, which the command $(5) (optional) fills first; prints `PASS $(2)`, or the
# end of the log (build/fuzz/$(1).log; crash inputs build/fuzz/$(1)-*) and `FAIL $(2)`.
FUZZ_RUN = mkdir -p $(BUILD)/fuzz/$(1)_corpus && $(if $(strip $(5)),$(5) &&) \
    if $(BUILD)/fuzz/$(1) -seed=1 -timeout=10 -max_total_time=$(3) -print_final_stats=0 $(4) \
       -artifact_prefix=$(BUILD)/fuzz/$(1)- $(BUILD)/fuzz/$(1)_corpus >$(BUILD)/fuzz/$(1).log 2>&1; \
    then echo "PASS $(strip $(2))"; else tail -n 40 $(BUILD)/fuzz/$(1).log; echo "FAIL $(strip $(2))"; exit 1; fi

# FUZZ_TIER: tier test-fuzz-$(1) (in TEST_TIERS) running fuzzer build/fuzz/$(2) (the FUZZ_BIN of $(3), $(4) and $(8))
# for FUZZ_SECONDS, by default $(6), printing PASS/FAIL $(5); fuzz-$(1), part of `make fuzz`, runs it for FUZZ_LONG.
# $(7): libFuzzer options (-max_len=N). Optional: $(9) more prerequisites of the run (seed data), $(10) a command
# seeding the corpus. In $(5) and $(10), $$(FUZZ_S) stands for the seconds and $$(FUZZ_CORPUS) for the corpus.
define FUZZ_TIER
$(call FUZZ_BIN,$(2),$(3),$(4),$(8))
TEST_TIERS += test-fuzz-$(1)
.PHONY: test-fuzz-$(1) fuzz-$(1)
test-fuzz-$(1): FUZZ_S = $$(or $$(FUZZ_SECONDS),$(6))
fuzz-$(1): FUZZ_S = $$(FUZZ_LONG)
test-fuzz-$(1) fuzz-$(1): FUZZ_CORPUS = $(BUILD)/fuzz/$(2)_corpus
test-fuzz-$(1) fuzz-$(1): $(BUILD)/fuzz/$(2) $(9)
	@$$(call FUZZ_RUN,$(2),$(5),$$(FUZZ_S),$(7),$(10))
fuzz: fuzz-$(1)
endef

# SEEDED_FUZZ_TIER: FUZZ_TIER $(1) of fuzzer $(1)_fuzz from $(3) (rebuilt when $(4) changes) printing PASS/FAIL $(2),
# 10 s by default, libFuzzer options $(5), whose corpus build/fuzz/$(1)_seeds writes: the harness built for the
# host with -D$(6), which writes its seed inputs into the directory it is given. Optional: $(7) extra flags of both.
define SEEDED_FUZZ_TIER
$(BUILD)/fuzz/$(1)_seeds: $(3) $(4) | $(call FETCH_FIRST,$(3))
	@mkdir -p $$(dir $$@)
	$$(HOSTCC) $$(HOSTCFLAGS) $(7) -D$(6) -o $$@ $(3)
$(call FUZZ_TIER,$(1),$(1)_fuzz,$(3),$(4),$(2),10,$(5),$(7),$(BUILD)/fuzz/$(1)_seeds,\
    $(BUILD)/fuzz/$(1)_seeds $$(FUZZ_CORPUS))
endef

.PHONY: fuzz

# ---- The fragments: one per subsystem or tier. ----
all: $(BUILD)/shoal.elf

include $(sort $(wildcard mk/*.mk))

# Host unit tests of the kernel's portable parts (fragments add sources and test files to the two lists).
KERNEL_UNIT_SRC += kernel/printf.c kernel/kstring.c kernel/param.c kernel/lineedit.c kernel/shell.c \
                   kernel/multiboot.c kernel/memmap.c kernel/pmm.c kernel/log.c kernel/timer.c $(HASH_SRC)
KERNEL_UNIT_TESTS += $(wildcard tests/unit/test_kernel_*.c)
$(eval $(call UNIT_TIER,kernel,kernel_tests,$(KERNEL_UNIT_TESTS) $(KERNEL_UNIT_SRC) $(HOST_SHIM),\
    $(wildcard tests/unit/*.h kernel/*.h),$(HASH_CFLAGS)))

# `make unit`: every unit tier, the fragments' and the one above (a prerequisite list is expanded where it is read,
# so this rule comes after every fragment).
unit: $(filter test-unit-%,$(TEST_TIERS))

KOBJ := $(patsubst %,$(BUILD)/k/%.o,$(KSRC)) $(KEXTRA)

.PHONY: all iso pxe run test unit deps clean bench

$(BUILD)/k/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KASFLAGS) -c $< -o $@

# Two-pass link: the symbol table for backtraces is generated from the first pass and placed after
# all code, so no function moves; the check below proves it.
$(BUILD)/ksyms0.S: tools/gen-ksyms.sh
	@mkdir -p $(BUILD)
	sh tools/gen-ksyms.sh > $@

$(BUILD)/%.o: $(BUILD)/%.S
	$(CC) -c -Wa,--noexecstack $< -o $@

# The object list, rewritten only when it changes: an object added, left out or moved relinks both passes. It is
# recorded relative to BUILD, so naming the same directory another way (an absolute path) relinks nothing.
KOBJ_LIST = $(patsubst $(BUILD)/%,%,$(KOBJ))
$(BUILD)/kobjs.txt: FORCE
	@mkdir -p $(BUILD)
	@echo '$(KOBJ_LIST)' | cmp -s - $@ || echo '$(KOBJ_LIST)' > $@

.PHONY: FORCE
FORCE:

$(BUILD)/shoal.pass1.elf: $(KOBJ) $(BUILD)/ksyms0.o linker.ld $(BUILD)/kobjs.txt
	$(LD) $(KLDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms0.o

$(BUILD)/ksyms1.S: $(BUILD)/shoal.pass1.elf tools/gen-ksyms.sh
	sh tools/gen-ksyms.sh $< > $@

# After the link, every SHELL_COMMAND, BOOT_PARAM and INIT_HOOK in the product sources must be in the image
# (tools/check-tables.py): a file registered only through such a table links fine when it is left out.
$(BUILD)/shoal.elf: $(BUILD)/shoal.pass1.elf $(BUILD)/ksyms1.o tools/check-tables.py
	$(LD) $(KLDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms1.o
	@$(PYTHON) tools/check-tables.py $@ $(filter-out $(KERNEL_EXCLUDE),$(PRODUCT_SRC)) || { rm -f $@; exit 1; }
	@nm -n $(BUILD)/shoal.pass1.elf | grep ' [tT] ' > $(BUILD)/syms1.txt
	@nm -n $@ | grep ' [tT] ' > $(BUILD)/syms2.txt
	@cmp -s $(BUILD)/syms1.txt $(BUILD)/syms2.txt || { echo "symbol table moved code"; rm -f $@; exit 1; }

-include $(KOBJ:.o=.d)

clean:
	rm -rf $(BUILD)
