#!/bin/sh
# Make the pool/ reader test images with the real tools (mke2fs -d, e2fsck -D, sfdisk) and write the
# expectations the unit test checks against (sfdisk's dump, debugfs's inode/block locations).
# Usage: blk_fs_images.sh OUTDIR
set -eu
out=$1
export PATH="$PATH:/sbin:/usr/sbin"
for t in mke2fs e2fsck debugfs sfdisk; do
    command -v $t >/dev/null || { echo "missing tool $t (packages e2fsprogs fdisk)"; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"
cd "$out"
export E2FSPROGS_FAKE_TIME=1700000000 MKE2FS_DEVICE_SECTSIZE=512

# --- staging tree: every regular file here is read back through blk/fs/ext4.c and compared.
s=src
mkdir -p $s/boot $s/etc $s/bigdir $s/a/b/c/d/e $s/chain $s/loop
mkdir -p $s/a/a-rather-long-directory-name-for-slow-links/and-another-long-one
head -c 3145728 /dev/urandom > $s/boot/vmlinuz-6.1.0
head -c 1572865 /dev/urandom > $s/boot/initrd.img-6.1.0
ln -s vmlinuz-6.1.0 $s/boot/vmlinuz                       # fast, relative
ln -s /boot/initrd.img-6.1.0 $s/boot/initrd.img           # fast, absolute
ln -s boot/vmlinuz $s/vmlinuz                             # chain: relative link to a link
ln -s /boot/initrd.img $s/initrd.img
echo shoal-guest > $s/etc/hostname
: > $s/etc/empty
head -c 60 /dev/urandom > $s/etc/sixty
head -c 59 /dev/urandom > $s/etc/fiftynine
head -c 100 /dev/urandom > $s/etc/hundred                 # inline_data: 60 bytes in i_block, 40 in an xattr
head -c 4097 /dev/urandom > $s/etc/page-and-one
echo deep > $s/a/b/c/d/e/deep.txt
long=a/a-rather-long-directory-name-for-slow-links/and-another-long-one
head -c 777 /dev/urandom > $s/$long/target.bin
ln -s /$long/target.bin $s/slowlink                       # slow (> 60 bytes), absolute
ln -s ../../../../$long/target.bin $s/a/b/c/d/slowrel     # slow, relative with ..
ln -s a/b $s/dirlink                                      # directory link in the middle of a path
i=1
while [ $i -le 7 ]; do ln -s l$((i + 1)) $s/chain/l$i; i=$((i + 1)); done
ln -s ../etc/hostname $s/chain/l8                         # l1: exactly 8 links
ln -s l1 $s/chain/l0                                      # l0: 9 links, too many
ln -s b $s/loop/a
ln -s a $s/loop/b
ln -s /nonexistent $s/dangling
# sparse: data, hole, data, hole to the end; many-extents: 10 chunks apart (an extent tree of depth 1).
dd if=/dev/urandom of=$s/sparse.bin bs=4096 count=1 2>/dev/null
dd if=/dev/urandom of=$s/sparse.bin bs=4096 count=3 seek=256 conv=notrunc 2>/dev/null
truncate -s 8M $s/sparse.bin
: > $s/many-extents.bin
i=0
while [ $i -lt 10 ]; do
    dd if=/dev/urandom of=$s/many-extents.bin bs=8192 count=1 seek=$((i * 9)) conv=notrunc 2>/dev/null
    i=$((i + 1))
done
# triple.bin: one block past 64 MiB + 268 KiB, so a 1 KiB-block ext2 needs its triple-indirect block.
dd if=/dev/urandom of=$s/triple.bin bs=1024 count=2 seek=70000 2>/dev/null
i=0
while [ $i -lt 2000 ]; do echo "file $i" > $s/bigdir/f$i; i=$((i + 1)); done

# links.txt: path, then the staging file it must resolve to (or an errno name).
cat > links.txt <<EOF
/boot/vmlinuz boot/vmlinuz-6.1.0
/boot/initrd.img boot/initrd.img-6.1.0
/vmlinuz boot/vmlinuz-6.1.0
/initrd.img boot/initrd.img-6.1.0
/slowlink $long/target.bin
/a/b/c/d/slowrel $long/target.bin
/dirlink/c/d/e/deep.txt a/b/c/d/e/deep.txt
/dirlink/c/../c/d/e/deep.txt a/b/c/d/e/deep.txt
/chain/l1 etc/hostname
/chain/l0 ELOOP
/loop/a ELOOP
/dangling ENOENT
/boot/nothing ENOENT
/etc/hostname/x ENOTDIR
EOF

# --- filesystems: name, block size, mke2fs options, size. Each gets e2fsck -fyD (htree dirs) and a check.
mkfs() {
    name=$1; shift
    dir=$1; shift
    size=$1; shift
    mke2fs -q -F "$@" -d $dir $name.img $size 2>&1 | grep -v -e "^Creating" -e "^Warning" -e "^$" -e "too small for a journal" || true
    e2fsck -fyD $name.img >/dev/null 2>&1 || [ $? -le 1 ]
    e2fsck -fn $name.img >/dev/null 2>&1
    echo "$name $dir" >> images.txt
}
: > images.txt
cp -a $s src-small                                        # 64 KiB blocks: 2000 files would need 128 MiB
rm -rf src-small/bigdir
cp -a $s src-inline                                       # mke2fs 1.47 -O inline_data drops a trailing hole
rm -f src-inline/sparse.bin
mkfs ext4-4k $s 48M -t ext4 -b 4096
mkfs ext4-1k-32 $s 48M -t ext4 -b 1024 -O ^64bit
mkfs ext4-blockmap $s 48M -t ext4 -b 4096 -O ^extents,^64bit
mkfs ext3-2k $s 48M -t ext3 -b 2048
mkfs ext2-1k $s 48M -t ext2 -b 1024
mkfs ext4-metabg $s 48M -t ext4 -b 1024 -g 1024 -O meta_bg,^resize_inode
mkfs ext4-inline src-inline 48M -t ext4 -b 4096 -O inline_data
mkfs ext4-64k src-small 64M -t ext4 -b 65536

# The features each image was meant to exercise, checked with debugfs so a tool change cannot hide them.
debugfs -R "htree_dump /bigdir" ext4-4k.img 2>/dev/null | grep -q "Root node dump" || { echo "bigdir not htree"; exit 1; }
debugfs -R "stat /triple.bin" ext2-1k.img 2>/dev/null | grep -q TIND || { echo "no triple indirect"; exit 1; }
debugfs -R "stat /boot/vmlinuz-6.1.0" ext2-1k.img 2>/dev/null | grep -q DIND || { echo "no double indirect"; exit 1; }
debugfs -R "stat /etc/sixty" ext4-inline.img 2>/dev/null | grep -q "Flags: 0x10000000" || { echo "no inline data"; exit 1; }
debugfs -R "stat /etc/hundred" ext4-inline.img 2>/dev/null | grep -q "system.data (40)" || { echo "no inline xattr"; exit 1; }
debugfs -R "stat /a/b/c/d/e" ext4-inline.img 2>/dev/null | grep -q "Flags: 0x10000000" || { echo "no inline dir"; exit 1; }
debugfs -R "ex /many-extents.bin" ext4-4k.img 2>/dev/null | grep -q "^ 0/ 1" || { echo "no depth-1 extent tree"; exit 1; }

# --- locations for the corruption tests (ext4-4k): byte offsets of inodes and of /boot's first block.
inode_off() {   # debugfs imap: "located at block B, offset 0xO"
    debugfs -R "imap $2" $1.img 2>/dev/null | sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p' |
        { read b o; echo $(( b * $3 + o )); }
}
{
    echo "vmlinuz_inode $(inode_off ext4-4k /boot/vmlinuz-6.1.0 4096)"
    echo "many_inode $(inode_off ext4-4k /many-extents.bin 4096)"
    echo "boot_block $(( $(debugfs -R "blocks /boot" ext4-4k.img 2>/dev/null | awk '{print $1}') * 4096 ))"
    echo "blockmap_vmlinuz_inode $(inode_off ext4-blockmap /boot/vmlinuz-6.1.0 4096)"
    echo "blockmap_triple_inode $(inode_off ext4-blockmap /triple.bin 4096)"
} > locations.txt

# --- partitioned disks: a small ext4 holding the boot files, put in an MBR logical and a GPT partition.
mkdir -p psrc/boot
cp $s/boot/vmlinuz-6.1.0 $s/boot/initrd.img-6.1.0 psrc/boot/
ln -s vmlinuz-6.1.0 psrc/boot/vmlinuz
mke2fs -q -F -t ext4 -b 4096 -d psrc part.img 12M
dump_parts() {  # sfdisk -d lines -> "index start size type bootable name"
    sfdisk -d $1.img | awk -v img=$1.img '
        index($0, img) == 1 {
            n = substr($1, length(img) + 1); st = sz = ty = nm = ""; boot = 0
            line = substr($0, index($0, ":") + 1)
            k = split(line, f, ",")
            for (j = 1; j <= k; j++) {
                gsub(/^ +| +$/, "", f[j])
                if (f[j] ~ /^start=/) { st = f[j]; sub(/start= */, "", st) }
                if (f[j] ~ /^size=/) { sz = f[j]; sub(/size= */, "", sz) }
                if (f[j] ~ /^type=/) { ty = f[j]; sub(/type=/, "", ty) }
                if (f[j] ~ /^name=/) { nm = f[j]; sub(/name=/, "", nm); gsub(/"/, "", nm) }
                if (f[j] == "bootable") boot = 1
            }
            print n, st, sz, ty, boot, (nm == "" ? "-" : nm)
        }' > parts-$1.txt
}
put_fs() {      # dd part.img into partition $2 of disk $1
    start=$(awk -v n=$2 '$1 == n { print $2 }' parts-$1.txt)
    dd if=part.img of=$1.img bs=512 seek=$start conv=notrunc 2>/dev/null
}
truncate -s 24M disk-mbr.img
sfdisk -q disk-mbr.img <<EOF
label: dos
start=2048, size=2048, type=c, bootable
start=6144, size=36864, type=5
start=8192, size=24576, type=83
start=34816, size=4096, type=82
EOF
dump_parts disk-mbr
put_fs disk-mbr 5
truncate -s 24M disk-gpt.img
sfdisk -q disk-gpt.img <<EOF
label: gpt
start=2048, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system"
start=4096, size=24576, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="rootfs"
start=28672, size=4096, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
EOF
dump_parts disk-gpt
put_fs disk-gpt 2

# --- fuzz seed: a tiny ext4 (1 KiB blocks, no journal) with a file, a symlink and a directory.
mkdir -p fsrc/boot fsrc/d
head -c 3000 /dev/urandom > fsrc/boot/vmlinuz
ln -s vmlinuz fsrc/boot/link
ln -s /boot/link fsrc/abs
echo x > fsrc/d/f
mke2fs -q -F -t ext4 -b 1024 -O ^has_journal,^resize_inode -N 32 -d fsrc fuzz-seed.img 96K
truncate -s 112K fuzz-seed-gpt.img fuzz-seed-mbr.img          # the same fs in a tiny GPT and an MBR logical
printf 'label: gpt\ntable-length: 4\nfirst-lba: 8\nstart=8, size=192, type=L, name="root"\n' | sfdisk -q fuzz-seed-gpt.img
printf 'label: dos\nstart=1, size=220, type=5\nstart=4, size=192, type=83\n' | sfdisk -q fuzz-seed-mbr.img
dd if=fuzz-seed.img of=fuzz-seed-gpt.img bs=512 seek=8 conv=notrunc 2>/dev/null
dd if=fuzz-seed.img of=fuzz-seed-mbr.img bs=512 seek=4 conv=notrunc 2>/dev/null
touch stamp
echo "images ready in $out"
