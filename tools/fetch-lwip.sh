#!/bin/sh
# Fetch lwIP's upstream sources from Debian's source archive into BUILD_DIR/lwip/ (never committed).
# Usage: tools/fetch-lwip.sh BUILD_DIR
exec sh "$(dirname "$0")/fetch-source.sh" lwip src/core/init.c "${1:-build}"
