#!/bin/sh
# Make a busybox-static initramfs for a Debian kernel: the virtio, virtio-mmio, virtio-blk/net and ext4
# modules with their dependencies (kmod's modprobe --show-depends), and an /init that mounts proc/sys/dev,
# loads them, prints SHOAL-GUEST-UP on the console and runs a shell there.
# Usage: mkinitramfs.sh ROOT KVER OUT.img   (ROOT holds lib/modules/KVER with modules.dep)
set -eu
ROOT=$1; KVER=$2; IMG=$3
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "error: $BUSYBOX missing (install busybox-static)" >&2; exit 1; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/bin" "$W/sbin" "$W/proc" "$W/sys" "$W/dev" "$W/tmp" "$W/mnt" "$W/lib/modules" "$W/etc"
cp "$BUSYBOX" "$W/bin/busybox"
for a in sh mount umount insmod cat echo ls mkdir sleep dmesg poweroff reboot halt sha256sum head dd \
         date ip ifconfig udhcpc ping grep sync uname free df hexdump route cmp od tr wc nproc sed; do
    ln -s busybox "$W/bin/$a"
done
# Modules in load order (dependencies first); built-in ones (e.g. ext4 in the cloud kernel) print "builtin".
list=""
for m in virtio virtio_ring virtio_mmio virtio_blk virtio_net ext4 crc32c_generic; do
    modprobe -d "$ROOT" -S "$KVER" --show-depends "$m" 2>/dev/null | sed -n 's/^insmod \([^ ]*\).*/\1/p' > "$W/deps" || true
    while read -r ko; do
        case " $list " in *" $ko "*) ;; *) list="$list $ko";; esac
    done < "$W/deps"
done
: > "$W/etc/modules"
for ko in $list; do
    base=$(basename "$ko")
    case "$base" in
        *.ko.xz) xz -dc "$ko" > "$W/lib/modules/${base%.xz}"; base=${base%.xz};;
        *.ko.zst) zstd -qdc "$ko" > "$W/lib/modules/${base%.zst}"; base=${base%.zst};;
        *) cp "$ko" "$W/lib/modules/$base";;
    esac
    echo "$base" >> "$W/etc/modules"
done
# udhcpc's hook (Debian's busybox looks in /etc/udhcpc): the interface's address and default route from the lease.
mkdir -p "$W/etc/udhcpc" "$W/usr/share/udhcpc"
cat > "$W/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
    deconfig) ip addr flush dev "$interface"; ip link set "$interface" up;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
        echo "udhcpc: $interface bound to $ip";;
esac
exit 0
DHCP
chmod 755 "$W/etc/udhcpc/default.script"
ln -s /etc/udhcpc/default.script "$W/usr/share/udhcpc/default.script"
cat > "$W/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /etc/modules); do insmod /lib/modules/$m 2>/dev/null || echo "insmod $m failed"; done
echo SHOAL-GUEST-UP
exec setsid cttyhack sh
INIT
ln -s busybox "$W/bin/setsid"
ln -s busybox "$W/bin/cttyhack"
chmod 755 "$W/init"
rm -f "$W/deps"
(cd "$W" && find . | cpio -o -H newc --quiet | gzip -9) > "$IMG"
