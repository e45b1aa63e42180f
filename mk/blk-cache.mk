# The shared golden cache (blk/cache.c): host unit tier (kmalloc wrapped to hand out memory holding old bytes)
# and the block-layer benchmark (cache, and the cow overlay) beside qemu-io.
DEPS_PKGS += qemu-utils tgt

BLK_CACHE_SRC := blk/cache.c blk/blk.c kernel/kstring.c kernel/printf.c kernel/log.c tests/unit/blk_tenant.c
$(eval $(call UNIT_TIER,blk-cache,blk_cache_tests,tests/unit/test_blk_cache.c $(BLK_CACHE_SRC) $(HOST_SHIM),\
    $(wildcard blk/*.h tests/unit/*.h),-Wl$(comma)--wrap=kmalloc))

# Benchmark (not in `make test`): optimised, no sanitizers, like the iSCSI tool (ISCSI_TOOL_FLAGS, mk/iscsi.mk).
# Rows that need the cow overlay are compiled only when blk/cow.c exists; the concurrent-clone row reads a tgtd
# LUN through the host iSCSI engine (its nonces need the entropy source) when tgtd is available
# (tools/bench-blk.sh starts and stops it).
.PHONY: bench-blk
BENCH_BLK_COW := $(if $(wildcard blk/cow.c),blk/cow.c blk/delta_ram.c)
BENCH_BLK_SRC := tools/bench-blk.c blk/cache.c blk/blk.c $(BENCH_BLK_COW) tools/iscsi/posix.c \
                 $(wildcard net/iscsi/*.c) kernel/crc32c.c $(HASH_SRC) kernel/printf.c \
                 kernel/kstring.c kernel/log.c kernel/param.c kernel/timer.c kernel/random.c tests/unit/host_shim.c
$(BUILD)/bench-blk: $(BENCH_BLK_SRC) $(wildcard blk/*.h net/iscsi/*.h kernel/*.h tools/iscsi/*.h) | $(MBEDTLS_STAMP)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(ISCSI_TOOL_FLAGS) $(if $(BENCH_BLK_COW),-DBENCH_HAVE_COW) -o $@ $(BENCH_BLK_SRC)

bench-blk: $(BUILD)/bench-blk
	@BUILD=$(BUILD) sh tools/bench-blk.sh
