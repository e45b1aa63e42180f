#!/bin/sh
# Fetch lwIP's upstream sources from Debian's source archive and unpack them into DEST (never committed).
# Usage: tools/fetch-lwip.sh BUILD_DIR  -> BUILD_DIR/lwip/ (src/ tree) via BUILD_DIR/lwip-src/.
# The deb-src entry is derived from this machine's own apt sources by tools/deps.sh --source.
set -e
build=${1:-build}
dest="$build/lwip"
[ -f "$dest/src/core/init.c" ] && exit 0
here=$(cd "$(dirname "$0")/.." && pwd)
sh "$here/tools/deps.sh" --source lwip
mkdir -p "$build/lwip-src"
orig=$(ls "$build"/lwip-src/lwip_*.orig.tar.* 2>/dev/null | head -n 1)
if [ -z "$orig" ]; then
    # apt-get source may fail to update index files if deb-src was just added by another run: retry update once.
    (cd "$build/lwip-src" && apt-get source --download-only lwip >/dev/null) || {
        apt-get update -qq && (cd "$build/lwip-src" && apt-get source --download-only lwip >/dev/null); }
    orig=$(ls "$build"/lwip-src/lwip_*.orig.tar.* | head -n 1)
fi
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
tar -xf "$orig" -C "$tmp" --strip-components=1
[ -f "$tmp/src/core/init.c" ] || { echo "fetch-lwip: $orig has no src/core/init.c" >&2; rm -rf "$tmp"; exit 1; }
rm -rf "$dest"
mv "$tmp" "$dest"
echo "fetch-lwip: unpacked $(basename "$orig") into $dest"
