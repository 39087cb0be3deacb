#!/usr/bin/env bash
# ext2/3/4 test images, made by mke2fs -d (and, for what only the kernel makes, a read-write loop mount).
# Every image is compared by the tests against the kernel's own read-only loop mount of the same image.
#   ext2_1k ext2_4k ext3_1k ext3_4k        block maps (direct .. triple indirect), 128/256-byte inodes
#   ext4_1k ext4_4k                        extents, 64bit, flex_bg, metadata_csum (mke2fs defaults)
#   ext4_noext                             ext4 without extents (block maps), ext4_32: ^64bit ^metadata_csum
#   ext4_inline                            inline_data files and directories
#   ext4_metabg                            meta_bg, 1 KiB blocks (descriptor blocks spread over meta-groups)
#   ext4_casefold                          casefold feature
#   ext4_bigalloc                          bigalloc, 64 KiB clusters
#   ext4_gdtcsum                           uninit_bg (crc16 descriptor checksums) instead of metadata_csum
#   ext4_64k                               64 KiB blocks (this kernel cannot mount them: oracle is debugfs rdump)
#   ext4_kernel                            1 KiB blocks; through the kernel: a depth-3 extent tree (punched holes),
#                                          unwritten extents, a 3,000-entry htree dir, a 2100 timestamp,
#                                          a file just over 4 GiB (sparse)
#   ext2_big                               ext2 1 KiB with the > 4 GiB sparse file (triple indirect)
#   ext4_recover                           ext4_4k with needs_recovery set (debugfs), for the warning
# Usage: images/ext-basic.sh OUTDIR   (root: mknod, loop mount)
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"
export TZ=UTC E2FSPROGS_FAKE_TIME=1764000000
src="$work/src"
mkdir -p "$src/dir1/sub" "$src/emptydir" "$src/deep/a/b/c" "$src/names"
echo "hello ext" > "$src/small.txt"
head -c 3000000 /dev/urandom > "$src/big.bin"
ln "$src/big.bin" "$src/hardlink.bin"
ln "$src/small.txt" "$src/dir1/sub/small_hardlink.txt"
ln -s small.txt "$src/fastlink"
ln -s "$(printf 'x%.0s' $(seq 1 100))/target/that/is/long/enough/to/need/a/block" "$src/slowlink"
ln -s /etc/passwd "$src/abslink"
ln -s "/$(printf 'y%.0s' $(seq 1 90))/absolute/slow" "$src/absslowlink"
ln -s ../../../../../../etc/shadow "$src/deep/a/b/c/climbing"
ln -s ../../small.txt "$src/deep/a/uplink"
truncate -s 5M "$src/sparse.bin"; printf mid | dd of="$src/sparse.bin" bs=1 seek=3000000 conv=notrunc status=none
truncate -s 70M "$src/huge_sparse.bin"
printf END | dd of="$src/huge_sparse.bin" bs=1 seek=$((70*1024*1024-3)) conv=notrunc status=none
mkfifo "$src/fifo"
mknod "$src/chardev" c 1 3
mknod "$src/blockdev" b 8 1
mknod "$src/bigdev" c 300 70000
perl -MSocket -e 'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die; bind($s, pack_sockaddr_un($ARGV[0])) or die' "$src/socket"
echo tiny > "$src/tiny.txt"
: > "$src/empty.txt"
head -c 60 /dev/urandom > "$src/sixty.bin"
head -c 61 /dev/urandom > "$src/sixtyone.bin"
head -c 150 /dev/urandom > "$src/onefifty.bin"
for i in $(seq 1 300); do echo "$i" > "$src/dir1/file_number_$i.txt"; done
for i in 1 2 3; do echo "$i" > "$src/names/plain$i"; done
echo u > "$src/names/ünïcödé_日本語_😀.txt"
echo b > "$src/names/$(printf 'bad\xff\xfe.bin')"
echo l > "$src/names/$(printf 'latin1_caf\xe9')"
echo p > "$src/names/100%25real"
echo q > "$src/names/$(printf 'mix%%_\x80')"
chmod 4755 "$src/small.txt"; chmod 1777 "$src/emptydir"; chmod 0600 "$src/tiny.txt"; chmod 2750 "$src/dir1/sub"
chown 1234:5678 "$src/big.bin"; chown 100000:200000 "$src/tiny.txt"; chown -h 4321:8765 "$src/fastlink"
touch -d '2030-05-06 07:08:09.123456789 UTC' "$src/small.txt"
touch -d '1960-01-01 00:00:01.5 UTC' "$src/sixty.bin"
touch -d '2001-02-03 04:05:06 UTC' "$src/dir1"

