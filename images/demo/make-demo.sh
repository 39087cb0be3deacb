#!/usr/bin/env bash
# Builds the bundled demo backup chain with real tools (run as root: NTFS is populated through an ntfs-3g mount).
#   demo.vmdk          base: monolithicSparse, MBR disk: p1 NTFS "DemoNTFS", p2 ext4 "DemoExt4"
#   demo-000001.vmdk   incremental 1: Tuesday's invoice added, a report changed
#   demo-000002.vmdk   incremental 2: a new ext4 file, a deleted NTFS file
# Each child holds only the grains that changed (qemu-img rebase), as a backup product's incrementals do.
# Usage: images/demo/make-demo.sh [OUTDIR]   (default: the folder of this script)
set -euo pipefail
out=$(cd "${1:-$(dirname "$0")}" && pwd)
work=$(mktemp -d)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"
export SOURCE_DATE_EPOCH=1764000000 TZ=UTC
MiB=$((1024 * 1024))
ntfs_start=$((1 * MiB)); ntfs_size=$((12 * MiB))
ext_start=$((13 * MiB)); ext_size=$((10 * MiB))
disk_size=$((24 * MiB))

# --- v1: the full backup -------------------------------------------------------------------------
truncate -s $disk_size "$work/v1.raw"
sfdisk -q "$work/v1.raw" <<SF
label: dos
label-id: 0x0badcafe
start=$((ntfs_start / 512)), size=$((ntfs_size / 512)), type=7
start=$((ext_start / 512)), size=$((ext_size / 512)), type=83
SF
truncate -s $ntfs_size "$work/ntfs.img"
mkntfs -q -F -Q -L DemoNTFS -p $((ntfs_start / 512)) -H 255 -S 63 "$work/ntfs.img" >/dev/null
ntfs-3g "$work/ntfs.img" "$mnt"
mkdir -p "$mnt/Users/alice/Documents" "$mnt/Users/alice/Pictures" "$mnt/Windows/System32"
printf '[fonts]\r\n[extensions]\r\n[mci extensions]\r\n' > "$mnt/Windows/win.ini"
printf 'Quarterly report, draft 1\n' > "$mnt/Users/alice/Documents/report.txt"
printf 'Meeting notes: restore test on Monday\n' > "$mnt/Users/alice/Documents/notes.txt"
head -c 300000 /dev/urandom > "$mnt/Users/alice/Pictures/holiday.jpg"
printf 'temporary\n' > "$mnt/Users/alice/Documents/scratch.tmp"
umount "$mnt"
dd if="$work/ntfs.img" of="$work/v1.raw" bs=1M seek=$((ntfs_start / MiB)) conv=notrunc status=none

mkdir -p "$work/extsrc/etc" "$work/extsrc/home/bob"
printf 'demo-server\n' > "$work/extsrc/etc/hostname"
printf 'backup=nightly\nretention=30\n' > "$work/extsrc/etc/backup.conf"
printf 'todo: check the restore\n' > "$work/extsrc/home/bob/todo.txt"
ln -s /etc/hostname "$work/extsrc/home/bob/hostname-link"
mke2fs -q -t ext4 -L DemoExt4 -b 1024 -E root_owner=0:0 -d "$work/extsrc" "$work/ext.img" $((ext_size / 1024))
dd if="$work/ext.img" of="$work/v1.raw" bs=1M seek=$((ext_start / MiB)) conv=notrunc status=none

# --- v2, v3: incrementals -------------------------------------------------------------------------
cp --sparse=always "$work/v1.raw" "$work/v2.raw"
dd if="$work/v2.raw" of="$work/ntfs.img" bs=1M skip=$((ntfs_start / MiB)) count=$((ntfs_size / MiB)) status=none
ntfs-3g "$work/ntfs.img" "$mnt"
printf 'INVOICE 2026-0417\nTotal due: 1,234.56 EUR\n' > "$mnt/Users/alice/Documents/invoice.xlsx"
printf 'Quarterly report, final\n' > "$mnt/Users/alice/Documents/report.txt"
umount "$mnt"
dd if="$work/ntfs.img" of="$work/v2.raw" bs=1M seek=$((ntfs_start / MiB)) conv=notrunc status=none

cp --sparse=always "$work/v2.raw" "$work/v3.raw"
dd if="$work/v3.raw" of="$work/ntfs.img" bs=1M skip=$((ntfs_start / MiB)) count=$((ntfs_size / MiB)) status=none
ntfs-3g "$work/ntfs.img" "$mnt"
rm "$mnt/Users/alice/Documents/scratch.tmp"
umount "$mnt"
dd if="$work/ntfs.img" of="$work/v3.raw" bs=1M seek=$((ntfs_start / MiB)) conv=notrunc status=none
dd if="$work/v3.raw" of="$work/ext.img" bs=1M skip=$((ext_start / MiB)) count=$((ext_size / MiB)) status=none
printf 'deployed v2.3 on Wednesday\n' > "$work/changelog.txt"
debugfs -w -R "write $work/changelog.txt /home/bob/changelog.txt" "$work/ext.img" >/dev/null 2>&1
dd if="$work/ext.img" of="$work/v3.raw" bs=1M seek=$((ext_start / MiB)) conv=notrunc status=none

# --- the chain -------------------------------------------------------------------------------------
cd "$work"
qemu-img convert -q -f raw -O vmdk v1.raw demo.vmdk
# Incrementals hold only the clusters that changed, as a backup product's do. qemu's vmdk driver cannot rebase,
# so the deltas are found in qcow2 (a child over the new full state, safely rebased onto the previous state copies
# in exactly the clusters where the two differ) and then written out as vmdk children with -B.
for v in v1 v2 v3; do qemu-img convert -q -f raw -O qcow2 $v.raw $v.qcow2; done
qemu-img create -q -f qcow2 -b v2.qcow2 -F qcow2 d1.qcow2
qemu-img rebase -q -f qcow2 -b v1.qcow2 -F qcow2 d1.qcow2
qemu-img create -q -f qcow2 -b v3.qcow2 -F qcow2 d2.qcow2
qemu-img rebase -q -f qcow2 -b v2.qcow2 -F qcow2 d2.qcow2
qemu-img convert -q -f qcow2 -O vmdk -B demo.vmdk -F vmdk d1.qcow2 demo-000001.vmdk
qemu-img convert -q -f qcow2 -O vmdk -B demo-000001.vmdk -F vmdk d2.qcow2 demo-000002.vmdk
qemu-img compare -q -f raw -F vmdk v3.raw demo-000002.vmdk
rm -f "$out"/demo*.vmdk
cp demo.vmdk demo-000001.vmdk demo-000002.vmdk "$out/"
sha256sum v3.raw | cut -d' ' -f1 > "$out/demo-000002.raw.sha256"
ls -l "$out"/*.vmdk
