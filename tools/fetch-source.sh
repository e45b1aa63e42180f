#!/bin/sh
# Fetch a Debian source package's upstream tarball with apt-get source and unpack it (never committed).
# Usage: tools/fetch-source.sh SRCPKG STAMP_FILE [BUILD_DIR] -> BUILD_DIR/SRCPKG/ via BUILD_DIR/SRCPKG-src/;
# nothing is done when BUILD_DIR/SRCPKG/STAMP_FILE exists. The deb-src entry is derived from this
# machine's own apt sources by tools/deps.sh --source.
set -e
pkg=$1
stamp=$2
build=${3:-build}
dest="$build/$pkg"
[ -f "$dest/$stamp" ] && exit 0
here=$(cd "$(dirname "$0")/.." && pwd)
sh "$here/tools/deps.sh" --source "$pkg"
mkdir -p "$build/$pkg-src"
orig=$(ls "$build/$pkg-src/${pkg}_"*.orig.tar.* 2>/dev/null | head -n 1)
# Each version the sources list, in apt's order, until one downloads: the newest may name a pool (a security
# update) that the machine's mirror does not carry.
fetch_any() {
    (cd "$build/$pkg-src" && apt-get source --download-only "$pkg" >/dev/null 2>&1) && return 0
    for v in $(apt-cache showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p'); do
        (cd "$build/$pkg-src" && apt-get source --download-only "$pkg=$v" >/dev/null 2>&1) && return 0
    done
    return 1
}
if [ -z "$orig" ]; then
    # apt-get source may fail to update index files if deb-src was just added by another run: retry update once.
    fetch_any || { apt-get update -qq && fetch_any; } || {
        echo "fetch-source: no version of $pkg could be downloaded (apt-get source $pkg)" >&2; exit 1; }
    orig=$(ls "$build/$pkg-src/${pkg}_"*.orig.tar.* | head -n 1)
fi
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
tar -xf "$orig" -C "$tmp" --strip-components=1
[ -f "$tmp/$stamp" ] || { echo "fetch-source: $orig has no $stamp" >&2; rm -rf "$tmp"; exit 1; }
rm -rf "$dest"
mv "$tmp" "$dest"
echo "fetch-source: unpacked $(basename "$orig") into $dest"
