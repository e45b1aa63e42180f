# TLS for the migration channel: mbedTLS (fetched from Debian's source archive into build/mbedtls/, never
# committed; MBEDTLS_DIR, MBEDTLS_STAMP, TLS_INC and HASH_SRC are set in the Makefile) under lwIP's altcp TLS
# layer, shoal's config and port (net/tls/), and the TLS emulator tests. mbedTLS is also the kernel's SHA-256 and MD5.

# Only what TLS 1.2 ECDHE-PSK with ChaCha20-Poly1305 needs (net/tls/mbedtls_config.h), altcp's x509 use,
# the management API's ECDSA certificate (made at boot: key generation, x509write; PEM from modules), and MD5
# (kernel/md5.c, iSCSI CHAP).
MBEDTLS_LIB   := aes asn1parse bignum chacha20 chachapoly cipher cipher_wrap constant_time ctr_drbg ecdh ecp \
                 ecp_curves entropy entropy_poll md md5 oid pk pk_wrap pkparse platform platform_util poly1305 sha256 \
                 ssl_ciphersuites ssl_cli ssl_msg ssl_srv ssl_tls x509 x509_crt \
                 ecdsa gcm asn1write pkwrite x509_create x509write_crt pem base64
MBEDTLS_FILES := $(patsubst %,$(MBEDTLS_DIR)/library/%.c,$(MBEDTLS_LIB))
ALTCP_FILES   := $(patsubst %,$(LWIP_SRC)/core/%.c,altcp altcp_alloc altcp_tcp) \
                 $(patsubst %,$(LWIP_SRC)/apps/altcp_tls/%.c,altcp_tls_mbedtls altcp_tls_mbedtls_mem)
TLS_FILES     := $(wildcard net/tls/*.c)

KSRC += $(MBEDTLS_FILES) $(ALTCP_FILES)

MBEDTLS_OBJ   := $(patsubst %,$(BUILD)/k/%.o,$(MBEDTLS_FILES))
ALTCP_OBJ     := $(patsubst %,$(BUILD)/k/%.o,$(ALTCP_FILES))
TLS_OBJ       := $(patsubst %,$(BUILD)/k/%.o,$(TLS_FILES))
# kernel/sha256.c and kernel/md5.c: shoal's hash API over mbedTLS's (HASH_SRC, set in the Makefile).
HASH_OBJ      := $(patsubst %,$(BUILD)/k/%.o,$(filter kernel/%,$(HASH_SRC)))

# shoal's TLS files keep -Werror; mbedTLS and lwIP's altcp files get the same flags, known warnings relaxed.
THIRD_PARTY_WARN := -Wno-unused-parameter -Wno-sign-compare -Wno-implicit-fallthrough \
                    -Wno-unused-but-set-variable -Wno-unused-function -Wno-missing-field-initializers -Wno-unused-result
$(TLS_OBJ) $(HASH_OBJ): KCFLAGS += $(TLS_INC)
$(MBEDTLS_OBJ): KCFLAGS += $(TLS_INC) -Inet/port/include $(THIRD_PARTY_WARN)
$(ALTCP_OBJ): KCFLAGS += $(TLS_INC) $(LWIP_INC) $(THIRD_PARTY_WARN) -Wno-address
$(TLS_OBJ) $(HASH_OBJ) $(MBEDTLS_OBJ) $(ALTCP_OBJ) $(NET_OBJ): | $(MBEDTLS_STAMP)

# Fetch and unpack mbedTLS when build/mbedtls/ is missing (needs a deb-src entry: tools/deps.sh --source).
$(MBEDTLS_STAMP):
	sh tools/fetch-mbedtls.sh build
$(filter-out $(MBEDTLS_STAMP),$(MBEDTLS_FILES)): | $(MBEDTLS_STAMP)
	@:
$(ALTCP_FILES): | $(LWIP_STAMP)
	@:

.PHONY: mbedtls-fetch
mbedtls-fetch: $(MBEDTLS_STAMP)

# The emulator tier talks to OpenSSL's s_server/s_client on the host.
DEPS_PKGS += openssl

# Host unit tests of the key parsing.
TLS_UNIT_SRC := net/tls/psk.c net/iscsi/chap.c $(HASH_SRC)
$(eval $(call UNIT_TIER,tls,tls_tests,tests/unit/test_tls_psk.c $(TLS_UNIT_SRC) tests/unit/test_main.c,net/tls/psk.h,\
    $(HASH_CFLAGS)))

# Emulator tests: shoal's TLS channel against OpenSSL (client and server), wrong keys, hostile peers,
# under QEMU (SVM); the channel to the host's own address also under Bochs (VMX, from the ISO).
TEST_TIERS += test-tls
TIER_LIMIT_test-tls ?= 1200
.PHONY: test-tls
test-tls: $(BUILD)/shoal.elf $(BUILD)/shoal.iso
	@$(PYTHON) tests/integration/tls_tests.py --build $(BUILD) --jobs 2
