#!/usr/bin/env bash
# The flattened disk the load, limit and fault tests spread over chains of any depth (tests/.../Limits/FsChain.cs
# writes the links): an MBR disk of 48 MiB with one ext4 volume (p1), made by mke2fs -d from a staging tree of
# 260 files (1 byte to 3 MiB of seeded random data, 6 folders deep), symbolic links (absolute, relative, dangling),
# hard links, user xattrs and an empty folder.
# Outputs: disk.raw (sparse) and manifest.tsv (type, size, sha256 or link target, path: one line per entry under
# the volume root), read by the kernel's ext4 from a loop mount of the partition: an independent reader.
set -euo pipefail
out=$(realpath "$1")
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
export TZ=UTC LC_ALL=C

MiB=$((1024 * 1024))
P1=$((1 * MiB)); S1=$((46 * MiB))
DISK=$((48 * MiB))

stage=$work/stage
mkdir -p "$stage/empty" "$stage/deep/a/b/c/d/e" "$stage/bulk" "$stage/links"
# Deterministic contents (a seeded stream), so the image is the same on every machine.
seeded() { { openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null || true; } | head -c "$2" > "$3"; }
for i in $(seq 1 240); do seeded "bulk$i" $(( (i * 7919) % 20000 + 1 )) "$stage/bulk/f$i.bin"; done
for i in $(seq 1 12); do seeded "big$i" $(( i * 250000 + 17 )) "$stage/big$i.bin"; done
seeded deep 3000000 "$stage/deep/a/b/c/d/e/leaf.bin"
for d in deep deep/a deep/a/b deep/a/b/c deep/a/b/c/d; do printf '%s\n' "$d" > "$stage/$d/here.txt"; done
printf 'x' > "$stage/one-byte"
ln -s /big1.bin "$stage/links/abs"
ln -s ../deep/a/b/c/d/e/leaf.bin "$stage/links/rel"
ln -s /nowhere "$stage/links/dangling"
ln "$stage/big2.bin" "$stage/links/hard-big2"
for i in 1 2 3; do setfattr -n "user.tag$i" -v "value $i" "$stage/bulk/f$i.bin"; done
truncate -s $S1 "$work/ext.img"
mke2fs -q -t ext4 -L limits -b 4096 -E root_owner=0:0 -d "$stage" "$work/ext.img"

truncate -s $DISK "$out/disk.raw"
printf 'label: dos\nstart=%d, size=%d, type=83\n' $((P1 / 512)) $((S1 / 512)) | sfdisk -q "$out/disk.raw"
dd if="$work/ext.img" of="$out/disk.raw" bs=1M seek=$((P1 / MiB)) conv=notrunc,sparse status=none

mount -o ro,loop "$work/ext.img" "$mnt"
( cd "$mnt" && find . -mindepth 1 ! -name lost+found ! -path './lost+found/*' | sort | while IFS= read -r p; do
    if [ -L "$p" ]; then printf 'l\t0\t%s\t%s\n' "$(readlink "$p")" "${p#.}"
    elif [ -d "$p" ]; then printf 'd\t0\t-\t%s\n' "${p#.}"
    else printf 'f\t%s\t%s\t%s\n' "$(stat -c %s "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)" "${p#.}"; fi
  done ) > "$out/manifest.tsv"
umount "$mnt"
[ "$(wc -l < "$out/manifest.tsv")" -gt 250 ]
