#!/bin/sh
# Fetch mbedTLS's upstream sources from Debian's source archive into BUILD_DIR/mbedtls/ (never committed).
# Usage: tools/fetch-mbedtls.sh BUILD_DIR
exec sh "$(dirname "$0")/fetch-source.sh" mbedtls library/ssl_tls.c "${1:-build}"
