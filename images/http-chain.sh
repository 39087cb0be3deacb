#!/usr/bin/env bash
# A four-link VMDK chain to serve over HTTP, made with qemu-img/qemu-io over an MBR disk holding one ext4 volume (p1,
# built by mke2fs -d and changed with debugfs: no root needed). Link names need percent-encoding, and two links keep
# their data in separate extent files:
#   base flat.vmdk            monolithicFlat (descriptor + "base flat-flat.vmdk")
#   child #1 100% é.vmdk      twoGbMaxExtentSparse ("child #1 100% é-s001.vmdk"), parent "base flat.vmdk"
#   disk-000002.vmdk          monolithicSparse, parent "child #1 100% é.vmdk"
#   disk-000003.vmdk          monolithicSparse, parent disk-000002.vmdk
# Changes are written as exactly the 64 KiB clusters that differ, so every link really holds data:
#   child #1: /docs/a.txt rewritten, /child1.txt added;  disk-000002: /big.bin rewritten in part, /docs/new.txt added;
#   disk-000003: 1 MiB of pattern 0x5A in the free space past the partition.
# Oracles: flat.raw (qemu-img convert of disk-000003.vmdk), flat.sha256, and the files as written (expect/).
set -euo pipefail
out=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC
cd "$out"

MiB=$((1024 * 1024))
P1=$((1 * MiB)); S1=$((20 * MiB)); DISK=$((24 * MiB))
C1='child #1 100% é'

stage=$work/stage
mkdir -p "$stage/docs" "$stage/many" "$out/expect"
printf 'a in base\n' > "$stage/docs/a.txt"
head -c $((3 * MiB + 17)) /dev/urandom > "$stage/big.bin"
for i in $(seq 1 50); do printf 'small file %d\n' "$i" > "$stage/many/s$i.txt"; done
truncate -s $S1 "$work/ext.img"
mke2fs -q -t ext4 -b 4096 -L httpvol -E root_owner=0:0 -d "$stage" "$work/ext.img"

place() { dd if="$work/ext.img" of="$1" bs=1M seek=$((P1 / MiB)) conv=notrunc,sparse status=none; }
truncate -s $DISK "$work/d0.raw"
printf 'label: dos\n%s\n' "start=$((P1 / 512)), size=$((S1 / 512)), type=83" | sfdisk -q "$work/d0.raw"
place "$work/d0.raw"
qemu-img convert -q -f raw -O vmdk -o subformat=monolithicFlat "$work/d0.raw" "base flat.vmdk"

# Writes into CHILD exactly the 64 KiB clusters where NEW differs from OLD (qemu-io, one process).
delta() {
  local old=$1 new=$2 child=$3 backing=$4 subformat=$5
  qemu-img create -q -f vmdk -o subformat="$subformat" -b "$backing" -F vmdk "$child" $DISK
  local args=() n=0
  mkdir -p "$work/chunks"
  for c in $(cmp -l "$old" "$new" | awk '{print int(($1 - 1) / 65536)}' | uniq); do
    dd if="$new" of="$work/chunks/$c" bs=64K skip="$c" count=1 status=none
    args+=(-c "write -q -s $work/chunks/$c $((c * 65536)) 65536")
    n=$((n + 1))
  done
  [ "$n" -gt 0 ]
  qemu-io -f vmdk "${args[@]}" "$child" >/dev/null
  rm -rf "$work/chunks"
  qemu-img compare -q "$new" "$child"
}
dfs() { debugfs -w -R "$1" "$work/ext.img" >/dev/null 2>&1; }

# child #1: a rewritten, a file added
printf 'a changed in child 1\n' > "$work/a.txt"
printf 'only from child 1\n' > "$work/child1.txt"
dfs "rm /docs/a.txt"; dfs "write $work/a.txt /docs/a.txt"; dfs "write $work/child1.txt /child1.txt"
cp --sparse=always "$work/d0.raw" "$work/d1.raw"; place "$work/d1.raw"
delta "$work/d0.raw" "$work/d1.raw" "$C1.vmdk" "base flat.vmdk" twoGbMaxExtentSparse

# disk-000002: a part of big.bin rewritten in place (same blocks), a file added
e2cp=$(debugfs -R "bmap /big.bin 100" "$work/ext.img" 2>/dev/null)
head -c 8192 /dev/urandom | dd of="$work/ext.img" bs=4096 seek="$e2cp" conv=notrunc status=none
printf 'new in disk-000002\n' > "$work/new.txt"
dfs "write $work/new.txt /docs/new.txt"
cp --sparse=always "$work/d1.raw" "$work/d2.raw"; place "$work/d2.raw"
delta "$work/d1.raw" "$work/d2.raw" disk-000002.vmdk "$C1.vmdk" monolithicSparse

# disk-000003: a pattern past the partition
cp --sparse=always "$work/d2.raw" "$work/d3.raw"
head -c $MiB /dev/zero | tr '\0' 'Z' | dd of="$work/d3.raw" bs=1M seek=22 conv=notrunc status=none
delta "$work/d2.raw" "$work/d3.raw" disk-000003.vmdk disk-000002.vmdk monolithicSparse

debugfs -R "dump /big.bin $out/expect/big.bin" "$work/ext.img" >/dev/null 2>&1
cp "$work/a.txt" "$out/expect/a.txt"
qemu-img convert -q -O raw disk-000003.vmdk flat.raw
cmp flat.raw "$work/d3.raw"
sha256sum < flat.raw | cut -d' ' -f1 > flat.sha256
ls "base flat-flat.vmdk" "$C1-s001.vmdk" >/dev/null
