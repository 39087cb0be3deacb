#!/bin/bash
# exFAT test image made by mkfs.exfat (exfatprogs) and populated through exfat-fuse on a loop device.
# Usage: fat-exfat.sh OUTDIR   ->  exfat.img (96 MiB, label EXVOL, 4 KiB clusters)
# Content: long and Unicode names, nested and empty dirs, empty files, a contiguous file (NoFatChain), two files
# grown in turns (FAT chains), a 40 MiB file, a 1,000-entry directory, known mtimes.
set -euo pipefail
out=$(realpath "$1")
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
work=$(mktemp -d)
loop=""
cleanup() {
  if mountpoint -q "$work/m" 2>/dev/null; then umount "$work/m" || fusermount3 -u "$work/m" || true; fi
  if [ -n "$loop" ]; then losetup -d "$loop" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
truncate -s 96M exfat.img
mkfs.exfat -L EXVOL exfat.img >/dev/null
mkdir m
loop=$(losetup -f --show exfat.img)
mount.exfat-fuse "$loop" m 2>/dev/null
mountpoint -q m

mkdir -p m/Sub_Directory_Long/nested/deeper m/emptydir m/many
echo hi > m/UPPER.TXT
echo lo > m/lower.txt
echo l > "m/A very long file name with spaces and ünïcödé.document.txt"
echo u > "m/日本語のファイル名.txt"
echo g > "m/Ελληνικά ονόματα.text"
echo e > "m/emoji 😀 name.txt"
: > m/empty.txt
: > m/Sub_Directory_Long/empty_too.bin
head -c 100000 /dev/urandom > m/Sub_Directory_Long/nested/deeper/random.bin
head -c 3000000 /dev/urandom > m/contig.bin
head -c 41943040 /dev/urandom > m/long40M.bin
python3 - <<'PY'
import os
a = open('m/fragA.bin', 'wb'); b = open('m/fragB.bin', 'wb')
for i in range(50):
    a.write(bytes([i]) * 40000); a.flush(); os.fsync(a.fileno())
    b.write(bytes([255 - i]) * 40000); b.flush(); os.fsync(b.fileno())
a.close(); b.close()
for n in range(1, 1001):
    with open('m/many/file number %04d with a longer name.txt' % n, 'w') as f:
        f.write(str(n))
PY
i=0
while IFS= read -r -d '' f; do
  i=$((i + 1))
  touch -d "@$((1500000000 + i * 86461 + i % 2))" "$f"
done < <(find m -mindepth 1 -print0)
sync
umount m
losetup -d "$loop"
loop=""
cp --sparse=always exfat.img "$out/"
