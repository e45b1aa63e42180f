#!/bin/sh
# Build the Linux guest images under OUT (default build/guest): Debian bookworm's cloud and standard
# kernels (fetched with apt-get download), a busybox initramfs per kernel with its virtio/ext4 modules,
# and a small ext4 disk image made without root. Cached: a finished kernel or image is not rebuilt.
# Usage: tools/guest/build-images.sh [OUT]
set -eu
OUT=${1:-build/guest}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT/debs"
OUT=$(cd "$OUT" && pwd)

# The versioned image package a metapackage depends on (linux-image-cloud-amd64 -> linux-image-6.1.0-N-cloud-amd64).
image_pkg() {
    apt-cache depends "$1" | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1
}

fetch_deb() {   # fetch_deb PKG: the .deb's path in $OUT/debs (downloaded once)
    f=$(ls "$OUT/debs/$1"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$f" ]; then
        (cd "$OUT/debs" && apt-get download "$1" >/dev/null)
        f=$(ls "$OUT/debs/$1"_*.deb | head -n 1)
    fi
    echo "$f"
}

build_flavour() {   # build_flavour NAME METAPACKAGE
    name=$1; meta=$2; dir="$OUT/$name"
    stamp=$(cat "$HERE/mkinitramfs.sh" | sha256sum | cut -c1-16)
    if [ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.img" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "guest $name: cached ($dir)"; return 0
    fi
    pkg=$(image_pkg "$meta")
    [ -n "$pkg" ] || { echo "error: cannot resolve $meta (run apt-get update)" >&2; exit 1; }
    deb=$(fetch_deb "$pkg")
    rm -rf "$dir"; mkdir -p "$dir/root"
    dpkg-deb -x "$deb" "$dir/root"
    kver=$(ls "$dir/root/lib/modules" | head -n 1)
    depmod -b "$dir/root" "$kver"
    sh "$HERE/mkinitramfs.sh" "$dir/root" "$kver" "$dir/initrd.img"
    cp "$dir/root/boot/vmlinuz-$kver" "$dir/vmlinuz"
    echo "$kver" > "$dir/version"
    echo "$stamp" > "$dir/stamp"
    rm -rf "$dir/root"
    echo "guest $name: $kver vmlinuz $(stat -c %s "$dir/vmlinuz") initrd $(stat -c %s "$dir/initrd.img")"
}

# The uncompressed ELF vmlinux inside a bzImage (for PVH entry): the payload named by payload_offset and
# payload_length (boot.rst), LZ4 or XZ; the decompressed size the build appends is ignored by the tools.
extract_vmlinux() {   # extract_vmlinux BZIMAGE OUT
    hdr=$(od -An -tu1 -j 497 -N 1 "$1" | tr -d ' ')
    [ "$hdr" -eq 0 ] && hdr=4
    po=$(od -An -tu4 -j 584 -N 4 "$1" | tr -d ' ')
    pl=$(od -An -tu4 -j 588 -N 4 "$1" | tr -d ' ')
    magic=$(od -An -tx1 -j $(( (hdr + 1) * 512 + po )) -N 4 "$1" | tr -d ' ')
    tail -c +$(( (hdr + 1) * 512 + po + 1 )) "$1" | head -c "$pl" > "$2.z"
    case "$magic" in
        02214c18) lz4 -dc "$2.z" > "$2" 2>/dev/null || true;;
        fd377a58) xz -dc "$2.z" > "$2" 2>/dev/null || true;;
        *) echo "error: unknown kernel payload format $magic" >&2; rm -f "$2.z"; return 1;;
    esac
    rm -f "$2.z"
    [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || { echo "error: no ELF in $1" >&2; return 1; }
}

build_disk() {   # a 16 MiB ext4 image with a known file, made without root (mke2fs -d)
    [ -s "$OUT/disk.img" ] && { echo "guest disk: cached"; return 0; }
    t="$OUT/disk.d"; rm -rf "$t"; mkdir -p "$t"
    echo "shoal guest disk" > "$t/hello.txt"
    head -c 1048576 /dev/zero | tr '\0' 'x' > "$t/pattern.bin"
    mke2fs -q -F -t ext4 -L shoaldisk -E root_owner=0:0 -d "$t" "$OUT/disk.img.tmp" 16M
    mv "$OUT/disk.img.tmp" "$OUT/disk.img"; rm -rf "$t"
    echo "guest disk: $(stat -c %s "$OUT/disk.img") bytes"
}

build_flavour cloud linux-image-cloud-amd64
[ -s "$OUT/cloud/vmlinux" ] || { extract_vmlinux "$OUT/cloud/vmlinuz" "$OUT/cloud/vmlinux" &&
    echo "guest cloud: vmlinux (PVH) $(stat -c %s "$OUT/cloud/vmlinux")"; }
build_flavour std linux-image-amd64
build_disk
