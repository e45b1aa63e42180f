/* Fakes for the dirty-log host tests: a page allocator over malloc and an hvm backend over real slpt tables. */
#ifndef SHOAL_TESTS_DIRTY_FAKE_H
#define SHOAL_TESTS_DIRTY_FAKE_H
#include <stdint.h>
#include "arch/x86/slpt.h"

/* Set: pmm_alloc fails (a split finds no table page). */
extern int fake_pmm_fail;
/* Set: pmm_alloc fails for more than one page (fragmented host memory: RAM made of single pages). */
extern int fake_pmm_no_large;

/* The backend state of the fake VM: its tables and how often protection was added (each needs a flush). */
struct hvm_vm {
    struct slpt t;
    int protects;
};
#endif
