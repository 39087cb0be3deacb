#!/usr/bin/env bash
# Large XFS shapes, written through the kernel:
#   bigdir.img    v5 defaults, a 100,000-entry directory: node form, its data fork a B+tree, a two-level DA tree
#                 (oracle: xfs_db's own listing of the image)
#   inode64.img   3 TiB apparent (65 MiB allocated), directories spread over the AGs get inode numbers above 2^32,
#                 so the root's short form switches every inode field to 8 bytes (i8count)
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

truncate -s 3T "$out/inode64.img"
mkfs.xfs --unsupported -f -q -K -L inode64 -l size=64m "$out/inode64.img" 2>/dev/null
mount -o loop "$out/inode64.img" "$mnt"
for d in a b c d e f; do mkdir "$mnt/$d"; echo "in $d" > "$mnt/$d/file"; ln -s "../$d/file" "$mnt/$d/link"; done
umount "$mnt"
