#!/bin/sh
# Build the golden demo disk OUT/demo.img (+ demo.sha256) without root: GPT, one ext4 partition at 1 MiB holding
# the Debian cloud kernel, a busybox initramfs that mounts the disk, and a busybox userland serving a web page.
# Cached: rebuilt only when tools/golden/* or the guest kernel changes, or the image no longer matches its hash.
# Usage: tools/golden/build.sh [OUT] [GUEST_DIR]   (GUEST_DIR from tools/guest/build-images.sh, default build/guest)
set -eu
OUT=${1:-build/golden}
GUEST=${2:-build/guest}
HERE=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
GUEST=$(cd "$GUEST" && pwd)
# Fixed identities and times: the same inputs give the same image (the pool indexes its blocks by hash).
EPOCH=1700000000
DISK_GUID=5A4F414C-0000-4000-8000-000000000001
PART_GUID=5A4F414C-0000-4000-8000-000000000002
FS_UUID=5a4f414c-0000-4000-8000-000000000003
LINUX_FS=0FC63DAF-8483-4772-8E79-3D69D8477DE4

die() { echo "golden: error: $*" >&2; exit 1; }

for t in mke2fs e2fsck sfdisk cpio depmod modprobe dpkg-deb gzip; do
    command -v "$t" >/dev/null 2>&1 || die "$t missing (make deps: busybox-static e2fsprogs fdisk cpio kmod)"
done
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (install busybox-static)"
[ -s "$GUEST/cloud/vmlinuz" ] && [ -s "$GUEST/cloud/version" ] || die "no guest kernel in $GUEST (make guest-images)"
KVER=$(cat "$GUEST/cloud/version")
STAMP=$( (cat "$HERE"/*; echo "$KVER") | sha256sum | cut -c1-16)

cached() {   # true when demo.img is there, built by these scripts, and still matches demo.sha256
    [ -s "$OUT/demo.img" ] && [ -s "$OUT/demo.sha256" ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$STAMP" ] &&
        (cd "$OUT" && sha256sum -c --status demo.sha256)
}

unpack_kernel() {   # the cloud kernel package's modules under $W/k with modules.dep
    deb=$(ls "$GUEST/debs/linux-image-${KVER}_"*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || die "no linux-image-$KVER .deb in $GUEST/debs"
    mkdir -p "$W/k"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$W/k" --wildcards './lib/modules/*'
    depmod -b "$W/k" "$KVER"
}

# Modules the initramfs loads, dependencies first: virtio transports (mmio for shoal, pci for plain QEMU),
# the disk and NIC drivers, ext4 (built into the cloud kernel: modprobe reports "builtin" and it is skipped).
MODULES="virtio virtio_ring virtio_mmio virtio_pci virtio_blk virtio_net ext4 crc32c_generic"

add_modules() {   # add_modules DIR: uncompressed .ko files in DIR/lib/modules and their load order in DIR/etc/modules
    list=""
    for m in $MODULES; do
        for ko in $(modprobe -d "$W/k" -S "$KVER" --show-depends "$m" 2>/dev/null | sed -n 's/^insmod \([^ ]*\).*/\1/p'); do
            case " $list " in *" $ko "*) ;; *) list="$list $ko";; esac
        done
    done
    [ -n "$list" ] || die "no modules resolved for $KVER"
    mkdir -p "$1/lib/modules" "$1/etc"
    : > "$1/etc/modules"
    for ko in $list; do
        base=$(basename "$ko")
        case "$base" in
            *.ko.xz) xz -dc "$ko" > "$1/lib/modules/${base%.xz}"; base=${base%.xz};;
            *.ko.zst) zstd -qdc "$ko" > "$1/lib/modules/${base%.zst}"; base=${base%.zst};;
            *) cp "$ko" "$1/lib/modules/$base";;
        esac
        echo "$base" >> "$1/etc/modules"
    done
}

make_initrd() {   # make_initrd OUT.img: busybox, modules and initrd.init as /init, newc cpio, gzip
    d="$W/initrd"
    mkdir -p "$d/bin" "$d/proc" "$d/sys" "$d/dev" "$d/newroot"
    cp "$BUSYBOX" "$d/bin/busybox"
    for a in sh mount umount insmod cat echo sleep findfs setsid cttyhack switch_root; do
        ln -s busybox "$d/bin/$a"
    done
    add_modules "$d"
    install -m 755 "$HERE/initrd.init" "$d/init"
    find "$d" -exec touch -h -d "@$EPOCH" {} +
    (cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9 -n) > "$1"
}

