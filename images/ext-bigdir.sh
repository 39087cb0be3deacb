#!/usr/bin/env bash
# ext4 image with a 100,000-entry directory (made by mke2fs -d, then indexed into an htree by e2fsck -D) and a
# 2,000-entry linear directory (no dir_index). Usage: images/ext-bigdir.sh OUTDIR
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export E2FSPROGS_FAKE_TIME=1764000000
mkdir -p "$work/src/big" "$work/src/linear"
(cd "$work/src/big" && seq -w 1 100000 | sed 's/^/file_with_a_longish_name_/' | xargs touch)
(cd "$work/src/linear" && seq 1 2000 | sed 's/^/linear_entry_/' | xargs touch)
echo hello > "$work/src/big/file_with_a_longish_name_050000"
mke2fs -q -F -t ext4 -b 4096 -N 110000 -L bigdir -d "$work/src" "$out/ext4_bigdir.img" 256M
e2fsck -fyD "$out/ext4_bigdir.img" >/dev/null || [ $? -le 1 ]
mke2fs -q -F -t ext4 -b 1024 -O ^dir_index -L linear -d "$work/src/linear" "$out/ext4_linear.img" 16M