mk() { # name type blocksize size [mke2fs options...]
  local name=$1 type=$2 bs=$3 size=$4; shift 4
  mke2fs -q -F -t "$type" -b "$bs" -L "$name" "$@" -d "$src" "$out/$name.img" "$size"
}
mk ext2_1k ext2 1024 96M
mk ext2_4k ext2 4096 96M
mk ext3_1k ext3 1024 96M -I 128
mk ext3_4k ext3 4096 96M
mk ext4_1k ext4 1024 96M
mk ext4_4k ext4 4096 96M
mk ext4_noext ext4 4096 96M -O ^extents,^64bit
mk ext4_32 ext4 4096 96M -O ^64bit,^metadata_csum
mk ext4_inline ext4 4096 96M -O inline_data
mk ext4_metabg ext4 1024 128M -O meta_bg,^resize_inode -g 2048
mk ext4_casefold ext4 4096 96M -O casefold
mk ext4_bigalloc ext4 4096 128M -O bigalloc -C 65536
mk ext4_64k ext4 65536 256M
mk ext4_gdtcsum ext4 4096 96M -O ^metadata_csum,uninit_bg

cp --sparse=always "$out/ext4_4k.img" "$out/ext4_recover.img"
debugfs -w -R "feature needs_recovery" "$out/ext4_recover.img" >/dev/null 2>&1

# > 4 GiB sparse file: data at the start, across the 4 GiB line, and at the end
big="$work/over4g.bin"
truncate -s $((4*1024*1024*1024 + 8192 + 5)) "$big"
printf START | dd of="$big" bs=1 conv=notrunc status=none
printf ACROSS4G | dd of="$big" bs=1 seek=$((4*1024*1024*1024 - 4)) conv=notrunc status=none
printf TAIL | dd of="$big" bs=1 seek=$((4*1024*1024*1024 + 8192 + 1)) conv=notrunc status=none
mkdir -p "$work/src2"; cp --sparse=always "$big" "$work/src2/over4g.bin"; echo x > "$work/src2/x.txt"
mke2fs -q -F -t ext2 -b 1024 -L ext2_big -d "$work/src2" "$out/ext2_big.img" 32M

mk ext4_kernel ext4 1024 160M
mount -o loop "$out/ext4_kernel.img" "$mnt"
mkdir "$mnt/htree"
(cd "$mnt/htree" && seq 1 3000 | sed 's/^/entry_with_some_length_/' | xargs touch)
cp --sparse=always "$big" "$mnt/over4g.bin"
# 29,000 one-block extents (zero blocks between random ones, holes dug by fallocate -d): a depth-3 extent tree
perl -e 'open(my $r, "<", "/dev/urandom") or die; for (1..29000) { read($r, my $b, 1024); print "\0" x 1024, $b }' > "$mnt/frag.bin"
sync
fallocate -d "$mnt/frag.bin"
fallocate -l 1M "$mnt/prealloc.bin"          # unwritten extents read as zeros
printf 'Z%.0s' $(seq 1 5000) | dd of="$mnt/prealloc.bin" bs=1 seek=200000 conv=notrunc status=none
printf head > "$mnt/keepsize.bin"; fallocate -n -o 0 -l 1M "$mnt/keepsize.bin"   # unwritten extents past EOF
touch -d '2100-03-04 05:06:07.123456789 UTC' "$mnt/small.txt"
umount "$mnt"
e2fsck -fn "$out/ext4_kernel.img" >/dev/null
depth=$(debugfs -R "ex /frag.bin" "$out/ext4_kernel.img" 2>/dev/null | awk 'NR==2{print $1}')
echo "frag.bin extent tree root line: $depth"

# the same ext4 volume inside a VMDK (qemu-img's monolithicSparse), read through the VMDK engine in the tests
qemu-img convert -f raw -O vmdk "$out/ext4_4k.img" "$out/ext4_4k.vmdk"
