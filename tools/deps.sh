#!/bin/sh
# Install the Debian packages the build and tests need, when missing (idempotent, quiet when all present).
# Usage: tools/deps.sh PKG... [--source SRCPKG...]: --source also enables deb-src entries derived from
# this machine's own apt sources (no archive host is written anywhere) so `apt-get source` works.
set -e
missing=""
sources=""
mode=pkg
for p in "$@"; do
    if [ "$p" = "--source" ]; then mode=src; continue; fi
    if [ "$mode" = src ]; then sources="$sources $p"; continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need_update=""
if [ -n "$sources" ]; then
    # deb822 files: copy each Types: deb stanza as deb-src into shoal-src.sources.
    dst=/etc/apt/sources.list.d/shoal-src.sources
    if [ ! -f "$dst" ] && ! grep -rqs 'deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        tmp=$(mktemp)
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            awk 'BEGIN { RS = ""; ORS = "\n\n" } /(^|\n)Types:[^\n]*deb/ && /debian/ { sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" >> "$tmp"
        done
        if [ -f /etc/apt/sources.list ]; then
            grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "$tmp.list" || true
            [ -s "$tmp.list" ] && $SUDO cp "$tmp.list" /etc/apt/sources.list.d/shoal-src.list
        fi
        [ -s "$tmp" ] && $SUDO cp "$tmp" "$dst"
        rm -f "$tmp" "$tmp.list"
        need_update=1
    fi
fi
if [ -n "$missing" ] || [ -n "$need_update" ]; then
    echo "deps: installing:$missing"
    $SUDO apt-get update -qq
fi
if [ -n "$missing" ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