make_tree() {   # the root filesystem's directories, busybox with its applet links, config files
    r="$W/root"
    for x in bin sbin usr/bin usr/sbin boot dev proc sys tmp run www root etc/udhcpc mnt var usr/share/udhcpc; do
        mkdir -p "$r/$x"
    done
    chmod 1777 "$r/tmp"
    chmod 700 "$r/root"
    cp "$BUSYBOX" "$r/bin/busybox"
    for p in $("$BUSYBOX" --list-full); do
        case "$p" in sbin/init|linuxrc|bin/busybox) continue;; esac
        [ -e "$r/$p" ] || ln -s /bin/busybox "$r/$p"
    done
    install -m 755 "$HERE/root.init" "$r/sbin/init"
    install -m 755 "$HERE/udhcpc.script" "$r/etc/udhcpc/default.script"
    ln -s /etc/udhcpc/default.script "$r/usr/share/udhcpc/default.script"
    ln -s /run "$r/var/run"
    ln -s /run/resolv.conf "$r/etc/resolv.conf"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
    printf 'root:x:0:\ntty:x:5:\n' > "$r/etc/group"
    printf '127.0.0.1\tlocalhost\n' > "$r/etc/hosts"
    cp "$GUEST/cloud/vmlinuz" "$r/boot/vmlinuz"
    make_initrd "$r/boot/initrd.img"
    find "$r" -exec touch -h -d "@$EPOCH" {} +
}

disk_mib() {   # total disk size: 64 MiB, or more in 16 MiB steps when the tree needs it (+50% and 8 MiB spare)
    used_kib=$(du -sk "$W/root" | cut -f1)
    need=$(( used_kib * 3 / 2 / 1024 + 8 + 2 ))
    size=64
    while [ "$size" -lt "$need" ]; do size=$((size + 16)); done
    echo "$size"
}

make_disk() {   # make_disk OUT.img: GPT (partition 1 from 1 MiB to 1 MiB before the end), ext4 via mke2fs -d, dd
    total=$(disk_mib)
    part_mib=$((total - 2))
    rm -f "$1"
    truncate -s "${total}M" "$1"
    sfdisk -q "$1" <<EOF
label: gpt
label-id: $DISK_GUID
start=2048, size=$((part_mib * 2048)), type=$LINUX_FS, uuid=$PART_GUID, name=shoalroot
EOF
    truncate -s "${part_mib}M" "$W/root.ext4"
    # Inode tables and journal zeroed now, so the guest's kernel has no lazy-init writes to make at each boot.
    E2FSPROGS_FAKE_TIME=$EPOCH mke2fs -q -F -t ext4 -b 4096 -m 0 -L shoalroot -U "$FS_UUID" \
        -E root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0,nodiscard,hash_seed=$FS_UUID \
        -d "$W/root" "$W/root.ext4" "${part_mib}M"
    E2FSPROGS_FAKE_TIME=$EPOCH fix_inodes "$W/root.ext4"
    e2fsck -fn "$W/root.ext4" > "$W/fsck.log" 2>&1 ||
        { cat "$W/fsck.log" >&2; die "e2fsck finds the new filesystem inconsistent"; }
    dd if="$W/root.ext4" of="$1" bs=1M seek=1 conv=notrunc,sparse status=none
    sfdisk -q --verify "$1" >/dev/null || die "sfdisk --verify fails on $1"
}

fix_inodes() {   # fix_inodes FS: mke2fs -d copies each file's ctime and atime (and the builder's uid/gid): pin them
    (cd "$W/root" && find . | LC_ALL=C sort) | sed 's|^\.||; s|^$|/|' | while read -r p; do
        printf 'sif "%s" ctime @%s\nsif "%s" atime @%s\n' "$p" "$EPOCH" "$p" "$EPOCH"
        [ "$(id -u)" -eq 0 ] || printf 'sif "%s" uid 0\nsif "%s" gid 0\n' "$p" "$p"
    done > "$W/inodes.cmds"
    debugfs -w -f "$W/inodes.cmds" "$1" > "$W/debugfs.log" 2>&1 || die "debugfs could not fix inodes"
    # debugfs echoes each command and exits 0 whatever happens: any other line is an error.
    ! grep -v '^debugfs' "$W/debugfs.log" | grep -q . ||
        { grep -v '^debugfs' "$W/debugfs.log" | head -n 3 >&2; die "debugfs could not fix inodes"; }
}

if cached; then
    echo "golden: cached ($OUT/demo.img)"
    exit 0
fi
W="$OUT/work"
rm -rf "$W"; mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
unpack_kernel
make_tree
make_disk "$W/demo.img"
mv "$W/demo.img" "$OUT/demo.img"
(cd "$OUT" && sha256sum demo.img > demo.sha256)
echo "$STAMP" > "$OUT/stamp"
echo "golden: $OUT/demo.img $(stat -c %s "$OUT/demo.img") bytes, kernel $KVER," \
     "initrd $(stat -c %s "$W/root/boot/initrd.img") bytes, files $(du -sk "$W/root" | cut -f1) KiB," \
     "sha256 $(cut -c1-16 "$OUT/demo.sha256")"
