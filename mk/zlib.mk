# Page compression for the migration stream: zlib (fetched from Debian's source archive into build/zlib/, never
# committed; ZLIB_DIR, ZLIB_STAMP, ZLIB_FILES, ZPAGE_SRC and ZPAGE_CFLAGS are set in the Makefile) under
# kernel/zpage.c, built freestanding (Z_SOLO: no C library; its allocations go to the kernel heap).

KSRC += $(ZLIB_FILES)

ZLIB_OBJ  := $(patsubst %,$(BUILD)/k/%.o,$(ZLIB_FILES))
ZPAGE_OBJ := $(BUILD)/k/kernel/zpage.c.o
$(ZLIB_OBJ) $(ZPAGE_OBJ): KCFLAGS += $(ZLIB_INC)
$(ZLIB_OBJ) $(ZPAGE_OBJ): | $(ZLIB_STAMP)

# Fetch and unpack zlib when build/zlib/ is missing (needs a deb-src entry: tools/deps.sh --source).
$(ZLIB_STAMP):
	sh tools/fetch-zlib.sh build
$(filter-out $(ZLIB_STAMP),$(ZLIB_FILES)): | $(ZLIB_STAMP)
	@:

.PHONY: zlib-fetch
zlib-fetch: $(ZLIB_STAMP)

# Host unit tests of the wrapper: round trips, hostile streams (kernel/zpage.h).
$(eval $(call UNIT_TIER,zpage,zpage_tests,tests/unit/test_zpage.c $(ZPAGE_SRC) $(HOST_SHIM),kernel/zpage.h \
    tests/unit/test.h,$(ZPAGE_CFLAGS)))
