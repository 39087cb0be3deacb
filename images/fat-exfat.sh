#!/bin/bash
# exFAT test image made by mkfs.exfat (exfatprogs) and populated through exfat-fuse on a loop device.
# Usage: fat-exfat.sh OUTDIR   ->  exfat.img (96 MiB, label EXVOL, 4 KiB clusters),
#                                  exfat-4k.img (160 MiB, label BIG4K, 4096-byte sectors, 64 KiB clusters)
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
populate() { # mounted at m: the same tree on every image
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
head -c "$1" /dev/urandom > m/long40M.bin
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
}

make_image() { # image size label long-file-bytes losetup-args mkfs-args...
  local img=$1 size=$2 label=$3 long=$4 losetup_args=$5
  shift 5
  truncate -s "$size" "$img"
  loop=$(losetup -f --show $losetup_args "$img")
  mkfs.exfat -L "$label" "$@" "$loop" >/dev/null
  mount.exfat-fuse "$loop" m 2>/dev/null
  mountpoint -q m
  populate "$long"
  umount m
  losetup -d "$loop"
  loop=""
  cp --sparse=always "$img" "$out/"
}

mkdir m
make_image exfat.img 96M EXVOL 41943040 ""
# 4096-byte sectors (from the loop device) and 64 KiB clusters
make_image exfat-4k.img 160M BIG4K 20000000 "--sector-size 4096" -c 64K

