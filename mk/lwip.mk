# Networking: lwIP (fetched from Debian's source archive into build/lwip/, never committed; LWIP_DIR, LWIP_SRC and
# LWIP_STAMP are set in the Makefile), shoal's port files and netif glue (net/, net/port/), and net tests.

DEPS_PKGS  += xz-utils

LWIP_CORE  := init def dns inet_chksum ip mem memp netif pbuf raw stats sys tcp tcp_in tcp_out timeouts udp
LWIP_IPV4  := dhcp etharp icmp ip4 ip4_addr ip4_frag
LWIP_FILES := $(patsubst %,$(LWIP_SRC)/core/%.c,$(LWIP_CORE)) \
              $(patsubst %,$(LWIP_SRC)/core/ipv4/%.c,$(LWIP_IPV4)) \
              $(LWIP_SRC)/netif/ethernet.c
NET_FILES  := $(wildcard net/*.c net/port/*.c)

KSRC += $(LWIP_FILES)

LWIP_INC   := -Inet/port -Inet/port/include -I$(LWIP_SRC)/include
NET_OBJ    := $(patsubst %,$(BUILD)/k/%.o,$(NET_FILES))
LWIP_OBJ   := $(patsubst %,$(BUILD)/k/%.o,$(LWIP_FILES))

# shoal's own net files (any kernel object under net/, e.g. the iSCSI lwIP transport) see lwIP's headers
# and keep -Werror; lwIP's sources get the same flags with its known warnings relaxed.
$(BUILD)/k/net/%.o: KCFLAGS += $(LWIP_INC)
$(BUILD)/k/vmm/mig/%.o: KCFLAGS += $(LWIP_INC)    # the migration channel (net/tls/chan.h)
$(LWIP_OBJ): KCFLAGS += $(LWIP_INC) -Wno-unused-parameter -Wno-sign-compare -Wno-address \
                        -Wno-implicit-fallthrough -Wno-unused-but-set-variable
MIG_OBJ    := $(patsubst %,$(BUILD)/k/%.o,$(wildcard vmm/mig/*.c))
$(NET_OBJ) $(LWIP_OBJ) $(MIG_OBJ): | $(LWIP_STAMP)

# Fetch and unpack lwIP when build/lwip/ is missing (needs a deb-src entry: tools/deps.sh --source).
$(LWIP_STAMP):
	sh tools/fetch-lwip.sh build
$(filter-out $(LWIP_STAMP),$(LWIP_FILES)): | $(LWIP_STAMP)
	@:

.PHONY: lwip-fetch
lwip-fetch: $(LWIP_STAMP)

# Emulator tests: DHCP + ping on e1000, e1000e, virtio-net; static address; TCP throughput.
TEST_TIERS += test-net
.PHONY: test-net
test-net: $(BUILD)/shoal.elf
	@$(PYTHON) tests/integration/net_test.py --build $(BUILD) --jobs 2
