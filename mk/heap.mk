# The kernel heap's host unit tier: kernel/heap.c over host pages (its own pmm and log stand-ins, no host shim).
HEAP_UNIT_SRC := kernel/heap.c kernel/kstring.c tests/unit/test_main.c

$(BUILD)/unit/heap_tests: tests/unit/test_heap.c $(HEAP_UNIT_SRC) kernel/heap.h tests/unit/test.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_heap.c $(HEAP_UNIT_SRC)

TEST_TIERS += test-unit-heap
.PHONY: test-unit-heap
test-unit-heap: $(BUILD)/unit/heap_tests
	@$(BUILD)/unit/heap_tests
