#!/bin/sh
# Fetch zlib (migration page compression) from Debian's source archive into BUILD_DIR/zlib (never committed).
# Usage: tools/fetch-zlib.sh BUILD_DIR
exec sh "$(dirname "$0")/fetch-source.sh" zlib deflate.c "${1:-build}"
