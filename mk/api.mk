# The management API (net/api/): lwIP's httpd over altcp TLS (mbedTLS), the JSON API, /metrics, the status
# page; its host unit tier, its request-parser fuzzer and the emulator tier. (pool/api.c and vmm/api.c register
# the resources of their subsystems: they include net/api/api.h, never the reverse.)

API_OBJ := $(patsubst %,$(BUILD)/k/%.o,$(wildcard net/api/*.c))

# net/api/httpd_glue.c compiles lwIP's httpd.c inside itself (see its comment): lwIP's warnings relaxed there.
$(API_OBJ): KCFLAGS += $(LWIP_INC) $(TLS_INC) -I$(LWIP_SRC)
$(BUILD)/k/net/api/httpd_glue.c.o: KCFLAGS += $(THIRD_PARTY_WARN) -Wno-address
$(API_OBJ): | $(LWIP_STAMP) $(MBEDTLS_STAMP)

# The status page, one self-contained HTML file, compiled in as a C string.
$(BUILD)/k/net/api/page.c.o: $(BUILD)/gen/net/api/page.html.inc
$(BUILD)/k/net/api/page.c.o: KCFLAGS += -I$(BUILD)/gen
$(BUILD)/gen/net/api/page.html.inc: net/api/page.html tools/c-string.py
	@mkdir -p $(dir $@)
	$(PYTHON) tools/c-string.py < $< > $@

# Host unit tests of the request parser, the JSON reader/writer and the token comparison.
API_UNIT_SRC := net/api/json.c net/api/http.c kernel/kstring.c kernel/printf.c
$(eval $(call UNIT_TIER,api,api_tests,tests/unit/test_api.c $(API_UNIT_SRC) $(HOST_SHIM),\
    net/api/json.h net/api/http.h tests/unit/test.h))

# Emulator tier: the API end to end under QEMU (host ports forwarded), shoalctl against two hosts,
# /metrics through Prometheus' parser, the page in headless Chromium.
# Debian's python3-prometheus-client is seen by Debian's own interpreter only (a python3 earlier in PATH,
# such as a pyenv shim, does not see it): the tier runs under /usr/bin/python3 where that exists.
DEPS_PKGS += python3-prometheus-client chromium openssl
API_PYTHON ?= $(if $(wildcard /usr/bin/python3),/usr/bin/python3,$(PYTHON))
TEST_TIERS += test-api
.PHONY: test-api
test-api: $(BUILD)/shoal.elf golden-image
	@$(API_PYTHON) tests/integration/api_tests.py --build $(BUILD) --jobs 2

# The request parser's fuzzer: header sections, paths and JSON bodies.
$(eval $(call SEEDED_FUZZ_TIER,api,fuzz.api_requests,tests/fuzz/api_fuzz.c $(API_UNIT_SRC) tests/unit/host_shim.c,\
    net/api/json.h net/api/http.h,-max_len=16384,API_FUZZ_SEEDS))
