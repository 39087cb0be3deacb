#!/bin/bash
# FAT12/16/32 test images made by mkfs.fat + mtools (no mount needed). Usage: fat-basic.sh OUTDIR
# fat12.img (4 MiB, one FAT), fat16.img (32 MiB, 2 KiB clusters), fat32.img (64 MiB, 512 B clusters),
# fat16-4k.img (32 MiB, 4096-byte sectors), each with:
#  long names, Unicode names, 8.3 names in lower case (NT case flags), nested dirs, empty files and dirs,
#  a fragmented multi-cluster file (small files written, every other one deleted, then a big file fills the holes),
#  a directory of 3,000 entries (FAT16/32), hidden/read-only/system attributes, a volume label (mkfs.fat -n), and
#  known modification times (mcopy -m keeps the source's mtime; TZ=UTC so the stored local time is UTC).
set -euo pipefail
out=$(realpath "$1")
export MTOOLS_SKIP_CHECK=1 LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

mkdir -p src/Sub_Directory_Long/nested/deeper src/lower src/emptydir
echo hi > src/UPPER.TXT
echo lo > src/lower.txt
echo m > src/MixedCase.Txt
echo l > "src/A very long file name with spaces and ünïcödé.document.txt"
echo u > "src/日本語のファイル名.txt"
echo g > "src/Ελληνικά ονόματα.text"
echo y > src/Base.TXT
echo z > src/base2.TXT
echo x > src/lower/abc
: > src/empty.txt
: > src/Sub_Directory_Long/empty_too.bin
head -c 100000 /dev/urandom > src/Sub_Directory_Long/nested/deeper/random.bin
head -c 3333 /dev/urandom > "src/Sub_Directory_Long/nested/odd size.dat"
printf 'attribute test\n' > src/hidden.txt
printf 'read only\n' > src/readonly.txt
printf 'system\n' > src/SYSTEM.SYS
i=0
while IFS= read -r -d '' f; do
  i=$((i + 1))
  touch -d "@$((1500000000 + i * 86461 + i % 2))" "$f"
done < <(find src -print0)
touch -d '1999-12-31 23:59:58 UTC' src/UPPER.TXT
touch -d '2099-12-31 23:59:58 UTC' src/lower.txt  # past 2038; mtools miscounts days after 2100-02-28

make_image() { # name fatbits sizeKiB label extra-mkfs-args...
  local img=$1 bits=$2 size=$3 label=$4
  shift 4
  mkfs.fat -F "$bits" -n "$label" "$@" -C "$img" "$size" >/dev/null
  mcopy -s -m -i "$img" src/* ::/
  mattrib -i "$img" +h ::/hidden.txt
  mattrib -i "$img" +r ::/readonly.txt
  mattrib -i "$img" +s +h ::/SYSTEM.SYS
  # fragmentation: 40 small files, every other one deleted, then a big file fills the holes
  mmd -i "$img" ::/frag
  for n in $(seq 1 40); do head -c 2048 /dev/urandom > sm; mcopy -m -i "$img" sm "::/frag/sm$n"; done
  for n in $(seq 1 2 40); do mdel -i "$img" "::/frag/sm$n"; done
  head -c 300000 /dev/urandom > big.bin
  mcopy -m -i "$img" big.bin ::/frag/BIGFRAG.BIN
}

make_image fat12.img 12 4096 FAT12LABEL -f 1
make_image fat16.img 16 32768 FAT16VOL -s 4
make_image fat32.img 32 65536 "EFI SYSTEM" -s 1
make_image fat16-4k.img 16 32768 SECT4K -S 4096 -s 1

# a directory of 3,000 entries on FAT16 and FAT32 (long names: about 3 entries each)
mkdir bigdir
# (names unique in their first 6 characters: mtools' 8.3 alias search is quadratic in look-alike names)
for n in $(seq 1 3000); do : > "bigdir/$(printf %05d "$n")_entry with a long name.txt"; done
echo last > bigdir/zz_last.txt
mcopy -s -m -i fat16.img bigdir ::/
mcopy -s -m -i fat32.img bigdir ::/

# a large contiguous multi-cluster file on FAT32
head -c 5000000 /dev/urandom > large.bin
mcopy -m -i fat32.img large.bin ::/large.bin

cp --sparse=always fat12.img fat16.img fat32.img fat16-4k.img "$out/"
