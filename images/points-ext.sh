#!/usr/bin/env bash
# A six-point VMDK chain (base -> child-001 -> ... -> child-005) over an MBR disk with one ext4 volume (p1), each
# child changing files in a known way through the kernel's ext4 (loop mount of the partition image); each child holds
# exactly the 64 KiB clusters that differ from its parent (qemu-img create -b + qemu-io writes, as fuse-chain.sh):
# no nbd module is needed, and the layering is real (a child holds only what its point changed).
#   child-001: new.txt created, log.txt appended, same.bin overwritten in place (same size), trunc.bin truncated,
#              docs/doc.txt rewritten (v2)
#   child-002: del.txt deleted, ren-old.txt renamed to ren-new.txt, touched.txt rewritten with identical bytes
#   child-003: recreate.txt deleted and re-created, tree/ deleted and re-created (other files), docs/doc.txt v3
#   child-004: mode.sh chmod 755, link re-pointed, newdir/sub/file.txt created
#   child-005: emptydir/ created, new.txt deleted
# Oracle: for every point, manifest-POINT.tsv (path, type, size, sha256, mode, link target) read by the kernel from a
# loop mount of `qemu-img convert -O raw` of that point: an independent reader of each point.
set -euo pipefail
out=$(realpath "$1")
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
export TZ=UTC

MiB=$((1024 * 1024))
P1=$((1 * MiB)); S1=$((32 * MiB))
DISK=$((34 * MiB))
rnd() { head -c "$2" /dev/urandom > "$1"; }

stage=$work/stage
mkdir -p "$stage/docs" "$stage/tree/a/b" "$stage/keep"
printf 'doc v1\n' > "$stage/docs/doc.txt"
printf 'line 1\n' > "$stage/log.txt"
rnd "$stage/same.bin" 100000
rnd "$stage/trunc.bin" 300000
printf 'to be deleted\n' > "$stage/del.txt"
printf 'renamed later\n' > "$stage/ren-old.txt"
printf 'touched, same bytes\n' > "$stage/touched.txt"
printf 'first incarnation\n' > "$stage/recreate.txt"
printf 'c\n' > "$stage/tree/a/b/c.txt"
printf 'd\n' > "$stage/tree/a/d.txt"
printf 'e\n' > "$stage/tree/e.txt"
printf '#!/bin/sh\necho hi\n' > "$stage/mode.sh"
chmod 644 "$stage/mode.sh"
ln -s docs/doc.txt "$stage/link"
rnd "$stage/big.bin" $((2 * MiB + 3))
for i in $(seq 1 50); do printf 'keep %d\n' "$i" > "$stage/keep/k$i.txt"; done
truncate -s $S1 "$work/ext.img"
mke2fs -q -t "${POINTS_EXT_TYPE:-ext4}" -L points -I 256 -d "$stage" "$work/ext.img"   # points-ext3.sh: ext3, block maps

place() { dd if="$work/ext.img" of="$1" bs=1M seek=$((P1 / MiB)) conv=notrunc,sparse status=none; }
truncate -s $DISK "$work/d0.raw"
printf 'label: dos\n%s\n' "start=$((P1 / 512)), size=$((S1 / 512)), type=83" | sfdisk -q "$work/d0.raw"
place "$work/d0.raw"
qemu-img convert -q -f raw -O vmdk "$work/d0.raw" "$out/base.vmdk"

source "$(dirname "$0")/chain-lib.sh"

mount -o loop "$work/ext.img" "$mnt"
printf 'new in child-001\n' > "$mnt/new.txt"
printf 'line 2\n' >> "$mnt/log.txt"
head -c 100000 /dev/urandom | dd of="$mnt/same.bin" conv=notrunc status=none
truncate -s 1000 "$mnt/trunc.bin"
printf 'doc v2\n' > "$mnt/docs/doc.txt"
umount "$mnt"
step 1

mount -o loop "$work/ext.img" "$mnt"
rm "$mnt/del.txt"
mv "$mnt/ren-old.txt" "$mnt/ren-new.txt"
cp "$mnt/touched.txt" "$work/touched.copy"
cat "$work/touched.copy" > "$mnt/touched.txt"
touch -d '2030-01-01 00:00:00' "$mnt/touched.txt"
umount "$mnt"
step 2

mount -o loop "$work/ext.img" "$mnt"
rm "$mnt/recreate.txt"
sync
printf 'second incarnation, longer\n' > "$mnt/recreate.txt"
rm -r "$mnt/tree"
sync
mkdir -p "$mnt/tree/a"
printf 'new in the new tree\n' > "$mnt/tree/a/new.txt"
printf 'e\n' > "$mnt/tree/e.txt"
printf 'doc v3, longer than before\n' > "$mnt/docs/doc.txt"
umount "$mnt"
step 3

mount -o loop "$work/ext.img" "$mnt"
chmod 755 "$mnt/mode.sh"
ln -sfn keep/k1.txt "$mnt/link"
mkdir -p "$mnt/newdir/sub"
printf 'deep\n' > "$mnt/newdir/sub/file.txt"
umount "$mnt"
step 4

mount -o loop "$work/ext.img" "$mnt"
mkdir "$mnt/emptydir"
rm "$mnt/new.txt"
umount "$mnt"
step 5
rm -f "$work"/d*.raw

# The oracle: each point read by the kernel from a raw copy of that point.
for point in base child-001 child-002 child-003 child-004 child-005; do
  qemu-img convert -q -f vmdk -O raw "$out/$point.vmdk" "$work/point.raw"
  mount -o ro,noload,loop,offset=$P1,sizelimit=$S1 "$work/point.raw" "$mnt"
  (cd "$mnt" && find . -mindepth 1 -printf '%P\0' | sort -z | while IFS= read -r -d '' p; do
     t=$(stat -c %F "$p")
     case "$t" in
       "regular file"|"regular empty file") printf '/%s\tfile\t%s\t%s\t%s\t\n' "$p" "$(stat -c %s "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)" "$(stat -c %a "$p")" ;;
       directory) printf '/%s\tdir\t0\t-\t%s\t\n' "$p" "$(stat -c %a "$p")" ;;
       "symbolic link") printf '/%s\tsymlink\t%s\t-\t%s\t%s\n' "$p" "$(stat -c %s "$p")" "$(stat -c %a "$p")" "$(readlink "$p")" ;;
       *) printf '/%s\tother\t0\t-\t%s\t\n' "$p" "$(stat -c %a "$p")" ;;
     esac
   done) > "$out/manifest-$point.tsv"
  umount "$mnt"
  rm -f "$work/point.raw"
done
