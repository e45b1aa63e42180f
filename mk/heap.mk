# The kernel heap's host unit tier: kernel/heap.c over host pages (its own pmm and log stand-ins, no host shim).
HEAP_UNIT_SRC := kernel/heap.c kernel/kstring.c tests/unit/test_main.c
$(eval $(call UNIT_TIER,heap,heap_tests,tests/unit/test_heap.c $(HEAP_UNIT_SRC),kernel/heap.h tests/unit/test.h))
