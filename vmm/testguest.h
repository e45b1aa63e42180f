/* Built-in test guests (tests/guests/, linked into the image): lookup and VM creation. */
#ifndef SHOAL_VMM_TESTGUEST_H
#define SHOAL_VMM_TESTGUEST_H
#include <stdint.h>

struct test_guest {
    const char *name;
    const uint8_t *start, *end;
    uint64_t mode;                  /* 16, 32 or 64: the CPU mode it starts in */
};

/* The table the build generates from tests/guests/NAME{16,32,64}.S. */
extern const struct test_guest test_guest_table[];
extern const uint64_t test_guest_count;

const struct test_guest *testguest_find(const char *name);
struct vm;
struct testdev;

/* A test guest VM's platform record (vm->platform_data). */
struct testguest_vm {
    const struct test_guest *g;
    struct testdev *dev;              /* its test devices (vmm/testdev.c) */
    int hypercalls;                   /* vmm/hypercall.h is open to it (until HC_NOTEST) */
};
/* vm's test-guest record, or NULL when vm does not run a test guest. */
struct testguest_vm *testguest_of(struct vm *vm);
/* Give a test VM a virtio-blk over a 64 KiB RAM disk (slot 0) and a virtio-net (slot 1); 0 or negative
 * errno (the caller destroys the VM). Guests named *virtio* get them from testguest_create. */
int testguest_attach_virtio(struct vm *vm);
/* Create VM name running test guest g with mem bytes of RAM. NULL with *err on failure. */
struct vm *testguest_create(const char *name, const struct test_guest *g, uint64_t mem, int *err);
#endif
