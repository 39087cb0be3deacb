#!/usr/bin/env bash
# A six-point VMDK chain (base -> child-001 -> ... -> child-005) over an MBR disk with one XFS v5 volume (p1, mkfs
# defaults plus the reverse-map btree), each child changing files in a known way through the kernel's xfs (loop mount
# of the partition image); each child holds exactly the 64 KiB clusters that differ from its parent (qemu-img create
# -b + qemu-io writes, chain-lib.sh). The base is populated through the kernel too (cp -a of a staged tree).
#   child-001: new.txt created, log.txt appended, same.bin overwritten in place (same size), trunc.bin truncated,
#              docs/doc.txt rewritten (v2), one entry of blkdir/ (block form) renamed
#   child-002: del.txt deleted, ren-old.txt renamed to ren-new.txt, touched.txt rewritten with identical bytes,
#              one entry of leafdir/ (leaf form) deleted
#   child-003: recreate.txt deleted and re-created, tree/ deleted and re-created (other files), docs/doc.txt v3,
#              one entry of nodedir/ (node form) rewritten
#   child-004: mode.sh chmod 755, link re-pointed, newdir/sub/file.txt created, one entry added to nodedir/
#   child-005: emptydir/ created, new.txt deleted, and keep/k2.txt's data block rewritten behind the kernel's back
#              (dd into the unmounted image: same size, inode untouched)
# Oracle: for every point, manifest-POINT.tsv (path, type, size, sha256, mode, link target) read by the kernel from a
# loop mount (ro,norecovery) of `qemu-img convert -O raw` of that point: an independent reader of each point.
set -euo pipefail
out=$(realpath "$1")
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
export TZ=UTC

MiB=$((1024 * 1024))
P1=$((1 * MiB)); S1=$((64 * MiB))
DISK=$((66 * MiB))
rnd() { head -c "$2" /dev/urandom > "$1"; }

stage=$work/stage
mkdir -p "$stage/docs" "$stage/tree/a/b" "$stage/keep" "$stage/blkdir" "$stage/leafdir" "$stage/nodedir"
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
for i in $(seq 1 60); do printf 'blk %d\n' "$i" > "$stage/blkdir/file_$i"; done
for i in $(seq 1 400); do printf 'leaf %d\n' "$i" > "$stage/leafdir/leaf_entry_name_$i"; done
(cd "$stage/nodedir" && seq 1 1000 | sed 's/^/node_entry_with_a_longer_name_/' | xargs touch)
truncate -s $S1 "$work/xfs.img"
mkfs.xfs --unsupported -f -q -L points -m rmapbt=1 "$work/xfs.img" 2>/dev/null
mount -o loop "$work/xfs.img" "$mnt"
cp -a "$stage/." "$mnt/"
umount "$mnt"

place() { dd if="$work/xfs.img" of="$1" bs=1M seek=$((P1 / MiB)) conv=notrunc,sparse status=none; }
truncate -s $DISK "$work/d0.raw"
printf 'label: dos\n%s\n' "start=$((P1 / 512)), size=$((S1 / 512)), type=83" | sfdisk -q "$work/d0.raw"
place "$work/d0.raw"
qemu-img convert -q -f raw -O vmdk "$work/d0.raw" "$out/base.vmdk"

source "$(dirname "$0")/chain-lib.sh"

mount -o loop "$work/xfs.img" "$mnt"
printf 'new in child-001\n' > "$mnt/new.txt"
printf 'line 2\n' >> "$mnt/log.txt"
head -c 100000 /dev/urandom | dd of="$mnt/same.bin" conv=notrunc status=none
truncate -s 1000 "$mnt/trunc.bin"
printf 'doc v2\n' > "$mnt/docs/doc.txt"
mv "$mnt/blkdir/file_7" "$mnt/blkdir/file_7_renamed"
umount "$mnt"
step 1

mount -o loop "$work/xfs.img" "$mnt"
rm "$mnt/del.txt"
mv "$mnt/ren-old.txt" "$mnt/ren-new.txt"
cp "$mnt/touched.txt" "$work/touched.copy"
cat "$work/touched.copy" > "$mnt/touched.txt"
touch -d '2030-01-01 00:00:00' "$mnt/touched.txt"
rm "$mnt/leafdir/leaf_entry_name_200"
umount "$mnt"
step 2

mount -o loop "$work/xfs.img" "$mnt"
rm "$mnt/recreate.txt"
sync
printf 'second incarnation, longer\n' > "$mnt/recreate.txt"
rm -r "$mnt/tree"
sync
mkdir -p "$mnt/tree/a"
printf 'new in the new tree\n' > "$mnt/tree/a/new.txt"
printf 'e\n' > "$mnt/tree/e.txt"
printf 'doc v3, longer than before\n' > "$mnt/docs/doc.txt"
printf 'node 500\n' > "$mnt/nodedir/node_entry_with_a_longer_name_500"
umount "$mnt"
step 3

mount -o loop "$work/xfs.img" "$mnt"
chmod 755 "$mnt/mode.sh"
ln -sfn keep/k1.txt "$mnt/link"
mkdir -p "$mnt/newdir/sub"
printf 'deep\n' > "$mnt/newdir/sub/file.txt"
: > "$mnt/nodedir/node_entry_added_in_child_004"
umount "$mnt"
step 4

mount -o loop "$work/xfs.img" "$mnt"
mkdir "$mnt/emptydir"
rm "$mnt/new.txt"
# where keep/k2.txt's one block lies (fiemap: bytes from the start of the volume)
sync
k2=$(xfs_io -r -c 'fiemap' "$mnt/keep/k2.txt" | awk '$1 == "0:" { split($3, a, "[.][.]"); print a[1]; exit }')
umount "$mnt"
[ -n "$k2" ]
printf 'KEEP 2\n' | dd of="$work/xfs.img" bs=512 seek="$k2" conv=notrunc status=none
step 5
rm -f "$work"/d*.raw

# The oracle: each point read by the kernel from a raw copy of that point.
for point in base child-001 child-002 child-003 child-004 child-005; do
  qemu-img convert -q -f vmdk -O raw "$out/$point.vmdk" "$work/point.raw"
  mount -o ro,norecovery,loop,offset=$P1,sizelimit=$S1 "$work/point.raw" "$mnt"
  python3 - "$mnt" > "$out/manifest-$point.tsv" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
rows = []
for d, dirs, files in os.walk(root):
    for name in dirs + files:
        full = os.path.join(d, name)
        rel = '/' + os.path.relpath(full, root)
        st = os.lstat(full)
        mode = format(stat.S_IMODE(st.st_mode), 'o')
        if stat.S_ISREG(st.st_mode):
            with open(full, 'rb') as f:
                rows.append((rel, 'file', st.st_size, hashlib.sha256(f.read()).hexdigest(), mode, ''))
        elif stat.S_ISDIR(st.st_mode):
            rows.append((rel, 'dir', 0, '-', mode, ''))
        elif stat.S_ISLNK(st.st_mode):
            rows.append((rel, 'symlink', st.st_size, '-', mode, os.readlink(full)))
        else:
            rows.append((rel, 'other', 0, '-', mode, ''))
rows.sort(key=lambda r: r[0].encode())
for r in rows:
    print('\t'.join(str(x) for x in r))
PY
  umount "$mnt"
  rm -f "$work/point.raw"
done
