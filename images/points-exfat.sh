#!/usr/bin/env bash
# A six-point VMDK chain (base -> child-001 -> ... -> child-005) over an MBR disk with one exFAT volume (p1, 4 KiB
# clusters), made by mkfs.exfat (exfatprogs) and changed through exfat-fuse on a loop device (this kernel has no
# exfat module); each child holds exactly the 64 KiB clusters that differ from its parent (qemu-img create -b +
# qemu-io writes, chain-lib.sh), as points-ext.sh. Each step waits 2 s first, so every write stores a new time.
#   child-001: new.txt created, log.txt appended, same.bin overwritten in place (same size), trunc.bin truncated,
#              docs/doc.txt rewritten (v2), frag.bin grown in turns with grow.bin (a FAT chain, no longer contiguous)
#   child-002: del.txt deleted, "Ren Old Name.txt" renamed to "Ren New Name.txt", touched.txt rewritten with
#              identical bytes, deep/inner/x.txt rewritten (deep/ itself lists the same)
#   child-003: recreate.txt deleted and re-created, tree/ deleted and re-created (other files), docs/doc.txt v3
#   child-004: newdir/sub/file.txt created, keep/k7.txt moved to newdir/k7.txt
#   child-005: emptydir/ created, new.txt deleted
# Oracle: for every point, manifest-POINT.tsv (path, type, size, sha256, mode "-", no link target) read by
# exfat-fuse (read-only) from a loop device over that point's `qemu-img convert -O raw`: an independent reader.
set -euo pipefail
out=$(realpath "$1")
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
loop=""
cleanup() {
  if mountpoint -q "$mnt"; then umount "$mnt" || fusermount3 -u "$mnt" || true; fi
  if [ -n "$loop" ]; then losetup -d "$loop" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export TZ=UTC LC_ALL=C.UTF-8

MiB=$((1024 * 1024))
P1=$((1 * MiB)); S1=$((48 * MiB))
DISK=$((50 * MiB))
rnd() { head -c "$2" /dev/urandom > "$1"; }
img=$work/exfat.img
# up / down: exfat-fuse mounts the volume image through a loop device, and lets go of both
up() { loop=$(losetup -f --show "$@"); mount.exfat-fuse ${ro:+-o ro} "$loop" "$mnt" 2>/dev/null; mountpoint -q "$mnt"; }
down() { umount "$mnt"; losetup -d "$loop"; loop=""; }

truncate -s $S1 "$img"
loop=$(losetup -f --show "$img")
mkfs.exfat -L POINTS "$loop" >/dev/null
losetup -d "$loop"; loop=""
up "$img"
mkdir -p "$mnt/docs" "$mnt/tree/a/b" "$mnt/keep" "$mnt/deep/inner"
printf 'doc v1\n' > "$mnt/docs/doc.txt"
printf 'line 1\n' > "$mnt/log.txt"
rnd "$mnt/same.bin" 100000
rnd "$mnt/trunc.bin" 300000
rnd "$mnt/frag.bin" 20000
printf 'to be deleted\n' > "$mnt/del.txt"
printf 'renamed later\n' > "$mnt/Ren Old Name.txt"
printf 'touched, same bytes\n' > "$mnt/touched.txt"
printf 'first incarnation\n' > "$mnt/recreate.txt"
printf 'c\n' > "$mnt/tree/a/b/c.txt"
printf 'd\n' > "$mnt/tree/a/d.txt"
printf 'e\n' > "$mnt/tree/e.txt"
printf 'x v1\n' > "$mnt/deep/inner/x.txt"
rnd "$mnt/big.bin" $((2 * MiB + 3))
for i in $(seq 1 50); do printf 'keep %d\n' "$i" > "$mnt/keep/k$i.txt"; done
down

place() { dd if="$img" of="$1" bs=1M seek=$((P1 / MiB)) conv=notrunc,sparse status=none; }
truncate -s $DISK "$work/d0.raw"
printf 'label: dos\n%s\n' "start=$((P1 / 512)), size=$((S1 / 512)), type=7" | sfdisk -q "$work/d0.raw"
place "$work/d0.raw"
qemu-img convert -q -f raw -O vmdk "$work/d0.raw" "$out/base.vmdk"

source "$(dirname "$0")/chain-lib.sh"

sleep 2
up "$img"
printf 'new in child-001\n' > "$mnt/new.txt"
printf 'line 2\n' >> "$mnt/log.txt"
head -c 100000 /dev/urandom | dd of="$mnt/same.bin" conv=notrunc status=none
truncate -s 1000 "$mnt/trunc.bin"
printf 'doc v2\n' > "$mnt/docs/doc.txt"
python3 - "$mnt" <<'PY'
import os, sys
a = open(os.path.join(sys.argv[1], 'frag.bin'), 'ab'); b = open(os.path.join(sys.argv[1], 'grow.bin'), 'wb')
for i in range(8):
    a.write(bytes([i]) * 9000); a.flush(); os.fsync(a.fileno())
    b.write(bytes([255 - i]) * 9000); b.flush(); os.fsync(b.fileno())
PY
down
step 1

sleep 2
up "$img"
rm "$mnt/del.txt"
mv "$mnt/Ren Old Name.txt" "$mnt/Ren New Name.txt"
cp "$mnt/touched.txt" "$work/touched.copy"
cat "$work/touched.copy" > "$mnt/touched.txt"
printf 'x v2, longer\n' > "$mnt/deep/inner/x.txt"
down
step 2

sleep 2
up "$img"
rm "$mnt/recreate.txt"
sync
printf 'second incarnation, longer\n' > "$mnt/recreate.txt"
rm -r "$mnt/tree"
sync
mkdir -p "$mnt/tree/a"
printf 'new in the new tree\n' > "$mnt/tree/a/new.txt"
printf 'e\n' > "$mnt/tree/e.txt"
printf 'doc v3, longer than before\n' > "$mnt/docs/doc.txt"
down
step 3

sleep 2
up "$img"
mkdir -p "$mnt/newdir/sub"
printf 'deep\n' > "$mnt/newdir/sub/file.txt"
mv "$mnt/keep/k7.txt" "$mnt/newdir/k7.txt"
down
step 4

sleep 2
up "$img"
mkdir "$mnt/emptydir"
rm "$mnt/new.txt"
down
step 5
rm -f "$work"/d*.raw

# The oracle: each point read by exfat-fuse (read-only) from a raw copy of that point.
for point in base child-001 child-002 child-003 child-004 child-005; do
  qemu-img convert -q -f vmdk -O raw "$out/$point.vmdk" "$work/point.raw"
  ro=1 up -r -o $P1 --sizelimit $S1 "$work/point.raw"
  (cd "$mnt" && find . -mindepth 1 -printf '%P\0' | sort -z | while IFS= read -r -d '' p; do
     if [ -d "$p" ]; then printf '/%s\tdir\t0\t-\t-\t\n' "$p"
     else printf '/%s\tfile\t%s\t%s\t-\t\n' "$p" "$(stat -c %s "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)"; fi
   done) > "$out/manifest-$point.tsv"
  down
  rm -f "$work/point.raw"
done
