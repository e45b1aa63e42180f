/* Guests cloned from pool images: `vm create NAME from IMAGE`, the autostart= boot parameter. */
#ifndef SHOAL_VMM_CLONE_H
#define SHOAL_VMM_CLONE_H
#include <stdint.h>

struct vm;

/* What a clone gets besides its image's defaults (zero fields: the image's). */
struct clone_opts {
    uint64_t mem, quota;
    int vcpus;
    const char *cmdline_add;     /* words appended to the image's command line */
    const char *ip;              /* "A.B.C.D[/P]": a static address passed in the guest's ip= word; NULL: DHCP */
};

/*
 * Create VM name (not started) from pool image image_name with a new copy-on-write disk over the image's
 * shared cache, the image's kernel and initrd, and a MAC derived from the host's MAC and the name. The guest's
 * command line is the image's, then cmdline_add, then ip=ADDR::GW:MASK:NAME:eth0:off (or ip=:::::NAME:eth0:dhcp)
 * so the guest knows its name. Returns 0 with *out, or a negative errno after a one-line error.
 */
int clone_vm_create(const char *name, const char *image_name, const struct clone_opts *o, struct vm **out);
/* `vm create NAME from IMAGE [mem=] [vcpus=] [quota=] [ip=A.B.C.D[/P]] [cmdline+="..."]` (argv[3] == "from"). */
int clone_vm_create_cmd(int argc, char **argv);
#endif
