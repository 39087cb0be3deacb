#!/usr/bin/env bash
# ext4 image with a 100,000-entry htree directory (made through the kernel: mke2fs -d inserts linearly and takes
# minutes for this) and a 2,000-entry linear directory (dir_index off, made by mke2fs -d).
# Usage: images/ext-bigdir.sh OUTDIR   (root: loop mount)
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt" "$work/linear"
export E2FSPROGS_FAKE_TIME=1764000000
(cd "$work/linear" && seq 1 2000 | sed 's/^/linear_entry_/' | xargs touch)
mke2fs -q -F -t ext4 -b 1024 -O ^dir_index -L linear -d "$work/linear" "$out/ext4_linear.img" 16M
mke2fs -q -F -t ext4 -b 4096 -N 110000 -L bigdir "$out/ext4_bigdir.img" 128M
mount -o loop "$out/ext4_bigdir.img" "$mnt"
mkdir "$mnt/big"
(cd "$mnt/big" && seq -w 1 100000 | sed 's/^/file_with_a_longish_name_/' | xargs touch)
echo hello > "$mnt/big/file_with_a_longish_name_050000"
umount "$mnt"
e2fsck -fn "$out/ext4_bigdir.img" >/dev/null
