#!/usr/bin/env bash
# One XFS (v5 defaults) with a 100,000-entry directory written through the kernel: node form, its data fork a
# B+tree, a DA tree of two levels. Oracle: xfs_db's own listing (name, inode) of the image.
# Usage: images/xfs-bigdir.sh OUTDIR   (root: loop mount)
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"
truncate -s 300M "$out/bigdir.img"
mkfs.xfs --unsupported -f -q -L bigdir "$out/bigdir.img" 2>/dev/null
mount -o loop "$out/bigdir.img" "$mnt"
mkdir "$mnt/big"
(cd "$mnt/big" && seq 1 100000 | sed 's/^/big_directory_entry_number_/' | xargs touch)
umount "$mnt"
qemu-img convert -f raw -O vmdk "$out/bigdir.img" "$out/bigdir.vmdk"
