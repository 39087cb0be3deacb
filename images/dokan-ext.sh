#!/usr/bin/env bash
# A small ext4 image for the Dokan frontend's name rules, made by mke2fs -d:
#   dot names (hidden on Windows), names that differ only in case (ambiguous without case), a name unique but for
#   case, names Windows cannot hold (`:` and `*`), symlinks inside the volume, leaving it, dangling and looping, and
#   a file with a known time. Oracle beside it: ext.manifest (find -printf over the source tree: path, type, size,
#   mtime) - what Windows should be shown, by an independent lister.
# Usage: images/dokan-ext.sh OUTDIR
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC E2FSPROGS_FAKE_TIME=1764000000
src="$work/src"
mkdir -p "$src/docs/sub" "$src/.config" "$src/empty"
echo hidden > "$src/.profile"
echo upper > "$src/docs/Case.txt"
echo lower > "$src/docs/case.txt"
echo only > "$src/docs/Only.TXT"
echo colon > "$src/docs/a:b.txt"
echo star > "$src/docs/star*.txt"
echo nested > "$src/docs/sub/nested.txt"
for i in $(seq 1 12); do echo "$i" > "$src/docs/file$i.log"; done
echo readme > "$src/docs/README"
echo two.dots > "$src/docs/archive.tar.gz"
head -c 3000000 /dev/urandom > "$src/big.bin"
ln -s docs/sub "$src/sublink"
ln -s ../docs/Only.TXT "$src/.config/onlylink"
ln -s /etc/passwd "$src/abs_out"
ln -s ../../../../outside "$src/climb"
ln -s missing "$src/dangling"
ln -s loop2 "$src/loop1"
ln -s loop1 "$src/loop2"
touch -d '2020-01-02 03:04:05.123456789 UTC' "$src/docs/Only.TXT"
(cd "$src" && find . -mindepth 1 -printf '%P\t%y\t%s\t%T@\n' | LC_ALL=C sort) > "$out/ext.manifest"
mke2fs -q -F -t ext4 -b 4096 -d "$src" "$out/ext.img" 16M
