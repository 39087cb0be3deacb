#!/usr/bin/env bash
# Hostile images for the restore commands (extract/export), made by mke2fs -d and debugfs.
#   hostile.img   ext4: a folder `d%FF` with files beside a raw-byte-named symlink $'d\xff' (two names that an escape
#                 may map to one host name), symlinks to /etc, to ../../../.., and climbing out of DEST with a
#                 relative target; dup_link_first/ and dup_dir_first/: a symlink DUPNAME1 -> ../../../outside and a
#                 directory DUPNAME1 holding payload.txt, in both listing orders (a duplicated entry, patched in);
#                 dup_file/: a symlink DUPNAME1 -> ../../../outside/victim.txt and a regular file DUPNAME1.
#   bigsparse.img ext4 4 KiB blocks: huge.bin of 16 TiB - 4 KiB (ext4's largest file) holding 1 MiB of data at 8 TiB;
#                 big.bin: 64 MiB of data (for interrupting a copy mid-file).
# Usage: images/restore-hostile.sh OUTDIR   (needs e2fsprogs; a host filesystem that holds a 16 TiB sparse file)
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC E2FSPROGS_FAKE_TIME=1764000000

src="$work/src"
mkdir -p "$src/d%FF" "$src/dup_link_first/DUPNAME2" "$src/dup_dir_first/DUPNAME1" "$src/dup_file" "$src/links/a/b"
echo inner > "$src/d%FF/inner.txt"
echo second > "$src/d%FF/second.txt"
ln -s ../../../outside "$src/$(printf 'd\xff')"
ln -s /etc "$src/links/etc"
ln -s ../../../.. "$src/links/a/b/up"
ln -s ../../../../../../../../outside/x "$src/links/a/climb"
echo payload1 > "$src/dup_link_first/DUPNAME2/payload.txt"
echo payload2 > "$src/dup_dir_first/DUPNAME1/payload.txt"
ln -s ../../../outside "$src/dup_link_first/DUPNAME1"
ln -s ../../../outside "$src/dup_dir_first/DUPNAME2"
ln -s ../../../outside/victim.txt "$src/dup_file/DUPNAME1"
echo replaced > "$src/dup_file/DUPNAME2"
# No metadata_csum: the directory blocks are patched below and must still read as valid.
mke2fs -q -F -t ext4 -b 4096 -O ^metadata_csum -L hostile -d "$src" "$out/hostile.img" 16M
# Two entries of one name in one directory (what a damaged volume or a lossy name escape gives): the entry
# DUPNAME2 is renamed to DUPNAME1 in place in each small (linear) directory block.
for d in dup_link_first dup_dir_first dup_file; do
  blk=$(debugfs -R "blocks /$d" "$out/hostile.img" 2>/dev/null | awk '{print $1}')
  python3 - "$out/hostile.img" "$blk" <<'PY'
import sys
path, blk = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(blk * 4096); b = bytearray(f.read(4096))
    i = b.find(b'DUPNAME2'); assert i > 0, 'entry not found'
    b[i:i+8] = b'DUPNAME1'
    f.seek(blk * 4096); f.write(b)
PY
  debugfs -R "ls -l /$d" "$out/hostile.img" >> "$out/hostile.listing" 2>/dev/null
done

big="$work/big"
mkdir -p "$big"
truncate -s $(( (16 << 40) - 4096 )) "$big/huge.bin"
head -c $((1 << 20)) /dev/urandom | dd of="$big/huge.bin" bs=1M seek=$(( 8 << 20 )) conv=notrunc status=none
head -c $((64 << 20)) /dev/urandom > "$big/big.bin"
echo small > "$big/small.txt"
mke2fs -q -F -t ext4 -b 4096 -L bigsparse -d "$big" "$out/bigsparse.img" 128M
