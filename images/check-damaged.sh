#!/usr/bin/env bash
# Filesystems damaged on purpose, for `vmdkmount check` (each made clean by real tools, then one structure
# overwritten with dd on the raw image before qemu-img wraps it in a VMDK; the clean twin is kept):
#   ext4-clean.vmdk / ext4-damaged.vmdk   unpartitioned ext4 (4 KiB blocks, metadata_csum): /docs/a.txt, /docs/sub/b.txt,
#                                         /top.txt; damaged: the directory block of /docs overwritten with 0xff
#   ntfs-clean.vmdk / ntfs-damaged.vmdk   unpartitioned NTFS (4 KiB clusters, ntfs-3g): /folder/{one,two}.txt, /keep.txt;
#                                         damaged: the MFT record of /folder overwritten with 0xff
# Usage: images/check-damaged.sh OUTDIR   (needs e2fsprogs, ntfs-3g, mkntfs, ntfsinfo, qemu-img)
set -euo pipefail
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
source "$here/ntfs-lib.sh"
trap 'ntfs_cleanup; rm -rf "$work"' EXIT
export TZ=UTC E2FSPROGS_FAKE_TIME=1764000000

# ---------------------------------------------------------------- ext4
src="$work/src"
mkdir -p "$src/docs/sub"
echo alpha > "$src/docs/a.txt"; echo beta > "$src/docs/sub/b.txt"; echo top > "$src/top.txt"
mke2fs -q -F -t ext4 -b 4096 -O metadata_csum -L checkext -d "$src" "$work/ext4.img" 16M
qemu-img convert -q -f raw -O vmdk "$work/ext4.img" "$out/ext4-clean.vmdk"
blk=$(debugfs -R "blocks /docs" "$work/ext4.img" 2>/dev/null | awk '{print $1}')
[[ "$blk" =~ ^[0-9]+$ ]] || { echo "no block for /docs: '$blk'" >&2; exit 1; }
head -c 4096 /dev/zero | tr '\0' '\377' | dd of="$work/ext4.img" bs=4096 seek="$blk" conv=notrunc status=none
qemu-img convert -q -f raw -O vmdk "$work/ext4.img" "$out/ext4-damaged.vmdk"

# ---------------------------------------------------------------- NTFS
img="$work/ntfs.img"
truncate -s 32M "$img"
mkntfs -q -F -Q -c 4096 -L CheckVol "$img" 2>/dev/null
m="$work/mnt"
ntfs_mount "$img" "$m"
mkdir "$m/folder"
echo one > "$m/folder/one.txt"; echo two > "$m/folder/two.txt"; echo keep > "$m/keep.txt"
ntfs_umount
qemu-img convert -q -f raw -O vmdk "$img" "$out/ntfs-clean.vmdk"
rec=$(ntfsinfo -F /folder "$img" 2>/dev/null | awk '/^Dumping Inode/ {print $3; exit}')
[[ "$rec" =~ ^[0-9]+$ ]] || { echo "no MFT record number for /folder: '$rec'" >&2; exit 1; }
mft_lcn=$(od -An -t u8 -j 48 -N 8 "$img" | tr -d ' ')   # boot sector: $MFT's first cluster
[[ "$mft_lcn" =~ ^[0-9]+$ ]] || { echo "no MFT LCN: '$mft_lcn'" >&2; exit 1; }
head -c 1024 /dev/zero | tr '\0' '\377' | dd of="$img" bs=1 seek=$(( mft_lcn * 4096 + rec * 1024 )) conv=notrunc status=none
qemu-img convert -q -f raw -O vmdk "$img" "$out/ntfs-damaged.vmdk"
echo "ext4 /docs block $blk; ntfs /folder record $rec (MFT at LCN $mft_lcn)" > "$out/damage.txt"
